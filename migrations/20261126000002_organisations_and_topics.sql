-- Every topic, department and request belongs to an organisation (a Comune). A default install
-- has one; serving several Comuni later only adds rows.
CREATE TABLE organisations (
    id         CHAR(36)     NOT NULL PRIMARY KEY,
    slug       VARCHAR(64)  NOT NULL UNIQUE,
    name       VARCHAR(200) NOT NULL,
    created_at DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO organisations (id, slug, name)
VALUES ('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'comune', 'Comune di Esempio');

CREATE TABLE topics (
    organisation_id CHAR(36)     NOT NULL,
    code            VARCHAR(64)  NOT NULL,
    name_it         VARCHAR(200) NOT NULL,
    name_en         VARCHAR(200) NOT NULL,
    position        INT          NOT NULL,
    active          BOOLEAN      NOT NULL DEFAULT TRUE,
    PRIMARY KEY (organisation_id, code),
    KEY topics_listing (organisation_id, active, position),
    CONSTRAINT topics_organisation FOREIGN KEY (organisation_id) REFERENCES organisations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO topics (organisation_id, code, name_it, name_en, position) VALUES
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'anagrafe', 'Anagrafe e stato civile', 'Registry office and civil status', 10),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'tributi', 'Tributi e tasse locali', 'Local taxes', 20),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'lavori-pubblici', 'Lavori pubblici e manutenzioni', 'Public works and maintenance', 30),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'ambiente-rifiuti', 'Ambiente e rifiuti', 'Environment and waste', 40),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'mobilita', 'Mobilità, traffico e trasporti', 'Mobility, traffic and transport', 50),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'polizia-locale', 'Polizia locale e sicurezza', 'Local police and safety', 60),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'servizi-sociali', 'Servizi sociali', 'Social services', 70),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'scuola', 'Scuola e servizi educativi', 'Schools and education', 80),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'cultura-sport', 'Cultura, sport e tempo libero', 'Culture, sport and leisure', 90),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'urbanistica-edilizia', 'Urbanistica ed edilizia privata', 'Town planning and building', 100),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'attivita-produttive', 'Commercio e attività produttive', 'Trade and businesses', 110),
('6f1c2a7e-4b0d-4c57-9a39-1b7c1d0e0001', 'urp-altro', 'URP e altro', 'Citizens'' relations office and other', 120);

-- Gap-free yearly references: incremented in the transaction that appends RequestReceived.
CREATE TABLE reference_counters (
    organisation_id CHAR(36) NOT NULL,
    year            INT      NOT NULL,
    last_number     INT      NOT NULL,
    PRIMARY KEY (organisation_id, year)
) ENGINE = InnoDB;
