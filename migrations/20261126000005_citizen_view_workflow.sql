-- The citizen's status view follows the whole workflow: messages to and from the citizen are
-- public timeline entries (sealed like the events they come from), and a reply returns the
-- request to the status it had before the question.
ALTER TABLE citizen_requests
    ADD COLUMN status_before_wait VARCHAR(32) NULL,
    ADD COLUMN outcome VARCHAR(32) NULL;

ALTER TABLE citizen_timeline
    ADD COLUMN message JSON NULL,
    ADD COLUMN detail VARCHAR(64) NULL;
