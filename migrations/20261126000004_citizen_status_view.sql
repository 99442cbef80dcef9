-- The citizen's status view: a projection of the request events, rebuilt by
-- `sportello projections rebuild citizen_status`. No column comes from the wall clock.
CREATE TABLE citizen_requests (
    aggregate_id        VARCHAR(64) NOT NULL PRIMARY KEY,
    organisation_id     CHAR(36)    NOT NULL,
    tracking_token_hash CHAR(64)    NOT NULL,
    reference           VARCHAR(16) NOT NULL,
    kind                VARCHAR(16) NOT NULL,
    topic_code          VARCHAR(64) NOT NULL,
    channel             VARCHAR(16) NOT NULL,
    language            CHAR(2)     NOT NULL,
    status              VARCHAR(32) NOT NULL,
    received_at         DATETIME(6) NOT NULL,
    answer_due          DATE        NOT NULL,
    acknowledged_at     DATETIME(6) NULL,
    personal            JSON        NOT NULL,
    UNIQUE KEY citizen_requests_token (tracking_token_hash),
    UNIQUE KEY citizen_requests_reference (organisation_id, reference)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE citizen_timeline (
    aggregate_id VARCHAR(64) NOT NULL,
    sequence     BIGINT      NOT NULL,
    entry        VARCHAR(64) NOT NULL,
    occurred_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (aggregate_id, sequence)
) ENGINE = InnoDB;

CREATE TABLE citizen_attachments (
    aggregate_id VARCHAR(64)  NOT NULL,
    position     INT          NOT NULL,
    file_id      CHAR(64)     NOT NULL,
    thumbnail_id CHAR(64)     NULL,
    content_type VARCHAR(100) NOT NULL,
    size         INT          NOT NULL,
    PRIMARY KEY (aggregate_id, position),
    KEY citizen_attachments_file (file_id)
) ENGINE = InnoDB;
