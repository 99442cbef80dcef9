//! Demo content, so a new install shows a living portal: a handful of requests filed through
//! the same path as the web form (events, references, acknowledgements and all).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use sportello_domain::{Channel, Kind, Language};
use uuid::Uuid;

use crate::app::AppState;
use crate::intake::{self, file_request, Filed, Submission, ValidRequest};

const SAMPLES: &[(Kind, &str, &str, &str)] = &[
    (Kind::Complaint, "lavori-pubblici", "Lampione spento in via Roma", "Il lampione davanti al civico 12 di via Roma è spento da due settimane e la sera la strada è buia."),
    (Kind::Information, "anagrafe", "Rinnovo della carta d'identità", "Vorrei sapere come prenotare il rinnovo della carta d'identità elettronica e quali documenti portare."),
    (Kind::Suggestion, "ambiente-rifiuti", "Più cestini al parco", "Nel parco comunale servirebbero più cestini vicino ai giochi dei bambini, soprattutto nel fine settimana."),
    (Kind::Praise, "servizi-sociali", "Grazie al servizio di assistenza", "Ringrazio il personale dei servizi sociali per la cortesia e la rapidità con cui ha seguito mia madre."),
    (Kind::Complaint, "mobilita", "Autobus in ritardo la mattina", "La linea 3 arriva con venti minuti di ritardo quasi ogni mattina alla fermata di piazza Garibaldi."),
    (Kind::Information, "tributi", "Scadenza della TARI", "Quando scade la prima rata della TARI di quest'anno e dove trovo il modello di pagamento?"),
];

const NAMES: &[(&str, &str)] = &[
    ("Giulia", "Bianchi"),
    ("Marco", "Esposito"),
    ("Anna", "Ricci"),
    ("Luca", "Romano"),
    ("Sara", "Colombo"),
    ("Paolo", "Greco"),
];

/// Files `count` demo requests and returns them (the tracking tokens are the way in).
pub async fn seed(app: &AppState, count: usize) -> anyhow::Result<Vec<Filed>> {
    let mut filed = Vec::new();
    for index in 0..count {
        let (kind, topic, subject, description) = SAMPLES[index % SAMPLES.len()];
        let (first_name, last_name) = NAMES[index % NAMES.len()];
        let attachments = if index % 3 == 0 {
            vec![intake::prepare("foto-segnalazione.png", demo_photo(index))?]
        } else {
            vec![]
        };
        let submission = Submission {
            request: ValidRequest {
                kind,
                topic: topic.into(),
                subject: subject.into(),
                description: description.into(),
                place: (kind == Kind::Complaint).then(|| "Via Roma 12".to_string()),
                first_name: first_name.into(),
                last_name: last_name.into(),
                email: format!(
                    "{}.{}@example.org",
                    first_name.to_lowercase(),
                    last_name.to_lowercase()
                ),
                phone: None,
            },
            attachments,
            language: if index % 4 == 3 {
                Language::En
            } else {
                Language::It
            },
            channel: Channel::Web,
            actor: "demo".into(),
            correlation_id: Uuid::new_v4().to_string(),
            filed_by: Default::default(),
        };
        filed.push(
            file_request(app, submission)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?,
        );
    }
    Ok(filed)
}

/// A small generated picture (no file shipped in the repository).
fn demo_photo(seed: usize) -> Vec<u8> {
    let image = RgbImage::from_fn(64, 48, |x, y| {
        Rgb([(x * 4) as u8, (y * 5) as u8, (seed * 40 % 255) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, ImageFormat::Png)
        .expect("PNG encoding in memory");
    out.into_inner()
}

/// The back office of a trial install: two offices, another body, a canned answer and one
/// member of staff who is administrator, URP operator, front office and referent of both offices. Returns
/// the e-mail and the random password to sign in with (shown once, on the terminal), or `None`
/// when staff or offices exist already (someone set the back office up before the first start).
pub async fn seed_back_office(app: &AppState) -> anyhow::Result<Option<(String, String)>> {
    let configured: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM staff) + (SELECT COUNT(*) FROM departments)",
    )
    .fetch_one(&app.pool)
    .await?;
    if configured > 0 {
        return Ok(None);
    }
    use crate::directory::{self, canned, ExternalBody};
    use crate::staff::{self, NewStaff, Role};
    let org = app.organisation_id;
    let roads = directory::add_department(
        &app.pool,
        org,
        "Lavori pubblici",
        "lavori.pubblici@example.org",
        Some(("Ing. Carla Neri", "carla.neri@example.org")),
    )
    .await?;
    let social = directory::add_department(
        &app.pool,
        org,
        "Servizi sociali",
        "servizi.sociali@example.org",
        None,
    )
    .await?;
    let body = ExternalBody {
        id: Uuid::nil(),
        name: "Azienda sanitaria locale".into(),
        handles: "Sanità, medici di base, vaccinazioni".into(),
        address: "Via della Salute 1".into(),
        phone: "06 000000".into(),
        email: "urp@asl.example.org".into(),
        website: "https://www.asl.example.org".into(),
        hours: "Lun–Ven 9–13".into(),
        active: true,
    };
    directory::add_external_body(&app.pool, org, &body).await?;
    let answer = canned::CannedAnswer {
        title: "Presa in esame".into(),
        body_it: "Gentile {nome}, la richiesta {riferimento} ({oggetto}) è stata presa in esame dall'ufficio competente.".into(),
        body_en: "Dear {nome}, request {riferimento} ({oggetto}) is being looked at by the competent office.".into(),
        active: true,
        ..Default::default()
    };
    canned::save(&app.pool, org, &answer).await?;
    let mut bytes = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let password = format!("demo-{}", hex::encode(bytes));
    let email = "demo@example.org".to_string();
    let new = NewStaff {
        organisation_id: org,
        email: &email,
        name: "Utente dimostrativo",
        password: &password,
        roles: &[
            Role::Administrator,
            Role::UrpOperator,
            Role::Referent,
            Role::FrontOffice,
        ],
        departments: &[roads, social],
    };
    staff::add(&app.pool, new, app.clock.now()).await?;
    Ok(Some((email, password)))
}
