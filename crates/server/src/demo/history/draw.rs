//! The generator's draws: a small deterministic random generator, how often each kind, channel
//! and topic comes, what citizens write about each topic, and when they write.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use chrono_tz::Europe::Rome;
use sportello_domain::{Channel, Kind};

/// A small deterministic generator (SplitMix64): the same seed makes the same choices.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn pick<'a, T>(&mut self, weighted: &'a [(T, f64)]) -> &'a T {
        let total: f64 = weighted.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, weight) in weighted {
            if x < *weight {
                return item;
            }
            x -= weight;
        }
        &weighted[weighted.len() - 1].0
    }

    /// A duration whose logarithm is normal: most are near `median`, a few much longer.
    pub(super) fn hours(&mut self, median: f64, spread: f64) -> Duration {
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let hours = median * (spread * normal).exp();
        Duration::minutes((hours.clamp(1.0 / 60.0, 24.0 * 400.0) * 60.0) as i64)
    }
}

pub(super) const KINDS: [(Kind, f64); 4] = [
    (Kind::Information, 55.0),
    (Kind::Complaint, 30.0),
    (Kind::Suggestion, 10.0),
    (Kind::Praise, 5.0),
];

pub(super) const CHANNELS: [(Channel, f64); 6] = [
    (Channel::Web, 45.0),
    (Channel::Email, 20.0),
    (Channel::Counter, 15.0),
    (Channel::Phone, 12.0),
    (Channel::Pec, 4.0),
    (Channel::Letter, 4.0),
];

/// Topics with how often citizens write about them and the department that answers.
pub(super) const TOPICS: [(&str, f64, &str); 12] = [
    ("anagrafe", 16.0, "Anagrafe e stato civile"),
    ("tributi", 15.0, "Tributi"),
    ("lavori-pubblici", 14.0, "Lavori pubblici"),
    ("ambiente-rifiuti", 12.0, "Ambiente"),
    ("mobilita", 8.0, "Polizia locale"),
    ("polizia-locale", 6.0, "Polizia locale"),
    ("servizi-sociali", 7.0, "Servizi sociali"),
    ("scuola", 6.0, "Scuola e cultura"),
    ("cultura-sport", 4.0, "Scuola e cultura"),
    (
        "urbanistica-edilizia",
        5.0,
        "Urbanistica e attività produttive",
    ),
    (
        "attivita-produttive",
        3.0,
        "Urbanistica e attività produttive",
    ),
    ("urp-altro", 4.0, "URP"),
];

/// Relative volume by month: quiet in August and December, busy when local taxes fall due.
const MONTHS: [f64; 12] = [
    1.05, 1.0, 1.1, 1.0, 1.05, 1.2, 1.0, 0.55, 1.1, 1.1, 1.05, 0.8,
];

/// What citizens write about each topic of `TOPICS` (subject, text): varied, as a real desk's.
pub(super) const SUBJECTS: [&[(&str, &str)]; 12] = [
    &[
        ("Rinnovo della carta d'identità", "Vorrei sapere come prenotare il rinnovo della carta d'identità elettronica e quali documenti portare."),
        ("Certificato di residenza", "Mi serve un certificato di residenza per una pratica in banca: posso ottenerlo online?"),
        ("Cambio di indirizzo", "Mi sono trasferito in via Mazzini da un mese e nessuno è ancora passato per l'accertamento."),
    ],
    &[
        ("Scadenza della TARI", "Quando scade la prima rata della TARI di quest'anno e dove trovo il modello di pagamento?"),
        ("Avviso IMU non dovuto", "Ho ricevuto un avviso IMU per un immobile che ho venduto due anni fa."),
        ("Rimborso di un pagamento doppio", "Ho pagato due volte la stessa rata: come chiedo il rimborso?"),
    ],
    &[
        ("Lampione spento in via Roma", "Il lampione davanti al civico 12 di via Roma è spento da due settimane e la sera la strada è buia."),
        ("Buca pericolosa sul marciapiede", "In via Verdi, davanti alla farmacia, c'è una buca in cui è già inciampata una signora."),
        ("Acqua che esce dal tombino", "Dal tombino all'incrocio con via Dante esce acqua da tre giorni."),
    ],
    &[
        ("Rifiuti ingombranti da ritirare", "Come prenoto il ritiro di un divano e di un vecchio frigorifero?"),
        ("Più cestini al parco", "Nel parco comunale servirebbero più cestini vicino ai giochi dei bambini, soprattutto nel fine settimana."),
        ("Cassonetti pieni da giorni", "I cassonetti di piazza Cavour non vengono svuotati da una settimana."),
    ],
    &[
        ("Autobus in ritardo la mattina", "La linea 3 arriva con venti minuti di ritardo quasi ogni mattina alla fermata di piazza Garibaldi."),
        ("Permesso per la zona a traffico limitato", "Sono residente nel centro storico: come rinnovo il permesso ZTL?"),
        ("Segnaletica stradale danneggiata", "Il cartello di stop all'incrocio tra via Po e via Tevere è piegato e non si vede."),
    ],
    &[
        ("Rumore notturno dal locale", "Il locale all'angolo tiene la musica alta fino alle due di notte anche nei giorni feriali."),
        ("Auto abbandonata", "In via Manzoni c'è un'auto senza targa ferma da mesi."),
        ("Multa da contestare", "Ho ricevuto una multa per un'auto che avevo già venduto."),
    ],
    &[
        ("Grazie al servizio di assistenza", "Ringrazio il personale dei servizi sociali per la cortesia e la rapidità con cui ha seguito mia madre."),
        ("Contributo per l'affitto", "Vorrei sapere se posso chiedere il contributo per l'affitto e entro quando."),
        ("Assistenza domiciliare", "Mio padre non è più autosufficiente: come si chiede l'assistenza a domicilio?"),
    ],
    &[
        ("Iscrizione alla mensa scolastica", "Come si iscrive un bambino alla mensa della scuola primaria?"),
        ("Scuolabus in ritardo", "Lo scuolabus della linea nord arriva a scuola dopo l'inizio delle lezioni."),
        ("Riscaldamento spento in aula", "Nella scuola di via Leopardi le aule sono fredde da una settimana."),
    ],
    &[
        ("Orari della biblioteca", "La biblioteca potrebbe restare aperta anche il sabato pomeriggio?"),
        ("Palestra comunale", "Come si prenota la palestra comunale per una squadra di pallavolo?"),
        ("Ringraziamento per la rassegna estiva", "Complimenti per i concerti in piazza di quest'estate."),
    ],
    &[
        ("Stato di una pratica edilizia", "Ho presentato una pratica per una veranda tre mesi fa e non ho notizie."),
        ("Albero caduto nel parco", "Nel parco di via Carducci un albero è caduto sul vialetto."),
    ],
    &[
        ("Apertura di un negozio", "Quali permessi servono per aprire un negozio di alimentari?"),
        ("Dehors del bar", "Come si chiede il permesso per mettere i tavolini all'aperto?"),
    ],
    &[
        ("Orari dello sportello", "Quali sono gli orari di apertura dell'URP il giovedì?"),
        ("Ringraziamento per la cortesia", "Volevo ringraziare l'operatrice dell'URP per la gentilezza e la chiarezza."),
    ],
];

/// Weight of an instant: season, weekday, hour and a growth of about 8% a year.
pub(super) fn weight(at: DateTime<Utc>, start: DateTime<Utc>) -> f64 {
    let local = at.with_timezone(&Rome);
    let season = MONTHS[local.month0() as usize];
    let day = match local.weekday() {
        Weekday::Sat => 0.25,
        Weekday::Sun => 0.1,
        _ => 1.0,
    };
    let hour = match local.hour() {
        8..=12 => 1.0,
        13..=17 => 0.7,
        18..=21 => 0.35,
        _ => 0.05,
    };
    let years = (at - start).num_days() as f64 / 365.0;
    season * day * hour * (1.0 + 0.08 * years)
}
