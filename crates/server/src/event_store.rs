//! The event store: mysql-es reads the events, and our own append takes the append lock first so
//! that commits happen in `global_position` order (see projections' `log`). The same append is
//! used by intake, whose transaction also allocates the reference.

use std::collections::HashMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{
    PersistedEventRepository, PersistedEventStore, PersistenceError, ReplayStream, SerializedEvent,
    SerializedSnapshot,
};
use cqrs_es::{Aggregate, AggregateContext, AggregateError, EventStore};
use mysql_es::MysqlEventRepository;
use serde_json::Value;
use sportello_domain::{Request, RequestCommand, RequestError};
use sqlx::{MySqlConnection, MySqlPool};

/// The request aggregate's command side: load the request from its events, let it decide,
/// append what it decided at the next sequence. cqrs-es's store does the loading and the
/// committing; the expected version is ours (cqrs-es's framework has none).
pub struct Requests {
    store: PersistedEventStore<EventLog, Request>,
}

/// The request aggregate's command side.
pub fn requests(pool: MySqlPool) -> Requests {
    Requests {
        store: PersistedEventStore::new_event_store(EventLog::new(pool)),
    }
}

impl Requests {
    /// Runs `command` on the request as it is now.
    pub async fn execute(
        &self,
        aggregate_id: &str,
        command: RequestCommand,
        metadata: HashMap<String, String>,
    ) -> Result<(), CommandError> {
        self.decide_and_append(aggregate_id, None, command, metadata)
            .await
    }

    /// Runs `command` only on the version the person saw (how many events the request had):
    /// a request that changed since is a conflict, decided before anything else, and the
    /// events are appended at `seen + 1`, where the events' key refuses a second writer.
    pub async fn execute_seen(
        &self,
        aggregate_id: &str,
        seen: usize,
        command: RequestCommand,
        metadata: HashMap<String, String>,
    ) -> Result<(), CommandError> {
        self.decide_and_append(aggregate_id, Some(seen), command, metadata)
            .await
    }

    async fn decide_and_append(
        &self,
        aggregate_id: &str,
        seen: Option<usize>,
        command: RequestCommand,
        metadata: HashMap<String, String>,
    ) -> Result<(), CommandError> {
        let mut context = self
            .store
            .load_aggregate(aggregate_id)
            .await
            .map_err(command_error)?;
        if seen.is_some_and(|seen| seen != context.current_sequence) {
            return Err(CommandError::Conflict);
        }
        let sink: EventSink<Request> = Default::default();
        context
            .aggregate()
            .handle(command, &(), &sink)
            .await
            .map_err(CommandError::Rejected)?;
        let events = sink.collect().await;
        self.store
            .commit(events, context, metadata)
            .await
            .map_err(command_error)?;
        Ok(())
    }
}

fn command_error(error: AggregateError<RequestError>) -> CommandError {
    match error {
        AggregateError::UserError(rejected) => CommandError::Rejected(rejected),
        AggregateError::AggregateConflict => CommandError::Conflict,
        other => CommandError::Store(other.to_string()),
    }
}

pub struct EventLog {
    reads: MysqlEventRepository,
    pool: MySqlPool,
}

impl EventLog {
    pub fn new(pool: MySqlPool) -> EventLog {
        EventLog {
            reads: MysqlEventRepository::new(pool.clone()),
            pool,
        }
    }
}

/// Takes the append lock for the rest of the transaction.
pub async fn lock_appends(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT id FROM event_append_lock WHERE id = 1 FOR UPDATE")
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts serialized events; the caller holds the append lock and owns the transaction.
pub async fn insert_events(
    conn: &mut MySqlConnection,
    events: &[SerializedEvent],
) -> Result<(), sqlx::Error> {
    // Each event's hash chains it to the one before it of the same aggregate (see `chain`).
    let mut chained: HashMap<(String, i64), String> = HashMap::new();
    for event in events {
        let sequence = event.sequence as i64;
        let previous = match chained.get(&(event.aggregate_id.clone(), sequence - 1)) {
            Some(hash) => hash.clone(),
            None => {
                crate::chain::previous(conn, &event.aggregate_type, &event.aggregate_id, sequence)
                    .await?
            }
        };
        let chain_hash = crate::chain::hash(
            &previous,
            &event.aggregate_id,
            sequence,
            &event.event_type,
            &event.event_version,
            &event.payload,
            &event.metadata,
        );
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                 payload, metadata, chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&event.aggregate_type)
        .bind(&event.aggregate_id)
        .bind(sequence)
        .bind(&event.event_type)
        .bind(&event.event_version)
        .bind(&event.payload)
        .bind(&event.metadata)
        .bind(&chain_hash)
        .execute(&mut *conn)
        .await?;
        chained.insert((event.aggregate_id.clone(), sequence), chain_hash);
    }
    Ok(())
}

/// A duplicate (aggregate, sequence) means another writer got there first.
fn persistence_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23000") => {
            PersistenceError::OptimisticLockError
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        _ => PersistenceError::UnknownError(Box::new(error)),
    }
}

impl PersistedEventRepository for EventLog {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.reads.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        _snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        sportello_projections::retry("event append", || async {
            let mut tx = self.pool.begin().await?;
            lock_appends(&mut tx).await?;
            insert_events(&mut tx, events).await?;
            tx.commit().await
        })
        .await
        .map_err(persistence_error)
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_all_events::<A>().await
    }
}

/// Who or what caused an event, carried in its metadata.
pub fn metadata(actor: &str, channel: &str, correlation_id: &str) -> HashMap<String, String> {
    HashMap::from([
        ("actor".to_string(), actor.to_string()),
        ("channel".to_string(), channel.to_string()),
        ("correlation_id".to_string(), correlation_id.to_string()),
    ])
}

/// What executing a command can end in, beyond success.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Rejected(RequestError),
    #[error("the request changed meanwhile")]
    Conflict,
    #[error("event store: {0}")]
    Store(String),
}

pub async fn execute(
    requests: &Requests,
    aggregate_id: &str,
    command: RequestCommand,
    metadata: HashMap<String, String>,
) -> Result<(), CommandError> {
    requests.execute(aggregate_id, command, metadata).await
}

/// Every event of one request, oldest first, decoded (for processors that need the facts).
pub async fn history(
    pool: &MySqlPool,
    aggregate_id: &str,
) -> anyhow::Result<Vec<sportello_domain::RequestEvent>> {
    let rows: Vec<(String, String, Value)> = sqlx::query_as(
        "SELECT event_type, event_version, payload FROM events
          WHERE aggregate_type = 'request' AND aggregate_id = ? ORDER BY sequence",
    )
    .bind(aggregate_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(event_type, version, payload)| {
            Ok(sportello_projections::decode(
                &event_type,
                &version,
                payload,
            )?)
        })
        .collect()
}

/// One stored event of a request with who caused it and when it was recorded (the audit view).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub sequence: i64,
    pub event: sportello_domain::RequestEvent,
    pub metadata: HashMap<String, String>,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

/// Every event of one request with its metadata, oldest first.
pub async fn recorded(pool: &MySqlPool, aggregate_id: &str) -> anyhow::Result<Vec<Recorded>> {
    let rows: Vec<(
        i64,
        String,
        String,
        Value,
        Value,
        chrono::DateTime<chrono::Utc>,
    )> = sqlx::query_as(
        "SELECT sequence, event_type, event_version, payload, metadata, recorded_at FROM events
          WHERE aggregate_type = 'request' AND aggregate_id = ? ORDER BY sequence",
    )
    .bind(aggregate_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(
            |(sequence, event_type, version, payload, metadata, recorded_at)| {
                Ok(Recorded {
                    sequence,
                    event: sportello_projections::decode(&event_type, &version, payload)?,
                    metadata: serde_json::from_value(metadata)?,
                    recorded_at,
                })
            },
        )
        .collect()
}

/// The request as its events make it now (for access checks and actions: never stale).
pub fn fold(events: &[Recorded]) -> Request {
    use cqrs_es::Aggregate;
    let mut request = Request::default();
    for recorded in events {
        request.apply(recorded.event.clone());
    }
    request
}
