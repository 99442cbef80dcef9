//! The request aggregate: `handle` decides which events a command produces, `apply` folds them.

use chrono::{Days, NaiveDate};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::{rome_date, rome_year, NewRequest, RequestCommand, RequestEvent};

/// Where a request stands, as the citizen reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    New,
    Received,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Received => "received",
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Request {
    status: Status,
    answer_due: Option<NaiveDate>,
    acknowledged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("this request has already been received")]
    AlreadyReceived,
    #[error("there is no such request")]
    NotReceived,
    #[error("the acknowledgement has already been recorded")]
    AlreadyAcknowledged,
    #[error(
        "the reference belongs to {reference_year}, the request was received in {received_year}"
    )]
    ReferenceYearMismatch {
        reference_year: i32,
        received_year: i32,
    },
    #[error("the answer deadline must be between 1 and 365 days")]
    AnswerDaysOutOfRange,
    #[error("the tracking token hash must be 64 hexadecimal characters")]
    MalformedTokenHash,
}

impl Request {
    pub fn status(&self) -> Status {
        self.status
    }

    pub fn is_acknowledged(&self) -> bool {
        self.acknowledged
    }

    pub fn answer_due(&self) -> Option<NaiveDate> {
        self.answer_due
    }

    fn decide(&self, command: RequestCommand) -> Result<Vec<RequestEvent>, RequestError> {
        match command {
            RequestCommand::Receive(new_request) => self.receive(*new_request),
            RequestCommand::RecordAcknowledgement { at } => {
                self.require_received()?;
                if self.acknowledged {
                    return Err(RequestError::AlreadyAcknowledged);
                }
                Ok(vec![RequestEvent::RequestAcknowledged { at }])
            }
            RequestCommand::RecordAcknowledgementFailure {
                at,
                attempts,
                reason,
            } => {
                self.require_received()?;
                if self.acknowledged {
                    return Err(RequestError::AlreadyAcknowledged);
                }
                Ok(vec![RequestEvent::AcknowledgementFailed {
                    at,
                    attempts,
                    reason,
                }])
            }
        }
    }

    fn receive(&self, new: NewRequest) -> Result<Vec<RequestEvent>, RequestError> {
        if self.status != Status::New {
            return Err(RequestError::AlreadyReceived);
        }
        let received_year = rome_year(new.received_at);
        if new.reference.year() != received_year {
            return Err(RequestError::ReferenceYearMismatch {
                reference_year: new.reference.year(),
                received_year,
            });
        }
        if !(1..=365).contains(&new.answer_days) {
            return Err(RequestError::AnswerDaysOutOfRange);
        }
        let hash = &new.tracking_token_hash;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RequestError::MalformedTokenHash);
        }
        let answer_due = rome_date(new.received_at) + Days::new(u64::from(new.answer_days));
        Ok(vec![RequestEvent::RequestReceived {
            organisation_id: new.organisation_id,
            reference: new.reference,
            kind: new.kind,
            topic: new.topic,
            channel: new.channel,
            language: new.language,
            tracking_token_hash: new.tracking_token_hash,
            personal: new.personal,
            attachments: new.attachments,
            received_at: new.received_at,
            answer_due,
        }])
    }

    fn require_received(&self) -> Result<(), RequestError> {
        match self.status {
            Status::New => Err(RequestError::NotReceived),
            _ => Ok(()),
        }
    }
}

impl Aggregate for Request {
    const TYPE: &'static str = "request";
    type Command = RequestCommand;
    type Event = RequestEvent;
    type Error = RequestError;
    type Services = ();

    async fn handle(
        &mut self,
        command: RequestCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), RequestError> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: RequestEvent) {
        match event {
            RequestEvent::RequestReceived { answer_due, .. } => {
                self.status = Status::Received;
                self.answer_due = Some(answer_due);
            }
            RequestEvent::RequestAcknowledged { .. } => self.acknowledged = true,
            RequestEvent::AcknowledgementFailed { .. } => {}
        }
    }
}

/// Decide and fold in one go, for the write path that appends the first event inside its own
/// transaction (the reference counter shares it) and for tests.
pub fn decide_new(command: RequestCommand) -> Result<Vec<RequestEvent>, RequestError> {
    Request::default().decide(command)
}
