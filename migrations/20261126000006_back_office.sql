-- The back office: departments and their referents, other bodies to redirect citizens to, staff
-- with roles, server-side sessions, login throttling, and the log of staff opening requests.

-- The patron saint's day ('MM-DD'), a holiday on the Comune's working calendar.
ALTER TABLE organisations ADD COLUMN patron_saint CHAR(5) NULL;

CREATE TABLE departments (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    name            VARCHAR(200) NOT NULL,
    email           VARCHAR(254) NOT NULL,
    head_name       VARCHAR(200) NULL,
    head_email      VARCHAR(254) NULL,
    active          BOOLEAN      NOT NULL DEFAULT TRUE,
    UNIQUE KEY departments_name (organisation_id, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

ALTER TABLE topics ADD COLUMN default_department CHAR(36) NULL;

CREATE TABLE external_bodies (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    name            VARCHAR(200) NOT NULL,
    handles         VARCHAR(500) NOT NULL DEFAULT '',
    address         VARCHAR(300) NOT NULL DEFAULT '',
    phone           VARCHAR(50)  NOT NULL DEFAULT '',
    email           VARCHAR(254) NOT NULL DEFAULT '',
    website         VARCHAR(300) NOT NULL DEFAULT '',
    hours           VARCHAR(300) NOT NULL DEFAULT '',
    active          BOOLEAN      NOT NULL DEFAULT TRUE,
    UNIQUE KEY external_bodies_name (organisation_id, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE staff (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    organisation_id CHAR(36)     NOT NULL,
    email           VARCHAR(254) NOT NULL,
    name            VARCHAR(200) NOT NULL,
    password_hash   VARCHAR(255) NOT NULL,
    active          BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at      DATETIME(6)  NOT NULL,
    UNIQUE KEY staff_email (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE staff_roles (
    staff_id CHAR(36)    NOT NULL,
    role     VARCHAR(32) NOT NULL,
    PRIMARY KEY (staff_id, role)
) ENGINE = InnoDB;

CREATE TABLE staff_departments (
    staff_id      CHAR(36) NOT NULL,
    department_id CHAR(36) NOT NULL,
    PRIMARY KEY (staff_id, department_id),
    KEY staff_departments_department (department_id)
) ENGINE = InnoDB;

-- A session is known by the hash of its cookie value; the cookie alone is the secret.
CREATE TABLE sessions (
    id_hash      CHAR(64)    NOT NULL PRIMARY KEY,
    staff_id     CHAR(36)    NOT NULL,
    csrf_secret  CHAR(64)    NOT NULL,
    created_at   DATETIME(6) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    KEY sessions_staff (staff_id)
) ENGINE = InnoDB;

-- Failed logins per account and per client, shared by every server copy.
CREATE TABLE login_failures (
    subject      CHAR(64)    NOT NULL PRIMARY KEY,
    failures     INT         NOT NULL,
    window_start DATETIME(6) NOT NULL
) ENGINE = InnoDB;

CREATE TABLE staff_access_log (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    staff_id     CHAR(36)    NOT NULL,
    aggregate_id VARCHAR(64) NOT NULL,
    viewed_at    DATETIME(6) NOT NULL,
    KEY staff_access_request (aggregate_id, viewed_at),
    KEY staff_access_staff (staff_id, viewed_at)
) ENGINE = InnoDB;
