-- What administrators configure, read from the database by every server copy on every use.
ALTER TABLE organisations
    ADD COLUMN reminder_days   INT     NULL,
    ADD COLUMN escalation_days INT     NULL,
    ADD COLUMN require_totp    BOOLEAN NOT NULL DEFAULT FALSE;

-- The answer deadline per kind of request (Legge 241/1990: 30 days unless set otherwise).
CREATE TABLE answer_deadlines (
    organisation_id CHAR(36)    NOT NULL,
    kind            VARCHAR(16) NOT NULL,
    days            INT         NOT NULL,
    PRIMARY KEY (organisation_id, kind)
) ENGINE = InnoDB;

-- Staff invited by e-mail set their own password through a single-use link.
CREATE TABLE staff_invitations (
    token_hash CHAR(64)    NOT NULL PRIMARY KEY,
    staff_id   CHAR(36)    NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    KEY staff_invitations_staff (staff_id)
) ENGINE = InnoDB;

-- Two-factor authentication for staff.
ALTER TABLE staff
    ADD COLUMN totp_secret    VARCHAR(64) NULL,
    ADD COLUMN totp_last_step BIGINT      NULL;

CREATE TABLE staff_recovery_codes (
    staff_id  CHAR(36) NOT NULL,
    code_hash CHAR(64) NOT NULL,
    PRIMARY KEY (staff_id, code_hash)
) ENGINE = InnoDB;

-- What administrators changed: who, what, when.
CREATE TABLE admin_log (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    staff_id   CHAR(36)     NOT NULL,
    action     VARCHAR(64)  NOT NULL,
    subject_id VARCHAR(64)  NULL,
    at         DATETIME(6)  NOT NULL,
    KEY admin_log_at (at)
) ENGINE = InnoDB;
