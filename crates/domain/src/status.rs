//! Where a request stands (`Status`), and the one rule that moves it on (`Standing::after`), which
//! the aggregate applies and the read models keep.

use serde::{Deserialize, Serialize};

use crate::RequestEvent;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    New,
    /// Ricevuta: waiting for the URP.
    Received,
    /// In valutazione.
    InEvaluation,
    /// In attesa di integrazioni: the answer clock is paused.
    WaitingForCitizen,
    /// Assegnata to a department, not yet taken in charge.
    Forwarded,
    /// Presa in carico by the department.
    TakenInCharge,
    /// Risposta inviata.
    Answered,
    /// Chiusa, with an outcome.
    Closed,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::New,
        Status::Received,
        Status::InEvaluation,
        Status::WaitingForCitizen,
        Status::Forwarded,
        Status::TakenInCharge,
        Status::Answered,
        Status::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Received => "received",
            Status::InEvaluation => "in_evaluation",
            Status::WaitingForCitizen => "waiting_for_citizen",
            Status::Forwarded => "forwarded",
            Status::TakenInCharge => "taken_in_charge",
            Status::Answered => "answered",
            Status::Closed => "closed",
        }
    }

    pub fn parse(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.code() == code)
    }

    /// Whether the Comune owes an answer now: the legal clock runs (not answered, not closed, not
    /// paused while the citizen is asked for more). Only such a request can be overdue.
    pub fn awaits_answer(self) -> bool {
        matches!(
            self,
            Status::Received | Status::InEvaluation | Status::Forwarded | Status::TakenInCharge
        )
    }

    /// Whether the URP still has it on its desk (received or being assessed).
    pub(crate) fn is_with_urp(self) -> bool {
        matches!(self, Status::Received | Status::InEvaluation)
    }
}

/// Where a request stands, and where the citizen's reply takes it back while it waits for
/// them: the part of the aggregate's state the read models keep (as `status` and
/// `status_before_wait`), moved on by the one rule the aggregate applies too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Standing {
    pub status: Status,
    pub resume_to: Option<Status>,
}

impl Standing {
    /// Whether `after` can answer anything but the standing it was given for this event — and
    /// so whether the event can change a request's status or department (the events that
    /// change the department all change the status). Read models skip the work for the others.
    /// No wildcard: a new event is placed here and in `after` together.
    pub fn may_change(event: &RequestEvent) -> bool {
        use RequestEvent as E;
        match event {
            E::RequestAcknowledged { .. }
            | E::AcknowledgementFailed { .. }
            | E::DeliveryFailed { .. }
            | E::ContactSwitched { .. }
            | E::PecReceiptRecorded { .. }
            | E::InternalNoteAdded { .. }
            | E::RequestProtocolled { .. }
            | E::RequestRedirected { .. }
            | E::RequestReminded { .. }
            | E::RequestRated { .. }
            | E::PersonalDataErased { .. } => false,
            E::RequestReceived { .. }
            | E::RequestTakenIntoEvaluation { .. }
            | E::InformationRequested { .. }
            | E::CitizenReplied { .. }
            | E::RequestForwarded { .. }
            | E::RequestTakenInCharge { .. }
            | E::RequestHandedBack { .. }
            | E::RequestAnswered { .. }
            | E::RequestClosed { .. }
            | E::RequestReopened { .. } => true,
        }
    }

    /// The standing after `event`.
    pub fn after(self, event: &RequestEvent) -> Standing {
        use RequestEvent as E;
        let status = |status| Standing {
            status,
            resume_to: None,
        };
        match event {
            E::RequestReceived { .. } => status(Status::Received),
            E::RequestTakenIntoEvaluation { .. }
            | E::RequestHandedBack { .. }
            | E::RequestReopened { .. } => status(Status::InEvaluation),
            E::InformationRequested { .. } => Standing {
                status: Status::WaitingForCitizen,
                resume_to: Some(if self.status == Status::TakenInCharge {
                    Status::TakenInCharge
                } else {
                    Status::InEvaluation
                }),
            },
            E::CitizenReplied { .. } if self.status == Status::WaitingForCitizen => {
                status(self.resume_to.unwrap_or(Status::InEvaluation))
            }
            E::RequestForwarded { .. } => status(Status::Forwarded),
            E::RequestTakenInCharge { .. } => status(Status::TakenInCharge),
            E::RequestAnswered { .. } => status(Status::Answered),
            E::RequestClosed { .. } => status(Status::Closed),
            E::CitizenReplied { .. }
            | E::RequestAcknowledged { .. }
            | E::AcknowledgementFailed { .. }
            | E::DeliveryFailed { .. }
            | E::ContactSwitched { .. }
            | E::PecReceiptRecorded { .. }
            | E::InternalNoteAdded { .. }
            | E::RequestProtocolled { .. }
            | E::RequestRedirected { .. }
            | E::RequestReminded { .. }
            | E::RequestRated { .. }
            | E::PersonalDataErased { .. } => self,
        }
    }

    /// As a read model stores it: the status's code and the status a reply returns to.
    pub fn parse(status: &str, resume_to: Option<&str>) -> Standing {
        Standing {
            status: Status::parse(status).unwrap_or_default(),
            resume_to: resume_to.and_then(Status::parse),
        }
    }
}
