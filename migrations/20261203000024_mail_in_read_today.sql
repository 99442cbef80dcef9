-- The administrators' status page counts the messages each mailbox read in the last day.
ALTER TABLE mail_in_messages ADD KEY mail_in_received (organisation_id, received_at);
