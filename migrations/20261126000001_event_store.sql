-- The event store: mysql-es's table layout, written for MariaDB (NOT NULL before CHECK),
-- plus a global position that durable processors read in commit order.
CREATE TABLE events (
    aggregate_type  VARCHAR(64)  NOT NULL,
    aggregate_id    VARCHAR(64)  NOT NULL,
    sequence        BIGINT       NOT NULL CHECK (sequence >= 0),
    event_type      VARCHAR(128) NOT NULL,
    event_version   VARCHAR(16)  NOT NULL,
    payload         JSON         NOT NULL,
    metadata        JSON         NOT NULL,
    global_position BIGINT       NOT NULL AUTO_INCREMENT,
    recorded_at     DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence),
    UNIQUE KEY events_global_position (global_position)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Only there because mysql-es can use snapshots; Sportello's requests are short streams.
CREATE TABLE snapshots (
    aggregate_type   VARCHAR(64) NOT NULL,
    aggregate_id     VARCHAR(64) NOT NULL,
    last_sequence    BIGINT      NOT NULL CHECK (last_sequence >= 0),
    current_snapshot BIGINT      NOT NULL CHECK (current_snapshot >= 0),
    payload          JSON        NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Every append locks this row first, so appends commit in global_position order and a reader
-- of "events after my checkpoint" can never skip a row that commits late.
CREATE TABLE event_append_lock (
    id TINYINT NOT NULL PRIMARY KEY
) ENGINE = InnoDB;
INSERT INTO event_append_lock (id) VALUES (1);

-- One row per durable processor: the last global position it has applied.
CREATE TABLE projection_checkpoints (
    name     VARCHAR(64) NOT NULL PRIMARY KEY,
    position BIGINT      NOT NULL DEFAULT 0
) ENGINE = InnoDB;
