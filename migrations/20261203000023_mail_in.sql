-- Mail and PEC in. Every message read from a mailbox is recorded here, by its identity in that
-- mailbox (UIDVALIDITY and UID) and by a hash of its Message-ID, in the same transaction as
-- what it caused: so a message read again after a crash is recognised and filed once.
CREATE TABLE mail_in_messages (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    mailbox         VARCHAR(8)   NOT NULL,
    uidvalidity     BIGINT       NOT NULL,
    uid             BIGINT       NOT NULL,
    message_id_hash CHAR(64)     NOT NULL,
    -- SHA-256 of the sender's address: the per-sender rate without keeping the address.
    sender_hash     CHAR(64)     NULL,
    -- request, reply, bounce, receipt, quarantine, duplicate
    outcome         VARCHAR(16)  NOT NULL,
    aggregate_id    CHAR(36)     NULL,
    quarantine_id   BIGINT       NULL,
    received_at     DATETIME(6)  NOT NULL,
    UNIQUE KEY mail_in_identity (mailbox, uidvalidity, uid),
    KEY mail_in_message_id (message_id_hash),
    KEY mail_in_sender (sender_hash, received_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Messages that did not become requests, waiting for a person: the raw message (personal
-- data, deleted when the message is dealt with), why it is here, and what was decided.
CREATE TABLE mail_quarantine (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    mailbox         VARCHAR(8)   NOT NULL,
    reason          VARCHAR(24)  NOT NULL,
    sender          VARCHAR(320) NULL,
    subject         VARCHAR(300) NULL,
    raw             LONGBLOB     NULL,
    size            BIGINT       NOT NULL,
    received_at     DATETIME(6)  NOT NULL,
    -- waiting, filed, attached, discarded
    status          VARCHAR(12)  NOT NULL DEFAULT 'waiting',
    decided_by      CHAR(36)     NULL,
    decided_at      DATETIME(6)  NULL,
    aggregate_id    CHAR(36)     NULL,
    KEY mail_quarantine_list (organisation_id, status, received_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- One server copy reads a mailbox at a time: the holder renews its lease; when it dies, the
-- lease runs out and another copy takes over.
CREATE TABLE mail_in_leases (
    mailbox     VARCHAR(8)  NOT NULL PRIMARY KEY,
    holder      CHAR(36)    NOT NULL,
    held_until  DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The reply addresses of requests (urp+r<token>@…): the SHA-256 of the token, 128 random-
-- looking bits derived from a secret, so a reply finds its request and nothing else does.
CREATE TABLE reply_tokens (
    token_hash   CHAR(64) NOT NULL PRIMARY KEY,
    aggregate_id CHAR(36) NOT NULL,
    KEY reply_tokens_request (aggregate_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The citizen's first message of a request that came by mail: what every mail about it
-- answers (In-Reply-To, References), so the conversation stays one thread.
CREATE TABLE mail_threads (
    aggregate_id CHAR(36)     NOT NULL PRIMARY KEY,
    message_id   VARCHAR(255) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- How each mailbox was last found, for the administrators: connected, or the last error.
CREATE TABLE mail_in_status (
    mailbox    VARCHAR(8)   NOT NULL PRIMARY KEY,
    ok         BOOLEAN      NOT NULL,
    last_error VARCHAR(300) NULL,
    checked_at DATETIME(6)  NOT NULL,
    -- Failed attempts in a row (each waits twice as long as the one before, up to 5 minutes).
    failures   INT          NOT NULL DEFAULT 0
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- A mail about the request bounced: the citizen's address does not work (staff are told).
ALTER TABLE queue_requests ADD COLUMN mail_failed BOOLEAN NOT NULL DEFAULT FALSE;
