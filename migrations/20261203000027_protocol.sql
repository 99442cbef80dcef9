-- The inbox's "not yet protocolled" filter: whether the protocollo informatico registered the
-- request (RequestProtocolled). Every request recorded before this has no such event.
ALTER TABLE queue_requests
    ADD COLUMN protocolled BOOLEAN NOT NULL DEFAULT FALSE,
    ADD KEY queue_protocolled (organisation_id, protocolled, received_at);
