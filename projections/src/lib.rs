//! Read models and the durable processors that build them from the event log. Each projection
//! keeps a checkpoint (the last global position it applied) in the same transaction as its
//! tables, so a crash loses nothing and a rebuild from the events gives the same rows.

pub mod citizen_status;
mod log;
pub mod notifications;
pub mod outbox;
pub mod personal;
mod processor;
pub mod queue;
pub mod retry;
pub mod sql;
pub mod standing;
pub mod statistics;
pub mod webhooks;
pub mod words;

pub use log::{decode, received_1_0_to_1_1, StoredEvent};
pub(crate) use processor::projection;
pub use processor::{catch_up, checkpoint, is_behind, rebuild, Projection, ProjectionError};
pub use retry::{retry, Transient};

/// Every processor the server runs: the read models and the notifications.
pub fn processors() -> Vec<Box<dyn Projection>> {
    let mut processors = all();
    processors.push(Box::new(notifications::Notifications));
    processors.push(Box::new(webhooks::Webhooks));
    processors
}

/// Every read model, by name, for the CLI's rebuild and the server's processors.
pub fn all() -> Vec<Box<dyn Projection>> {
    vec![
        Box::new(citizen_status::CitizenStatus),
        Box::new(queue::Queue),
        Box::new(statistics::Statistics),
    ]
}

/// The projection with this name, if there is one.
pub fn named(name: &str) -> Option<Box<dyn Projection>> {
    all()
        .into_iter()
        .find(|projection| projection.name() == name)
}
