-- API clients: other systems (the Comune's website, its app, its GIS, the protocol registry)
-- act through /api/v1 as themselves. The token is shown once and stored only as its SHA-256;
-- scopes and departments say what the client may do and see.
CREATE TABLE api_clients (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    name            VARCHAR(200) NOT NULL,
    -- Space-separated: requests:read requests:write statistics:read events:read webhooks:manage
    scopes          VARCHAR(200) NOT NULL,
    -- Space-separated department ids; empty: every department.
    departments     TEXT         NOT NULL,
    token_hash      CHAR(64)     NOT NULL,
    created_by      CHAR(36)     NOT NULL,
    created_at      DATETIME(6)  NOT NULL,
    revoked_at      DATETIME(6)  NULL,
    last_used_at    DATETIME(6)  NULL,
    UNIQUE KEY api_clients_token (token_hash),
    KEY api_clients_organisation (organisation_id, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
