//! What people and processors ask of a request.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Attachment, Channel, Kind, Language, Reference, Sealed};

#[derive(Debug, Clone, PartialEq)]
pub enum RequestCommand {
    /// A citizen (or an operator on their behalf) files a request.
    Receive(Box<NewRequest>),
    /// The acknowledgement e-mail was accepted by the mail server.
    RecordAcknowledgement { at: DateTime<Utc> },
    /// The acknowledgement could not be delivered after every retry.
    RecordAcknowledgementFailure {
        at: DateTime<Utc>,
        attempts: u32,
        reason: String,
    },
}

/// Everything a new request is made of, already parsed and validated at the edge; the reference
/// has been allocated in the transaction that will append the event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub organisation_id: Uuid,
    pub reference: Reference,
    pub kind: Kind,
    pub topic: String,
    pub channel: Channel,
    pub language: Language,
    pub tracking_token_hash: String,
    pub personal: Sealed,
    pub attachments: Vec<Attachment>,
    pub received_at: DateTime<Utc>,
    /// Days the Comune has to answer (Legge 241/1990: 30 unless configured otherwise).
    pub answer_days: u32,
}
