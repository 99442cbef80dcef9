-- Requests per status for each combination of the inbox's dimension filters, kept by the queue
-- projection, so the inbox's counts are a sum over a few hundred rows instead of a count over
-- every request.
CREATE TABLE queue_counts (
    organisation_id CHAR(36)    NOT NULL,
    status          VARCHAR(32) NOT NULL,
    kind            VARCHAR(16) NOT NULL,
    topic_code      VARCHAR(64) NOT NULL,
    channel         VARCHAR(16) NOT NULL,
    department_id   CHAR(36)    NOT NULL DEFAULT '',
    n               BIGINT      NOT NULL,
    PRIMARY KEY (organisation_id, status, kind, topic_code, channel, department_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The counts must cover the requests already there: empty the queue and move its checkpoint back
-- to the start, so the processors rebuild it from the events when the server starts.
DELETE FROM queue_requests;
UPDATE projection_checkpoints SET position = 0 WHERE name = 'queue';
