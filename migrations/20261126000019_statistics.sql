-- Statistics: read models of the event log, rebuilt by `sportello projections rebuild statistics`.
-- Dates are civil dates in Europe/Rome; durations are whole minutes. No personal data: only the
-- request's dimensions, its milestones and its rating.

-- One row per request: its dimensions and milestones.
CREATE TABLE stat_requests (
    aggregate_id           CHAR(36)    NOT NULL PRIMARY KEY,
    organisation_id        CHAR(36)    NOT NULL,
    kind                   VARCHAR(16) NOT NULL,
    topic_code             VARCHAR(64) NOT NULL,
    channel                VARCHAR(16) NOT NULL,
    -- The department last forwarded to ('' when the URP answers itself or it was handed back).
    department_id          CHAR(36)    NOT NULL DEFAULT '',
    received_at            DATETIME(6) NOT NULL,
    received_on            DATE        NOT NULL,
    answer_due             DATE        NOT NULL,
    first_response_on      DATE        NULL,
    first_response_minutes INT         NULL,
    answered_on            DATE        NULL,
    answer_minutes         INT         NULL,
    answered_in_time       BOOLEAN     NULL,
    closed_on              DATE        NULL,
    redirected_on          DATE        NULL,
    reminders              INT         NOT NULL DEFAULT 0,
    -- When it was last forwarded and not yet taken in charge (for take-charge times).
    pending_forward_at     DATETIME(6) NULL,
    rated_on               DATE        NULL,
    stars                  TINYINT     NULL,
    reasons                VARCHAR(255) NOT NULL DEFAULT '',
    KEY stat_requests_received (organisation_id, received_on, kind, topic_code, channel, department_id),
    KEY stat_requests_answered (organisation_id, answered_on, kind, topic_code, channel, department_id, answer_minutes, answered_in_time),
    KEY stat_requests_first_response (organisation_id, first_response_on, kind, topic_code, channel, department_id, first_response_minutes),
    KEY stat_requests_closed (organisation_id, closed_on, received_on, kind, topic_code, channel, department_id),
    KEY stat_requests_rated (organisation_id, rated_on, kind, topic_code, channel, department_id, stars)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- One row per taking in charge: how long the department took after the forwarding.
CREATE TABLE stat_take_charges (
    aggregate_id    CHAR(36)    NOT NULL,
    sequence        BIGINT      NOT NULL,
    organisation_id CHAR(36)    NOT NULL,
    department_id   CHAR(36)    NOT NULL,
    kind            VARCHAR(16) NOT NULL,
    topic_code      VARCHAR(64) NOT NULL,
    channel         VARCHAR(16) NOT NULL,
    taken_on        DATE        NOT NULL,
    minutes         INT         NOT NULL,
    PRIMARY KEY (aggregate_id, sequence),
    KEY stat_take_charges_taken (organisation_id, taken_on, department_id, kind, topic_code, channel, minutes)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- What happened on a day, counted: reminders, redirections, forwardings, reopenings.
CREATE TABLE stat_activity (
    organisation_id CHAR(36)    NOT NULL,
    day             DATE        NOT NULL,
    activity        VARCHAR(16) NOT NULL,
    kind            VARCHAR(16) NOT NULL,
    topic_code      VARCHAR(64) NOT NULL,
    channel         VARCHAR(16) NOT NULL,
    department_id   CHAR(36)    NOT NULL DEFAULT '',
    n               INT         NOT NULL,
    PRIMARY KEY (organisation_id, day, activity, kind, topic_code, channel, department_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Monthly reports by e-mail: whether and when they go out, and to whom besides the managers.
ALTER TABLE organisations
    ADD COLUMN reports_enabled      BOOLEAN       NOT NULL DEFAULT TRUE,
    ADD COLUMN department_reports   BOOLEAN       NOT NULL DEFAULT TRUE,
    ADD COLUMN report_working_day   INT           NOT NULL DEFAULT 1,
    ADD COLUMN report_recipients    VARCHAR(1000) NOT NULL DEFAULT '';

-- One row per report queued: the key makes each month's report go out once, whatever the
-- number of server copies and restarts (the mail itself is sent by the outbox).
CREATE TABLE report_runs (
    organisation_id CHAR(36)    NOT NULL,
    month           CHAR(7)     NOT NULL,
    audience        VARCHAR(36) NOT NULL,
    queued_at       DATETIME(6) NOT NULL,
    PRIMARY KEY (organisation_id, month, audience)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- A bulk rebuild pauses its projection's processors while it builds the replacement tables.
ALTER TABLE projection_checkpoints ADD COLUMN rebuilding BOOLEAN NOT NULL DEFAULT FALSE;
