//! A synthetic history for trying and measuring the statistics: `sportello demo --history N`
//! generates N requests received over several years — seasonal (fewer in August and at
//! Christmas, more when local taxes fall due), on working hours, growing a little every year —
//! with realistic kinds, topics, channels and departments, and lives: evaluation, questions to
//! the citizen, forwarding, reminders, taking in charge, answers (some late), redirections,
//! closures and ratings. Every event is decided by the request aggregate itself and written to
//! the event log as intake writes it (sealed personal data, chained hashes, gap-free yearly
//! references), in large batches; nothing is sent by e-mail (the notifications processor skips
//! its actor). The same seed makes the same choices (dates, kinds, topics, lives); identifiers,
//! keys and nonces are random.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use chrono_tz::Europe::Rome;
use cqrs_es::{Aggregate, DomainEvent};
use sportello_domain::{
    decide_after, decide_new, rome_year, Channel, Kind, Language, NewRequest, Outcome, Reference,
    ReminderLevel, Request, RequestCommand, RequestEvent, Sealed,
};
use sportello_projections::personal::{seal_with, PersonalData};
use sqlx::{MySql, QueryBuilder};
use uuid::Uuid;

use super::NAMES;
use crate::directory::{self, ExternalBody};
use crate::event_store::{append, lock_appends, metadata, NewEvent};
use crate::intake::token_hash;
use crate::state::AppState;

/// Requests written per transaction.
const BATCH: usize = 500;

/// A small deterministic generator (SplitMix64): the same seed makes the same choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, weighted: &'a [(T, f64)]) -> &'a T {
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
    fn hours(&mut self, median: f64, spread: f64) -> Duration {
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let hours = median * (spread * normal).exp();
        Duration::minutes((hours.clamp(1.0 / 60.0, 24.0 * 400.0) * 60.0) as i64)
    }
}

const KINDS: [(Kind, f64); 4] = [
    (Kind::Information, 55.0),
    (Kind::Complaint, 30.0),
    (Kind::Suggestion, 10.0),
    (Kind::Praise, 5.0),
];

const CHANNELS: [(Channel, f64); 6] = [
    (Channel::Web, 45.0),
    (Channel::Email, 20.0),
    (Channel::Counter, 15.0),
    (Channel::Phone, 12.0),
    (Channel::Pec, 4.0),
    (Channel::Letter, 4.0),
];

/// Topics with how often citizens write about them and the department that answers.
const TOPICS: [(&str, f64, &str); 12] = [
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

pub struct Generated {
    pub requests: usize,
    pub events: usize,
}

/// Weight of an instant: season, weekday, hour and a growth of about 8% a year.
fn weight(at: DateTime<Utc>, start: DateTime<Utc>) -> f64 {
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

/// Staff the history names: an URP operator and a referent (real ones if there are).
async fn actors(app: &AppState) -> anyhow::Result<(Uuid, Uuid)> {
    let find = |role: &'static str| {
        sqlx::query_scalar::<_, String>(
            "SELECT s.id FROM staff s JOIN staff_roles r ON r.staff_id = s.id WHERE r.role = ? ORDER BY s.created_at LIMIT 1",
        )
        .bind(role)
        .fetch_optional(&app.pool)
    };
    let parse = |id: Option<String>, fallback: u128| {
        id.and_then(|id| Uuid::parse_str(&id).ok())
            .unwrap_or(Uuid::from_u128(fallback))
    };
    Ok((
        parse(find("urp_operator").await?, 0x5eed_0001),
        parse(find("referent").await?, 0x5eed_0002),
    ))
}

/// The departments of `TOPICS` (created when missing) by name, and a body to redirect to.
async fn directory(app: &AppState) -> anyhow::Result<(HashMap<String, Uuid>, Uuid)> {
    let mut departments = HashMap::new();
    for (_, _, name) in TOPICS {
        if name == "URP" || departments.contains_key(name) {
            continue;
        }
        let id = match directory::find_department(&app.pool, app.organisation_id, name).await? {
            Some(department) => department.id,
            None => {
                let email = format!(
                    "{}@example.org",
                    name.to_lowercase().replace([' ', 'à'], "-")
                );
                directory::add_department(&app.pool, app.organisation_id, name, &email, None)
                    .await?
            }
        };
        departments.insert(name.to_string(), id);
    }
    let bodies = directory::external_bodies(&app.pool, app.organisation_id).await?;
    let body = match bodies.into_iter().find(|b| b.active) {
        Some(body) => body.id,
        None => {
            let body = ExternalBody {
                id: Uuid::nil(),
                name: "Azienda sanitaria locale".into(),
                handles: "Sanità".into(),
                address: String::new(),
                phone: String::new(),
                email: String::new(),
                website: "https://www.asl.example.org".into(),
                hours: String::new(),
                active: true,
            };
            directory::add_external_body(&app.pool, app.organisation_id, &body).await?
        }
    };
    Ok((departments, body))
}

/// One request's life, decided by the aggregate; stops at the first step after `now`.
struct Life<'a> {
    events: Vec<RequestEvent>,
    now: DateTime<Utc>,
    seal: &'a dyn Fn(&str) -> Sealed,
}

impl Life<'_> {
    /// Decides `command` at `at`; false when it is in the future or refused.
    fn step(
        &mut self,
        at: DateTime<Utc>,
        command: impl FnOnce(DateTime<Utc>) -> RequestCommand,
    ) -> bool {
        if at > self.now {
            return false;
        }
        match decide_after(&self.events, command(at)) {
            Ok(events) => {
                self.events.extend(events);
                true
            }
            Err(_) => false,
        }
    }

    fn sealed(&self, text: &str) -> Sealed {
        (self.seal)(text)
    }
}

struct Context {
    departments: HashMap<String, Uuid>,
    body: Uuid,
    operator: Uuid,
    referent: Uuid,
    settings: crate::settings::Settings,
}

fn live(
    rng: &mut Rng,
    life: &mut Life,
    received: DateTime<Utc>,
    topic_department: &str,
    ctx: &Context,
) {
    let (operator, referent) = (ctx.operator, ctx.referent);
    let calendar = ctx.settings.calendar;
    let mut t = received + Duration::minutes(1);
    if !life.step(t, |at| RequestCommand::RecordAcknowledgement { at }) {
        return;
    }
    t += rng.hours(3.0, 1.0);
    if !life.step(t, |at| RequestCommand::TakeIntoEvaluation {
        by: operator,
        at,
    }) {
        return;
    }
    let path = rng.unit();
    if path < 0.03 {
        t += rng.hours(18.0, 0.8);
        let message = life.sealed("Per questa richiesta è competente l'Azienda sanitaria locale.");
        life.step(t, |at| RequestCommand::Redirect {
            by: operator,
            at,
            external_body: ctx.body,
            message,
        });
        return;
    }
    if rng.unit() < 0.06 {
        t += rng.hours(20.0, 0.7);
        let message = life.sealed("Può indicarci l'indirizzo preciso?");
        if !life.step(t, |at| RequestCommand::AskForInformation {
            by: operator,
            at,
            message,
        }) {
            return;
        }
        t += rng.hours(40.0, 1.0);
        let message = life.sealed("Via Roma, angolo piazza Garibaldi.");
        if !life.step(t, |at| RequestCommand::RecordCitizenReply {
            at,
            message,
            attachments: vec![],
            calendar,
        }) {
            return;
        }
    }
    let department = ctx.departments.get(topic_department).copied();
    let by_department = department.is_some() && path < 0.45;
    let answerer = if by_department { referent } else { operator };
    if let (true, Some(department)) = (by_department, department) {
        t += rng.hours(8.0, 1.0);
        let forwarded = t;
        if !life.step(t, |at| RequestCommand::Forward {
            by: operator,
            at,
            department,
            note: None,
        }) {
            return;
        }
        let delay = rng.hours(28.0, 1.3);
        let reminded = forwarded + Duration::days(i64::from(ctx.settings.reminder_days));
        // The head hears of it `escalation_days` after the referents' reminder.
        let escalated = reminded + Duration::days(i64::from(ctx.settings.escalation_days));
        if delay > reminded - forwarded
            && !life.step(reminded, |at| RequestCommand::Remind {
                at,
                department,
                level: ReminderLevel::Referents,
            })
        {
            return;
        }
        if delay > escalated - forwarded
            && !life.step(escalated, |at| RequestCommand::Remind {
                at,
                department,
                level: ReminderLevel::Head,
            })
        {
            return;
        }
        t = forwarded + delay;
        if rng.unit() < 0.04 {
            let note = life.sealed("Non è di nostra competenza.");
            if !life.step(t, |at| RequestCommand::HandBack {
                by: referent,
                at,
                department,
                note,
            }) {
                return;
            }
        } else if !life.step(t, |at| RequestCommand::TakeCharge {
            by: referent,
            at,
            department,
        }) {
            return;
        }
        t += rng.hours(96.0, 1.0);
    } else {
        t += rng.hours(50.0, 1.1);
    }
    // Some answers need long work (a survey, another office's opinion): about one in ten is
    // late.
    if rng.unit() < 0.12 {
        t += rng.hours(24.0 * 25.0, 0.5);
    }
    let by = if life
        .events
        .iter()
        .any(|e| matches!(e, RequestEvent::RequestHandedBack { .. }))
    {
        operator
    } else {
        answerer
    };
    let message = life.sealed("Gentile cittadino, ecco la risposta del Comune alla sua richiesta.");
    if !life.step(t, |at| RequestCommand::Answer {
        by,
        at,
        message,
        attachments: vec![],
    }) {
        return;
    }
    if rng.unit() < 0.9 {
        t += rng.hours(16.0, 0.9);
        if !life.step(t, |at| RequestCommand::Close {
            by: operator,
            at,
            outcome: Outcome::Answered,
        }) {
            return;
        }
        if rng.unit() < 0.3 {
            t += rng.hours(30.0, 1.0);
            let stars = *rng.pick(&[(5u8, 35.0), (4, 30.0), (3, 15.0), (2, 10.0), (1, 10.0)]);
            let pool: &[&str] = if stars >= 4 {
                &["clear", "easy", "fast", "helpful"]
            } else {
                &["unclear", "hard", "slow", "unhelpful"]
            };
            let reasons = vec![pool[(rng.next() % pool.len() as u64) as usize].to_string()];
            life.step(t, |at| RequestCommand::Rate {
                at,
                stars,
                reasons,
                comment: None,
            });
        }
    }
}

/// Generates `requests` requests received over the last `years` years, ending an hour ago.
pub async fn generate(
    app: &AppState,
    requests: usize,
    years: u32,
    seed: u64,
) -> anyhow::Result<Generated> {
    let mut rng = Rng(seed);
    let now = app.clock.now() - Duration::hours(1);
    let start = now - Duration::days(365 * i64::from(years.max(1)));
    let span = (now - start).num_seconds();
    let max_weight = weight(start + Duration::days(365 * i64::from(years.max(1))), start) * 1.25;
    let mut received: Vec<DateTime<Utc>> = Vec::with_capacity(requests);
    while received.len() < requests {
        let at = start + Duration::seconds((rng.unit() * span as f64) as i64);
        if rng.unit() * max_weight < weight(at, start) {
            received.push(at);
        }
    }
    received.sort();
    let (departments, body) = directory(app).await?;
    let (operator, referent) = actors(app).await?;
    let ctx = Context {
        departments,
        body,
        operator,
        referent,
        settings: app.settings().await?,
    };
    let topic_weights: Vec<(usize, f64)> =
        TOPICS.iter().enumerate().map(|(i, t)| (i, t.1)).collect();
    let mut counters: HashMap<i32, u32> = HashMap::new();
    let mut total_events = 0;
    for (batch_index, batch) in received.chunks(BATCH).enumerate() {
        // Numbers are taken under the append lock, as intake takes them, so a request filed by a
        // running copy meanwhile never gets a number of the history's (or the other way round).
        let mut tx = app.pool.begin().await?;
        lock_appends(&mut tx).await?;
        let stored: Vec<(i32, i32)> = sqlx::query_as(
            "SELECT year, last_number FROM reference_counters WHERE organisation_id = ? FOR UPDATE",
        )
        .bind(app.organisation_id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        for (year, last) in stored {
            let number = counters.entry(year).or_insert(0);
            *number = (*number).max(last as u32);
        }
        let mut keys: Vec<(Uuid, [u8; 32])> = Vec::with_capacity(batch.len());
        let mut rows: Vec<NewEvent> = Vec::new();
        for (index, at) in batch.iter().enumerate() {
            let n = batch_index * BATCH + index;
            let kind = *rng.pick(&KINDS);
            let channel = *rng.pick(&CHANNELS);
            let topic = TOPICS[*rng.pick(&topic_weights)];
            let (first_name, last_name) = NAMES[n % NAMES.len()];
            let key_id = Uuid::new_v4();
            let mut key = [0u8; 32];
            for chunk in key.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next().to_le_bytes());
            }
            let personal = seal_with(
                &key,
                key_id,
                &PersonalData {
                    first_name: first_name.into(),
                    last_name: last_name.into(),
                    email: format!(
                        "{}.{}@example.org",
                        first_name.to_lowercase(),
                        last_name.to_lowercase()
                    ),
                    phone: None,
                    subject: format!("Richiesta dimostrativa n. {}", n + 1),
                    description:
                        "Testo di esempio di una richiesta generata per provare le statistiche."
                            .into(),
                    place: None,
                    attachment_names: vec![],
                },
            );
            keys.push((key_id, key));
            let year = rome_year(*at);
            let number = counters.entry(year).or_insert(0);
            *number += 1;
            let reference = Reference::new(year, *number)?;
            let events = decide_new(RequestCommand::Receive(Box::new(NewRequest {
                organisation_id: app.organisation_id,
                reference,
                kind,
                topic: topic.0.to_string(),
                channel,
                language: if n.is_multiple_of(9) {
                    Language::En
                } else {
                    Language::It
                },
                tracking_token_hash: token_hash(&format!("demo-{seed}-{n}-{}", rng.next())),
                personal,
                attachments: vec![],
                received_at: *at,
                answer_days: ctx.settings.answer_days_for(kind),
                calendar: ctx.settings.calendar,
                filed_by: Default::default(),
            })))?;
            let seal = move |text: &str| seal_with(&key, key_id, &text);
            let mut life = Life {
                events,
                now,
                seal: &seal,
            };
            live(&mut rng, &mut life, *at, topic.2, &ctx);
            let aggregate_id = Uuid::new_v4().to_string();
            let meta = serde_json::to_value(metadata(
                sportello_projections::notifications::SYNTHETIC_ACTOR,
                channel.code(),
                &aggregate_id,
            ))?;
            for (sequence, event) in life.events.iter().enumerate() {
                rows.push(NewEvent {
                    aggregate_type: Request::TYPE.to_string(),
                    aggregate_id: aggregate_id.clone(),
                    sequence: sequence as i64 + 1,
                    event_type: event.event_type(),
                    event_version: event.event_version(),
                    payload: serde_json::to_value(event)?,
                    metadata: meta.clone(),
                    recorded_at: Some(event.at()),
                });
            }
        }
        total_events += rows.len();
        let mut query: QueryBuilder<MySql> =
            QueryBuilder::new("INSERT INTO data_keys (id, key_bytes) ");
        query.push_values(&keys, |mut row, (id, key)| {
            row.push_bind(id.to_string()).push_bind(&key[..]);
        });
        query.build().execute(&mut *tx).await?;
        append(&mut tx, &rows).await?;
        for (year, last) in &counters {
            sqlx::query(
                "INSERT INTO reference_counters (organisation_id, year, last_number) VALUES (?, ?, ?)
                 ON DUPLICATE KEY UPDATE last_number = GREATEST(last_number, VALUES(last_number))",
            )
            .bind(app.organisation_id.to_string())
            .bind(year)
            .bind(*last as i32)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if batch_index % 20 == 19 {
            tracing::info!(
                requests = (batch_index + 1) * BATCH,
                events = total_events,
                "demo history written"
            );
        }
    }
    app.events_appended.notify_waiters();
    Ok(Generated {
        requests: received.len(),
        events: total_events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_repeats_itself_for_a_seed() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        for _ in 0..100 {
            assert_eq!(a.next(), b.next());
        }
        let mut rng = Rng(1);
        let mut counts = [0usize; 4];
        for _ in 0..10_000 {
            let kind = *rng.pick(&KINDS);
            counts[Kind::ALL.iter().position(|k| *k == kind).unwrap()] += 1;
        }
        assert!((5_200..5_800).contains(&counts[0]), "{counts:?}");
        assert!((300..700).contains(&counts[3]), "{counts:?}");
    }

    #[test]
    fn august_and_sundays_weigh_less() {
        let start: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
        let june: DateTime<Utc> = "2025-06-11T08:00:00Z".parse().unwrap();
        let august: DateTime<Utc> = "2025-08-13T08:00:00Z".parse().unwrap();
        let sunday: DateTime<Utc> = "2025-06-15T08:00:00Z".parse().unwrap();
        assert!(weight(august, start) < weight(june, start) * 0.6);
        assert!(weight(sunday, start) < weight(june, start) * 0.2);
    }

    #[test]
    fn durations_are_spread_around_their_median() {
        let mut rng = Rng(3);
        let mut hours: Vec<i64> = (0..2_001)
            .map(|_| rng.hours(48.0, 1.0).num_hours())
            .collect();
        hours.sort();
        assert!((40..=56).contains(&hours[1_000]), "median {}", hours[1_000]);
        assert!(hours[1_900] > 150, "a long tail");
    }
}
