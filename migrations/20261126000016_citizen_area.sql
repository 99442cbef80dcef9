-- The citizen area: accounts (personal data kept here, mutable and deleted on erasure, never in
-- events), their single-use e-mail tokens, OpenID Connect logins in progress, drafts, the
-- front office's receipts, the pages administrators edit, and what "my area" needs from the
-- citizen's status view.

CREATE TABLE citizens (
    id                CHAR(36)     NOT NULL PRIMARY KEY,
    organisation_id   CHAR(36)     NOT NULL,
    email             VARCHAR(254) NULL,
    email_verified_at DATETIME(6)  NULL,
    password_hash     VARCHAR(255) NULL,
    first_name        VARCHAR(100) NOT NULL,
    last_name         VARCHAR(100) NOT NULL,
    fiscal_code       VARCHAR(16)  NULL,
    phone             VARCHAR(40)  NULL,
    -- The language their e-mails are written in.
    language          CHAR(2)      NOT NULL DEFAULT 'it',
    oidc_subject      CHAR(64)     NULL,
    created_at        DATETIME(6)  NOT NULL,
    created_by        CHAR(36)     NULL,
    UNIQUE KEY citizens_email (organisation_id, email),
    UNIQUE KEY citizens_oidc (oidc_subject),
    KEY citizens_fiscal_code (organisation_id, fiscal_code),
    KEY citizens_phone (organisation_id, phone),
    KEY citizens_name (organisation_id, last_name, first_name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- E-mail verification, password reset and e-mail change links: stored hashed, single use. The
-- password is chosen on the verification link's page, by whoever holds the mailbox.
CREATE TABLE citizen_tokens (
    token_hash    CHAR(64)     NOT NULL PRIMARY KEY,
    citizen_id    CHAR(36)     NOT NULL,
    purpose       VARCHAR(16)  NOT NULL,
    new_email     VARCHAR(254) NULL,
    expires_at DATETIME(6)  NOT NULL,
    used_at    DATETIME(6)  NULL,
    KEY citizen_tokens_citizen (citizen_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- A session belongs to a member of staff or to a citizen.
ALTER TABLE sessions
    MODIFY staff_id CHAR(36) NULL,
    ADD COLUMN citizen_id CHAR(36) NULL,
    ADD KEY sessions_citizen (citizen_id);

-- OpenID Connect logins between the redirect to the provider and its callback.
CREATE TABLE oidc_logins (
    state_hash    CHAR(64)     NOT NULL PRIMARY KEY,
    nonce         VARCHAR(64)  NOT NULL,
    code_verifier VARCHAR(128) NOT NULL,
    browser_hash  CHAR(64)     NOT NULL,
    expires_at    DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE request_drafts (
    id         CHAR(36)    NOT NULL PRIMARY KEY,
    citizen_id CHAR(36)    NOT NULL,
    fields     JSON        NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY request_drafts_citizen (citizen_id, updated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The tracking token of a request entered at the front office, sealed under the request's key
-- so the receipt can be printed again (and is erased with the request's personal data).
CREATE TABLE front_office_receipts (
    aggregate_id VARCHAR(64) NOT NULL PRIMARY KEY,
    operator_id  CHAR(36)    NOT NULL,
    token        JSON        NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The privacy notice and the accessibility statement, as administrators write them.
CREATE TABLE site_pages (
    organisation_id CHAR(36)    NOT NULL,
    slug            VARCHAR(32) NOT NULL,
    language        CHAR(2)     NOT NULL,
    title           VARCHAR(200) NOT NULL,
    body            MEDIUMTEXT  NOT NULL,
    updated_at      DATETIME(6) NOT NULL,
    updated_by      CHAR(36)    NULL,
    PRIMARY KEY (organisation_id, slug, language)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Accounts erased at the citizen's request, without who they were: staff can see it happened.
CREATE TABLE account_erasures (
    id       BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at       DATETIME(6) NOT NULL,
    requests INT         NOT NULL,
    KEY account_erasures_at (at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

ALTER TABLE organisations
    ADD COLUMN reopen_days      INT NULL,
    ADD COLUMN retention_months INT NULL;

-- The key of the blind index that finds a guest's requests by their verified e-mail.
INSERT IGNORE INTO settings (name, value) VALUES ('email_index_secret', HEX(RANDOM_BYTES(32)));

ALTER TABLE citizen_requests
    ADD COLUMN citizen_id         CHAR(36)    NULL,
    ADD COLUMN email_index        CHAR(64)    NULL,
    ADD COLUMN taken_in_charge_at DATETIME(6) NULL,
    ADD COLUMN answered_at        DATETIME(6) NULL,
    ADD COLUMN closed_at          DATETIME(6) NULL,
    ADD COLUMN stars              TINYINT     NULL,
    ADD COLUMN paper_only         BOOLEAN     NOT NULL DEFAULT FALSE,
    ADD COLUMN erased_at          DATETIME(6) NULL,
    ADD KEY citizen_requests_citizen (citizen_id, received_at),
    ADD KEY citizen_requests_email (email_index, received_at);

-- Which requests name which stored file (attachments, replies' files, answers' documents):
-- files are stored once per content, so an erasure deletes only those no other request needs.
CREATE TABLE citizen_files (
    file_id      CHAR(64)    NOT NULL,
    aggregate_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (file_id, aggregate_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

ALTER TABLE queue_requests
    ADD COLUMN erased_at DATETIME(6) NULL,
    ADD KEY queue_closed (organisation_id, status, closed_at);

-- Both views gained columns from the whole past: rebuild them from the events at the next start.
DELETE FROM citizen_timeline;
DELETE FROM citizen_attachments;
DELETE FROM citizen_files;
DELETE FROM citizen_requests;
DELETE FROM queue_counts;
DELETE FROM queue_requests;
UPDATE projection_checkpoints SET position = 0 WHERE name IN ('citizen_status', 'queue');
