-- Between the password and the second factor: a short-lived challenge, known by the hash of a
-- cookie value, with a count of wrong codes.
CREATE TABLE login_challenges (
    token_hash CHAR(64)    NOT NULL PRIMARY KEY,
    staff_id   CHAR(36)    NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    attempts   INT         NOT NULL DEFAULT 0,
    back       VARCHAR(300) NOT NULL DEFAULT '/ufficio/richieste'
) ENGINE = InnoDB;
