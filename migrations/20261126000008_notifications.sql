-- Mail that follows from an event (an answer, a question, a forwarding, a reminder) is queued by
-- the notifications processor, which follows the log; the event's sequence makes it idempotent.
ALTER TABLE outbox
    ADD COLUMN event_sequence BIGINT NULL,
    ADD UNIQUE KEY outbox_event (aggregate_id, kind, event_sequence);
