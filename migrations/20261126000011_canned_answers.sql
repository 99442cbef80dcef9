-- Canned answers: texts in Italian and English, for a kind and/or topic or for any, with
-- placeholders ({nome}, {cognome}, {riferimento}, {oggetto}) filled when used.
CREATE TABLE canned_answers (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    title           VARCHAR(200) NOT NULL,
    kind            VARCHAR(16)  NULL,
    topic_code      VARCHAR(64)  NULL,
    body_it         TEXT         NOT NULL,
    body_en         TEXT         NOT NULL,
    active          BOOLEAN      NOT NULL DEFAULT TRUE,
    KEY canned_answers_listing (organisation_id, active, kind, topic_code)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
