//! The event store: the request aggregate's command side (`Requests`), mysql-es for reading a
//! request's events back into it, and the one append path (`append`) every writer of events
//! uses: this repository, intake's filing and the history generator.

mod append;
pub mod chain;
pub mod checkpoint;
pub mod log_chain;
mod read;
mod within;

pub use append::{append, chain_unchained, lock_appends, NewEvent};
pub use read::{fold, history, recorded, Recorded};
pub use within::decide_in;

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
use sqlx::MySqlPool;

/// The request aggregate's command side: load the request from its events, let it decide,
/// append what it decided at the next sequence. cqrs-es's store does the loading and the
/// committing; the expected version is ours (cqrs-es's framework has none).
pub struct Requests {
    store: PersistedEventStore<EventLog, Request>,
}

/// The request aggregate's command side.
pub fn requests(pool: MySqlPool) -> Requests {
    Requests {
        // Old shapes read as today's: RequestReceived 1.0 had no location.
        store: PersistedEventStore::new_event_store(EventLog::new(pool)).with_upcasters(vec![
            Box::new(cqrs_es::persist::SemanticVersionEventUpcaster::new(
                "RequestReceived",
                sportello_domain::RECEIVED_VERSION,
                Box::new(sportello_projections::received_1_0_to_1_1),
            )),
        ]),
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

    /// Appends the events. Requests are never snapshotted (their histories are short): the
    /// store is built without snapshots, and a snapshot handed in is refused, never dropped.
    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        if snapshot_update.is_some() {
            return Err(PersistenceError::UnknownError(
                "this event store keeps no snapshots".into(),
            ));
        }
        let events: Vec<NewEvent> = events.iter().map(NewEvent::from).collect();
        sportello_projections::retry("event append", || async {
            let mut tx = self.pool.begin().await?;
            append(&mut tx, &events).await?;
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
