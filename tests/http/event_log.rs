//! The event store under two writers: the second one is told the request changed.

use chrono::Utc;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateError, EventStore};
use sportello_domain::{Request, RequestCommand, RequestEvent};
use sportello_server::event_store::{self, CommandError, EventLog};

use crate::support::{complaint, TestApp};

#[tokio::test]
async fn a_second_writer_on_the_same_version_is_refused() {
    let app = TestApp::start().await;
    app.file(complaint("Concorrenza")).await;
    let id: String = sqlx::query_scalar("SELECT aggregate_id FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let store: PersistedEventStore<EventLog, Request> =
        PersistedEventStore::new_event_store(EventLog::new(app.pool.clone()));
    let first = store.load_aggregate(&id).await.unwrap();
    let second = store.load_aggregate(&id).await.unwrap();
    let ack = RequestEvent::RequestAcknowledged { at: Utc::now() };
    store
        .commit(vec![ack.clone()], first, Default::default())
        .await
        .unwrap();
    let refused = store.commit(vec![ack], second, Default::default()).await;
    assert!(matches!(refused, Err(AggregateError::AggregateConflict)));
}

#[tokio::test]
async fn commands_through_the_framework_are_decided_by_the_aggregate() {
    let app = TestApp::start().await;
    app.file(complaint("Regole")).await;
    let id: String = sqlx::query_scalar("SELECT aggregate_id FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let metadata = event_store::metadata("system:test", "system", "c-1");
    let ack = RequestCommand::RecordAcknowledgement { at: Utc::now() };
    event_store::execute(&app.app.requests, &id, ack.clone(), metadata.clone())
        .await
        .unwrap();
    let again = event_store::execute(&app.app.requests, &id, ack, metadata).await;
    assert!(matches!(
        again,
        Err(CommandError::Rejected(
            sportello_domain::RequestError::AlreadyAcknowledged
        ))
    ));
    let stored: String =
        sqlx::query_scalar("SELECT CAST(metadata AS CHAR) FROM events WHERE sequence = 2")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["actor"], "system:test");
    assert_eq!(stored["correlation_id"], "c-1");
}

#[tokio::test]
async fn the_first_event_carries_who_filed_it_and_how() {
    let app = TestApp::start().await;
    app.file(complaint("Metadati")).await;
    let (version, metadata): (String, String) =
        sqlx::query_as("SELECT event_version, CAST(metadata AS CHAR) FROM events")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(version, sportello_domain::RECEIVED_VERSION);
    let metadata: serde_json::Value = serde_json::from_str(&metadata).unwrap();
    assert_eq!(metadata["actor"], "citizen");
    assert_eq!(metadata["channel"], "web");
    assert_eq!(metadata["correlation_id"].as_str().unwrap().len(), 36);
}
