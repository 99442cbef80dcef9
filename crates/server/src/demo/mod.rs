//! Demo content, so a new install shows a living desk: a back office, ninety days of requests
//! in every status (`history`, decided by the aggregate), a few fresh ones filed through the
//! same path as the web form (events, references, acknowledgements and all), and FAQs.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use sportello_domain::{Channel, Kind, Language};
use uuid::Uuid;

pub mod history;

use crate::intake::{file_request, Filed, Submission, ValidRequest};
use crate::state::AppState;

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

/// What the living demo put in, for the terminal.
pub struct Living {
    /// The staff member to sign in as and the random password (shown once), unless someone
    /// configured the back office before the first start.
    pub staff: Option<(String, String)>,
    pub requests: usize,
    /// The private tracking token of the request waiting for its citizen.
    pub tracking: Option<String>,
}

/// Requests in the living demo's history.
pub const LIVING_REQUESTS: usize = 300;

/// The zero-configuration demo: the back office, 300 requests of the last 90 days living their
/// lives (one waiting for its citizen, one overdue), three filed just now through the web form,
/// twelve FAQs.
pub async fn living(app: &AppState) -> anyhow::Result<Living> {
    let staff = seed_back_office(app).await?;
    let plan = history::Plan {
        requests: LIVING_REQUESTS,
        days: 90,
        seed: rand::random(),
        lively: true,
    };
    let generated = history::generate(app, &plan).await?;
    let fresh = seed(app, 3).await?;
    seed_faqs(app, 12).await?;
    Ok(Living {
        staff,
        requests: generated.requests + fresh.len(),
        tracking: generated.waiting.map(|(_, token)| token),
    })
}

/// Files `count` demo requests and returns them (the tracking tokens are the way in).
pub async fn seed(app: &AppState, count: usize) -> anyhow::Result<Vec<Filed>> {
    let mut filed = Vec::new();
    for index in 0..count {
        let (kind, topic, subject, description) = SAMPLES[index % SAMPLES.len()];
        let (first_name, last_name) = NAMES[index % NAMES.len()];
        let attachments = if index % 3 == 0 {
            vec![crate::files::prepare(
                "foto-segnalazione.png",
                demo_photo(index),
            )?]
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
                email: email_of(first_name, last_name),
                phone: None,
                coordinates: None,
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
            also: None,
        };
        filed.push(
            file_request(app, submission)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?,
        );
    }
    Ok(filed)
}

/// A demo citizen's address (example.org: never a real mailbox).
fn email_of(first_name: &str, last_name: &str) -> String {
    format!(
        "{}.{}@example.org",
        first_name.to_lowercase(),
        last_name.to_lowercase()
    )
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

/// Real questions a Comune's FAQ starts with: (topic, question, answer) in Italian, and English
/// for the first few.
/// (topic, question, answer, the English question and answer if there is one).
type DemoFaq = (
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

const FAQS: &[DemoFaq] = &[
    ("anagrafe", "Come rinnovo la carta d'identità elettronica?", "Prenota un appuntamento all'**Ufficio anagrafe** dal sito del Comune o allo sportello.\n\nPorta con te:\n\n- la carta d'identità scaduta o la denuncia di smarrimento;\n- una fototessera recente;\n- la tessera sanitaria.\n\nIl costo è di 22,21 euro, da pagare con PagoPA.", Some(("How do I renew my electronic identity card?", "Book an appointment at the **Registry office** on the Comune's website or at the counter.\n\nBring:\n\n- the expired card or the police report of its loss;\n- a recent passport photo;\n- your health card."))),
    ("anagrafe", "Come ottengo un certificato di residenza?", "I certificati anagrafici (residenza, stato di famiglia, nascita) si scaricano gratis dall'[Anagrafe nazionale](https://www.anagrafenazionale.interno.it) con SPID o CIE, oppure si chiedono allo sportello dell'anagrafe.", Some(("How do I get a residence certificate?", "Registry certificates (residence, family status, birth) can be downloaded free of charge from the [national registry](https://www.anagrafenazionale.interno.it) with SPID or CIE, or requested at the registry counter."))),
    ("anagrafe", "Come cambio residenza?", "La dichiarazione di cambio di residenza si presenta online con SPID o CIE, oppure allo sportello dell'anagrafe con il modulo firmato e i documenti di tutti i componenti della famiglia. La polizia locale verifica l'indirizzo entro 45 giorni.", None),
    ("tributi", "Quando scade la TARI?", "La TARI si paga in due rate, di solito il **16 luglio** e il **16 dicembre**. Il Comune invia a casa il modello PagoPA già compilato; se non lo ricevi, chiedilo all'Ufficio tributi.", Some(("When is the TARI waste tax due?", "The TARI is paid in two instalments, usually on **16 July** and **16 December**. The Comune sends the PagoPA form home; if you do not receive it, ask the Tax office."))),
    ("tributi", "Come pago l'IMU sulla seconda casa?", "L'IMU si paga con il modello F24 in due rate, entro il 16 giugno e il 16 dicembre. Le aliquote dell'anno sono pubblicate nella sezione Tributi del sito del Comune.", None),
    ("lavori-pubblici", "Come segnalo un lampione spento o una buca?", "Invia una segnalazione da questo portale scegliendo l'argomento **Lavori pubblici e manutenzioni**: indica il luogo esatto e, se puoi, allega una foto. Riceverai un numero di riferimento per seguirla.", Some(("How do I report a broken street light or a pothole?", "Send a request from this portal choosing the topic **Public works and maintenance**: give the exact place and, if you can, attach a photo."))),
    ("ambiente-rifiuti", "Come prenoto il ritiro dei rifiuti ingombranti?", "Il ritiro a domicilio degli ingombranti è gratuito: prenotalo al numero verde del gestore dei rifiuti o portali all'isola ecologica negli orari di apertura.", None),
    ("ambiente-rifiuti", "Dove butto le pile e i farmaci scaduti?", "Pile esauste e farmaci scaduti vanno negli appositi contenitori presso tabaccherie, supermercati e farmacie, oppure all'isola ecologica.", None),
    ("mobilita", "Come chiedo il contrassegno per disabili?", "Il contrassegno di parcheggio per persone con disabilità si chiede alla Polizia locale con il certificato medico dell'ASL, una fototessera e un documento d'identità. È valido in tutta l'Unione europea.", None),
    ("servizi-sociali", "Come chiedo l'assistenza domiciliare per un anziano?", "Prendi appuntamento con l'assistente sociale del tuo quartiere: valuterà la situazione e ti spiegherà i servizi disponibili e i costi in base all'ISEE.", None),
    ("mobilita", "Come ottengo il permesso per la zona a traffico limitato?", "I residenti nella ZTL chiedono il permesso alla Polizia locale con la carta di circolazione del veicolo. Il permesso vale due anni.", None),
    ("tributi", "Posso chiedere il rimborso di un tributo pagato due volte?", "Sì: presenta all'Ufficio tributi la domanda di rimborso con le ricevute dei pagamenti entro cinque anni dal pagamento.", None),
];

/// Words to make many more questions from, for benchmarks: (topic, subjects, actions).
const MORE: &[(&str, &[&str], &[&str])] = &[
    (
        "anagrafe",
        &[
            "certificato di nascita",
            "stato di famiglia",
            "carta d'identità",
            "cambio di indirizzo",
            "iscrizione anagrafica",
            "passaporto",
            "cittadinanza",
            "unione civile",
            "atto di matrimonio",
            "autentica di firma",
        ],
        &[
            "chiedere",
            "rinnovare",
            "ritirare",
            "correggere",
            "prenotare",
        ],
    ),
    (
        "tributi",
        &[
            "TARI",
            "IMU",
            "canone unico",
            "rimborso",
            "accertamento",
            "rateizzazione",
            "esenzione",
            "agevolazione",
            "avviso di pagamento",
            "dichiarazione",
        ],
        &[
            "pagare",
            "contestare",
            "chiedere",
            "calcolare",
            "rateizzare",
        ],
    ),
    (
        "lavori-pubblici",
        &[
            "buca stradale",
            "lampione",
            "marciapiede",
            "segnaletica",
            "fognatura",
            "tombino",
            "albero pericolante",
            "parcheggio",
            "cantiere",
            "ponte",
        ],
        &[
            "segnalare",
            "riparare",
            "controllare",
            "sistemare",
            "verificare",
        ],
    ),
    (
        "ambiente-rifiuti",
        &[
            "raccolta differenziata",
            "rifiuti ingombranti",
            "isola ecologica",
            "compostaggio",
            "abbandono di rifiuti",
            "calendario della raccolta",
            "bidoni",
            "verde pubblico",
            "rumore",
            "inquinamento",
        ],
        &[
            "prenotare",
            "segnalare",
            "ritirare",
            "conoscere",
            "chiedere",
        ],
    ),
    (
        "mobilita",
        &[
            "permesso ZTL",
            "abbonamento autobus",
            "contrassegno disabili",
            "passo carrabile",
            "multa",
            "strisce blu",
            "piste ciclabili",
            "scuolabus",
            "taxi",
            "orari dei bus",
        ],
        &["ottenere", "rinnovare", "pagare", "contestare", "chiedere"],
    ),
    (
        "servizi-sociali",
        &[
            "assistenza domiciliare",
            "contributo affitto",
            "asilo nido",
            "mensa scolastica",
            "centro anziani",
            "bonus famiglia",
            "ISEE",
            "pasti a domicilio",
            "trasporto disabili",
            "sostegno al reddito",
        ],
        &["chiedere", "iscrivere", "pagare", "rinnovare", "ottenere"],
    ),
];

/// Adds `count` published FAQs: the real ones first, then (for benchmarks) generated ones
/// made of each topic's vocabulary.
pub async fn seed_faqs(app: &AppState, count: usize) -> anyhow::Result<usize> {
    use crate::faq::{save, Draft, Text};
    let now = app.clock.now();
    for index in 0..count {
        let draft = match FAQS.get(index) {
            Some((topic, question, answer, english)) => Draft {
                topic_code: topic.to_string(),
                position: index as i32,
                published: true,
                it: Some(Text {
                    question: question.to_string(),
                    answer: answer.to_string(),
                }),
                en: english.map(|(q, a)| Text {
                    question: q.to_string(),
                    answer: a.to_string(),
                }),
                source_request: None,
            },
            None => {
                let (topic, subjects, actions) = MORE[index % MORE.len()];
                let subject = subjects[(index / MORE.len()) % subjects.len()];
                let action = actions[(index / (MORE.len() * subjects.len())) % actions.len()];
                let other = subjects[(index * 7 + 3) % subjects.len()];
                Draft {
                    topic_code: topic.to_string(),
                    position: index as i32,
                    published: true,
                    it: Some(Text {
                        question: format!("Come posso {action} {subject}? (scheda {index})"),
                        answer: format!(
                            "Per {action} {subject} rivolgiti all'ufficio competente con un documento d'identità. \
                             La pratica richiede di solito dieci giorni lavorativi.\n\n\
                             Vedi anche le informazioni su {other} e la modulistica del Comune."
                        ),
                    }),
                    en: None,
                    source_request: None,
                }
            }
        };
        save(
            &app.pool,
            app.organisation_id,
            None,
            &draft,
            Uuid::nil(),
            now,
        )
        .await?;
    }
    Ok(count)
}
