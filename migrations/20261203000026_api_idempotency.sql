-- Idempotency keys of the API's POSTs: the first answer, kept 24 hours, replayed for a retry
-- with the same key and the same request; the same key with another request is refused. A row
-- without a status is an answer still being made (other copies wait for it).
CREATE TABLE api_idempotency (
    -- SHA-256 of the client's token: keys are the client's own.
    scope        CHAR(64)     NOT NULL,
    -- Compared byte for byte: "Key" and "key" are two keys.
    idem_key     VARBINARY(255) NOT NULL,
    -- SHA-256 of method, path, content type and body.
    fingerprint  CHAR(64)     NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    status       SMALLINT     NULL,
    content_type VARCHAR(100) NULL,
    location     VARCHAR(500) NULL,
    etag         VARCHAR(100) NULL,
    body         LONGBLOB     NULL,
    PRIMARY KEY (scope, idem_key),
    KEY api_idempotency_created (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = ascii COLLATE = ascii_general_ci;
