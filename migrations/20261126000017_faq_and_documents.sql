-- FAQ and the documents library. Not request events: FAQs and documents are the Comune's own
-- content, edited in place, with every change of a FAQ kept in faq_revisions (who, when, the
-- text before). Search columns hold the folded, stemmed text written by the server (MariaDB has
-- no Italian stemmer): each server copy builds its FAQ search index from them (see
-- crates/server/src/faq/index.rs); the library's is a FULLTEXT index.

CREATE TABLE faqs (
    id              CHAR(36)    NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)    NOT NULL,
    topic_code      VARCHAR(64) NOT NULL,
    position        INT         NOT NULL DEFAULT 0,
    published       BOOLEAN     NOT NULL DEFAULT FALSE,
    revision        INT         NOT NULL,
    source_request  VARCHAR(64) NULL,
    updated_at      DATETIME(6) NOT NULL,
    updated_by      CHAR(36)    NULL,
    KEY faqs_topic (organisation_id, published, topic_code, position)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- One row per language a FAQ is written in (an answer may exist in one language only).
CREATE TABLE faq_texts (
    faq_id          CHAR(36)     NOT NULL,
    language        CHAR(2)      NOT NULL,
    organisation_id CHAR(36)     NOT NULL,
    published       BOOLEAN      NOT NULL,
    question        VARCHAR(300) NOT NULL,
    answer          MEDIUMTEXT   NOT NULL,
    search_question TEXT         NOT NULL,
    search_answer   MEDIUMTEXT   NOT NULL,
    PRIMARY KEY (faq_id, language),
    KEY faq_texts_published (organisation_id, published, language)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE faq_revisions (
    faq_id      CHAR(36)     NOT NULL,
    revision    INT          NOT NULL,
    staff_id    CHAR(36)     NULL,
    at          DATETIME(6)  NOT NULL,
    topic_code  VARCHAR(64)  NOT NULL,
    position    INT          NOT NULL,
    published   BOOLEAN      NOT NULL,
    question_it VARCHAR(300) NULL,
    answer_it   MEDIUMTEXT   NULL,
    question_en VARCHAR(300) NULL,
    answer_en   MEDIUMTEXT   NULL,
    PRIMARY KEY (faq_id, revision)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- "Was this useful?": no personal data, only the answer and an optional comment.
CREATE TABLE faq_votes (
    id      BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    faq_id  CHAR(36)    NOT NULL,
    useful  BOOLEAN     NOT NULL,
    comment TEXT        NULL,
    at      DATETIME(6) NOT NULL,
    KEY faq_votes_faq (faq_id, useful)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- A suggested FAQ opened while writing a request, by an anonymous form session (a random id
-- that names nobody); submitted_at is set if that form was sent after all.
CREATE TABLE faq_deflections (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    form_session CHAR(64)    NOT NULL,
    faq_id       CHAR(36)    NOT NULL,
    opened_at    DATETIME(6) NOT NULL,
    submitted_at DATETIME(6) NULL,
    KEY faq_deflections_session (form_session),
    KEY faq_deflections_opened (opened_at, submitted_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE documents (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    title           VARCHAR(200) NOT NULL,
    description     TEXT         NOT NULL,
    topic_code      VARCHAR(64)  NOT NULL,
    language        CHAR(2)      NOT NULL,
    file_id         CHAR(64)     NOT NULL,
    file_name       VARCHAR(200) NOT NULL,
    content_type    VARCHAR(100) NOT NULL,
    size            INT          NOT NULL,
    published       BOOLEAN      NOT NULL DEFAULT TRUE,
    search_text     TEXT         NOT NULL,
    created_at      DATETIME(6)  NOT NULL,
    updated_at      DATETIME(6)  NOT NULL,
    updated_by      CHAR(36)     NULL,
    KEY documents_list (organisation_id, published, topic_code, title),
    FULLTEXT KEY documents_search (search_text)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
