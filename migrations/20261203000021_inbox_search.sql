-- The inbox's search reads its own word index instead of a FULLTEXT expression: each request's
-- search terms (subject, citizen's name and address; folded, stemmed, pictographs kept) with
-- the request's receipt time, so the newest matches of a term are read in the index's order and
-- a search stops after the page it shows. The terms are compared byte for byte (they are
-- folded in Rust): utf8mb4_unicode_ci would take every emoji for the same character.
CREATE TABLE queue_words (
    organisation_id CHAR(36)    NOT NULL,
    word            VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    received_at     DATETIME(6) NOT NULL,
    aggregate_id    VARCHAR(64) NOT NULL,
    PRIMARY KEY (organisation_id, word, received_at, aggregate_id),
    KEY queue_words_request (aggregate_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- An address typed in the search box is looked up exactly, its requests newest first.
ALTER TABLE queue_requests
    DROP INDEX queue_search,
    ADD KEY queue_email (organisation_id, citizen_email, received_at);
