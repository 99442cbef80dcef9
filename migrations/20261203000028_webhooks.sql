-- Webhooks: endpoints administrators register, and the deliveries a processor following the log
-- queues for them (one per endpoint and event: at least once, in order per request).
CREATE TABLE webhook_endpoints (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    url             VARCHAR(500) NOT NULL,
    -- Space-separated event types; empty: every type.
    event_types     TEXT         NOT NULL,
    -- Only the requests of this department (while forwarded to it); NULL: every request.
    department_id   CHAR(36)     NULL,
    -- Whether payloads carry the citizen's personal data opened (otherwise sealed parts are left out).
    personal        BOOLEAN      NOT NULL DEFAULT FALSE,
    -- The Standard Webhooks secret, whsec_ and base64: needed in clear to sign.
    secret          VARCHAR(100) NOT NULL,
    active          BOOLEAN      NOT NULL DEFAULT TRUE,
    disabled_at     DATETIME(6)  NULL,
    disabled_reason VARCHAR(300) NULL,
    created_by      CHAR(36)     NOT NULL,
    created_at      DATETIME(6)  NOT NULL,
    KEY webhook_endpoints_organisation (organisation_id, active)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE webhook_deliveries (
    -- The webhook-id header: msg_ and a UUID, the same on every attempt.
    id              CHAR(40)     NOT NULL PRIMARY KEY,
    endpoint_id     CHAR(36)     NOT NULL,
    position        BIGINT       NOT NULL,
    aggregate_id    VARCHAR(64)  NOT NULL,
    sequence        BIGINT       NOT NULL,
    event_type      VARCHAR(128) NOT NULL,
    -- pending, delivered, failed
    status          VARCHAR(16)  NOT NULL,
    attempts        INT          NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6)  NOT NULL,
    leased_until    DATETIME(6)  NULL,
    -- The first attempt: the day of retries counts from it (not from the event, which may be
    -- older when the processor catches up, or the endpoint was off).
    first_attempt_at DATETIME(6) NULL,
    last_status     SMALLINT     NULL,
    last_error      VARCHAR(300) NULL,
    created_at      DATETIME(6)  NOT NULL,
    delivered_at    DATETIME(6)  NULL,
    UNIQUE KEY webhook_delivery_event (endpoint_id, position),
    KEY webhook_deliveries_due (status, next_attempt_at),
    KEY webhook_deliveries_order (endpoint_id, aggregate_id, status, position)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- What the webhooks processor knows of each request: its organisation, reference and current
-- department (for the endpoints' department filter).
CREATE TABLE webhook_requests (
    aggregate_id    VARCHAR(64)  NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    reference       VARCHAR(32)  NOT NULL,
    department_id   CHAR(36)     NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- A mail about something that is neither a request, a person nor a report: the webhook endpoint
-- an administrator is told was disabled.
ALTER TABLE outbox ADD COLUMN subject_id CHAR(36) NULL;
