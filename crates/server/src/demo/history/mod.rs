//! A synthetic history, for the living demo of a new install (a few hundred requests over the
//! last ninety days) and for measuring the statistics (`sportello demo --history N` over several
//! years): seasonal (fewer in August and at
//! Christmas, more when local taxes fall due), on working hours, growing a little every year —
//! with realistic kinds, topics, channels and departments, and lives: evaluation, questions to
//! the citizen, forwarding, reminders, taking in charge, answers (some late), redirections,
//! closures and ratings. Every event is decided by the request aggregate itself and written to
//! the event log as intake writes it (sealed personal data, chained hashes, gap-free yearly
//! references), in large batches; nothing is sent by e-mail (the notifications processor skips
//! its actor). The same seed makes the same choices (dates, kinds, topics, lives); identifiers,
//! keys, nonces and tracking tokens are random.

mod draw;
mod life;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::{Aggregate, DomainEvent};
use sportello_domain::{
    decide_new, rome_year, Language, NewRequest, Reference, Request, RequestCommand,
};
use sportello_projections::personal::{seal_with, PersonalData};
use sqlx::{MySql, QueryBuilder};
use uuid::Uuid;

use super::NAMES;
use crate::directory::{self, ExternalBody};
use crate::event_store::{append, lock_appends, metadata, NewEvent};
use crate::intake::{new_token, token_hash};
use crate::state::AppState;
use draw::{weight, Rng, CHANNELS, KINDS, SUBJECTS, TOPICS};
pub use life::Fate;
use life::{live, Context, Life};

/// Requests written per transaction.
const BATCH: usize = 500;

pub struct Generated {
    pub requests: usize,
    pub events: usize,
    /// The request left waiting for its citizen (with `Plan::lively`): its reference and
    /// private tracking token, the way in to a living timeline.
    pub waiting: Option<(Reference, String)>,
}

/// What to generate.
pub struct Plan {
    pub requests: usize,
    /// Received over this many days, ending an hour ago.
    pub days: u32,
    pub seed: u64,
    /// Besides chance: one request forwarded fifty days ago that nobody took in charge (reminded
    /// and overdue), and one from two days ago waiting for its citizen's answer.
    pub lively: bool,
}

/// The fate of each of `received` (sorted): natural, but for the lively plan's two.
fn fates(received: &[DateTime<Utc>], now: DateTime<Utc>, lively: bool) -> Vec<Fate> {
    let mut fates = vec![Fate::Natural; received.len()];
    if lively && received.len() > 1 {
        let closest = |at: DateTime<Utc>| {
            (0..received.len())
                .min_by_key(|i| (received[*i] - at).num_seconds().abs())
                .unwrap_or(0)
        };
        let stuck = closest(now - Duration::days(50));
        let mut waiting = closest(now - Duration::days(2));
        if waiting == stuck {
            waiting = received.len() - 1;
        }
        fates[stuck] = Fate::Stuck;
        fates[waiting] = Fate::WaitingForCitizen;
    }
    fates
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

/// Generates the plan's requests.
pub async fn generate(app: &AppState, plan: &Plan) -> anyhow::Result<Generated> {
    let requests = plan.requests;
    let mut rng = Rng(plan.seed);
    let now = app.clock.now() - Duration::hours(1);
    let start = now - Duration::days(i64::from(plan.days.max(1)));
    let span = (now - start).num_seconds();
    let max_weight = weight(now, start) * 1.25;
    let mut received: Vec<DateTime<Utc>> = Vec::with_capacity(requests);
    while received.len() < requests {
        let at = start + Duration::seconds((rng.unit() * span as f64) as i64);
        if rng.unit() * max_weight < weight(at, start) {
            received.push(at);
        }
    }
    received.sort();
    let fates = fates(&received, now, plan.lively);
    let mut waiting = None;
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
            let fate = fates[n];
            let mut topic_index = *rng.pick(&topic_weights);
            if fate == Fate::Stuck {
                topic_index = 2; // lavori-pubblici: a department answers it
            }
            let topic = TOPICS[topic_index];
            let subjects = SUBJECTS[topic_index];
            let (subject, description) = subjects[(rng.next() % subjects.len() as u64) as usize];
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
                    email: super::email_of(first_name, last_name),
                    phone: None,
                    subject: subject.into(),
                    description: description.into(),
                    place: None,
                    attachment_names: vec![],
                },
            );
            keys.push((key_id, key));
            let year = rome_year(*at);
            let number = counters.entry(year).or_insert(0);
            *number += 1;
            let reference = Reference::new(year, *number)?;
            let token = new_token();
            if fate == Fate::WaitingForCitizen {
                waiting = Some((reference, token.clone()));
            }
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
                tracking_token_hash: token_hash(&token),
                personal,
                attachments: vec![],
                received_at: *at,
                answer_days: ctx.settings.answer_days_for(kind),
                calendar: ctx.settings.calendar,
                location: None,
                filed_by: Default::default(),
            })))?;
            let seal = move |text: &str| seal_with(&key, key_id, &text);
            let mut life = Life {
                events,
                now,
                seal: &seal,
            };
            live(&mut rng, &mut life, *at, topic.2, &ctx, fate);
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
        waiting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_domain::Kind;

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
