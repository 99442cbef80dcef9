-- Personal data in events is sealed with a per-request key kept here; erasing the key
-- ("crypto-shredding") makes the sealed data unreadable without rewriting any event.
CREATE TABLE data_keys (
    id         CHAR(36)    NOT NULL PRIMARY KEY,
    key_bytes  BINARY(32)  NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE = InnoDB;

-- Uploaded bytes, content-addressed (SHA-256), written before the event that names them.
CREATE TABLE files (
    id           CHAR(64)     NOT NULL PRIMARY KEY,
    content_type VARCHAR(100) NOT NULL,
    size         INT          NOT NULL,
    bytes        LONGBLOB     NOT NULL,
    created_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE = InnoDB;

-- Mail to send, written in the same transaction as the event that calls for it. The tracking
-- token lives here in clear only until the acknowledgement is accepted, then it is erased.
CREATE TABLE outbox (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    aggregate_id    VARCHAR(64)  NOT NULL,
    kind            VARCHAR(32)  NOT NULL,
    tracking_token  VARCHAR(128) NULL,
    status          VARCHAR(16)  NOT NULL DEFAULT 'pending',
    attempts        INT          NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6)  NOT NULL,
    claimed_by      CHAR(36)     NULL,
    claimed_until   DATETIME(6)  NULL,
    last_error      VARCHAR(300) NULL,
    created_at      DATETIME(6)  NOT NULL,
    finished_at     DATETIME(6)  NULL,
    KEY outbox_due (status, next_attempt_at),
    KEY outbox_claim (claimed_by)
) ENGINE = InnoDB;

-- Installation-wide secrets shared by every server copy (e.g. the CSRF signing key).
CREATE TABLE settings (
    name  VARCHAR(64)  NOT NULL PRIMARY KEY,
    value VARCHAR(255) NOT NULL
) ENGINE = InnoDB;
