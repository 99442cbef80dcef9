-- The outbox names what each mail is about in a column of that thing's type — a request, a
-- member of staff, a citizen, a month's report and its audience — instead of one overloaded
-- `aggregate_id` (see projections' `outbox::Mail`, the one writer of this table).
ALTER TABLE outbox
    ADD COLUMN request_id      VARCHAR(64) NULL AFTER kind,
    ADD COLUMN staff_id        CHAR(36)    NULL AFTER request_id,
    ADD COLUMN citizen_id      CHAR(36)    NULL AFTER staff_id,
    ADD COLUMN report_month    CHAR(7)     NULL AFTER citizen_id,
    ADD COLUMN report_audience VARCHAR(36) NULL AFTER report_month;

UPDATE outbox SET staff_id = aggregate_id WHERE kind = 'invitation';
UPDATE outbox SET citizen_id = aggregate_id
 WHERE kind IN ('citizen_verify', 'citizen_reset', 'citizen_email');
UPDATE outbox SET report_month = SUBSTRING_INDEX(aggregate_id, ':', 1),
                  report_audience = SUBSTRING_INDEX(aggregate_id, ':', -1)
 WHERE kind = 'monthly_report';
UPDATE outbox SET request_id = aggregate_id
 WHERE kind NOT IN ('invitation', 'citizen_verify', 'citizen_reset', 'citizen_email', 'monthly_report');

ALTER TABLE outbox
    DROP INDEX outbox_event,
    DROP COLUMN aggregate_id,
    ADD UNIQUE KEY outbox_event (request_id, kind, event_sequence),
    ADD KEY outbox_citizen (citizen_id);
