-- Whole-log tamper evidence. Each request's events are chained (`events.chain_hash`); this
-- chains the whole log too, in commit order: entry n covers its event's position, time, request,
-- sequence and chain hash, and the entry before it. Written in the append's transaction, under
-- the append lock (events recorded before it are chained at the first start, in order). Deleting
-- a request, altering a time or reordering the log breaks it; truncating its tail shows against
-- a signed checkpoint an auditor kept.
CREATE TABLE log_chain (
    log_index       BIGINT       NOT NULL PRIMARY KEY,
    global_position BIGINT       NOT NULL,
    aggregate_id    VARCHAR(64)  NOT NULL,
    sequence        BIGINT       NOT NULL,
    recorded_at     DATETIME(6)  NOT NULL,
    chain_hash      CHAR(64)     NOT NULL,
    log_hash        CHAR(64)     NOT NULL,
    UNIQUE KEY log_chain_position (global_position)
) ENGINE = InnoDB DEFAULT CHARSET = ascii COLLATE = ascii_general_ci;

-- The signed checkpoints, one a day: the log's size and head hash, signed with the deployment's
-- Ed25519 key (kept in the data directory, not in the database).
CREATE TABLE log_checkpoints (
    day             DATE         NOT NULL PRIMARY KEY,
    size            BIGINT       NOT NULL,
    global_position BIGINT       NOT NULL,
    head            CHAR(64)     NOT NULL,
    signed_at       DATETIME(6)  NOT NULL,
    public_key      VARCHAR(64)  NOT NULL,
    signature       VARCHAR(128) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = ascii COLLATE = ascii_general_ci;
