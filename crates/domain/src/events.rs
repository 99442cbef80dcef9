//! The facts recorded about a request, in the past tense. Never edited: a change of shape gets a
//! new `event_version` and an upcaster (see docs/events.md).

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Channel, Contact, Kind, Language, Outcome, PecReceipt, Reference, ReminderLevel};

/// The version every event is written with today.
pub const EVENT_VERSION: &str = "1.0";

/// `RequestReceived`'s version since it carries the location; the other events are at
/// `EVENT_VERSION`.
pub const RECEIVED_VERSION: &str = "1.1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RequestEvent {
    RequestReceived {
        organisation_id: Uuid,
        reference: Reference,
        kind: Kind,
        topic: String,
        channel: Channel,
        language: Language,
        tracking_token_hash: String,
        personal: Sealed,
        attachments: Vec<Attachment>,
        received_at: DateTime<Utc>,
        answer_due: NaiveDate,
        /// Who filed it and how the citizen is reached. Added without a new event version: older
        /// events were all filed by guests on the web, which is the default.
        #[serde(default, skip_serializing_if = "FiledBy::is_guest")]
        filed_by: FiledBy,
        /// Where the matter is, on a map: latitude and longitude, sealed under the request's key
        /// (a place tied to a citizen is personal data). Version 1.1 of the event added it; a
        /// 1.0 payload reads as `None` (the upcaster in projections' `log`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<Sealed>,
    },
    RequestAcknowledged {
        at: DateTime<Utc>,
    },
    AcknowledgementFailed {
        at: DateTime<Utc>,
        attempts: u32,
        reason: String,
    },
    RequestTakenIntoEvaluation {
        by: Uuid,
        at: DateTime<Utc>,
    },
    InformationRequested {
        by: Uuid,
        at: DateTime<Utc>,
        message: Sealed,
    },
    CitizenReplied {
        at: DateTime<Utc>,
        message: Sealed,
        attachments: Vec<Attachment>,
        /// The answer deadline after the reply: moved on by the days the clock was paused.
        answer_due: NaiveDate,
        /// How the reply came: on the web page of the request, or by e-mail or PEC. Added
        /// without a new event version: older replies all came on the web, the default.
        #[serde(default = "Channel::web")]
        channel: Channel,
    },
    RequestRedirected {
        by: Uuid,
        at: DateTime<Utc>,
        external_body: Uuid,
        message: Sealed,
    },
    RequestForwarded {
        by: Uuid,
        at: DateTime<Utc>,
        department: Uuid,
        note: Option<Sealed>,
    },
    RequestTakenInCharge {
        by: Uuid,
        at: DateTime<Utc>,
        department: Uuid,
    },
    RequestHandedBack {
        by: Uuid,
        at: DateTime<Utc>,
        department: Uuid,
        note: Sealed,
    },
    RequestAnswered {
        by: Uuid,
        at: DateTime<Utc>,
        message: Sealed,
        attachments: Vec<Attachment>,
    },
    InternalNoteAdded {
        by: Uuid,
        at: DateTime<Utc>,
        note: Sealed,
    },
    /// Registered in the Comune's protocollo informatico (by its adapter through the API, or by
    /// hand): the registry's number, date and register. Not personal data.
    RequestProtocolled {
        by: Uuid,
        at: DateTime<Utc>,
        number: String,
        date: NaiveDate,
        register: String,
    },
    RequestClosed {
        by: Uuid,
        at: DateTime<Utc>,
        outcome: Outcome,
    },
    RequestReopened {
        /// `None` when the citizen reopened it.
        by: Option<Uuid>,
        at: DateTime<Utc>,
        reason: Option<Sealed>,
    },
    RequestReminded {
        at: DateTime<Utc>,
        department: Uuid,
        level: ReminderLevel,
    },
    /// A mail about the request did not reach the citizen: a delivery-status notification
    /// (bounce) came back for it. `reason` is the reported status, never the server's text.
    DeliveryFailed {
        at: DateTime<Utc>,
        reason: String,
    },
    /// Staff switched the citizen from e-mail to letters or the telephone (their address did not
    /// work): no more e-mail goes to the citizen about this request.
    ContactSwitched {
        by: Uuid,
        at: DateTime<Utc>,
        to: Contact,
    },
    /// The PEC provider's receipt for a mail sent about the request: the legal proof that it
    /// was accepted and delivered (or why not). `evidence` is the receipt's `daticert.xml`.
    PecReceiptRecorded {
        at: DateTime<Utc>,
        receipt: PecReceipt,
        evidence: Option<Sealed>,
    },
    /// The citizen rated the answer after closure (the Designers Italia rating pattern).
    RequestRated {
        at: DateTime<Utc>,
        /// 1 to 5: how easy and useful it was.
        stars: u8,
        /// Codes of the reasons chosen in the follow-up question.
        reasons: Vec<String>,
        comment: Option<Sealed>,
    },
    /// The request's personal data was erased: its key destroyed, its files deleted. The request
    /// stays, without personal data, so that it is still counted.
    PersonalDataErased {
        at: DateTime<Utc>,
        reason: ErasureReason,
    },
}

/// Who filed a request and how the citizen wants to hear from the Comune.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiledBy {
    /// The citizen's account, when they were signed in or the front office found them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizen: Option<Uuid>,
    /// The front-office operator who entered it on the citizen's behalf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Uuid>,
    /// The operator checked the citizen's identity document at the counter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity_checked: bool,
    /// The citizen gets no e-mail: answers go on paper.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paper_only: bool,
    /// The closed request this one continues: the citizen replied to it by mail after its
    /// reopening period had ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<Reference>,
}

impl FiledBy {
    pub fn is_guest(&self) -> bool {
        *self == FiledBy::default()
    }
}

/// Why personal data was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureReason {
    /// The citizen deleted their account and asked for their data to be erased.
    CitizenRequest,
    /// The retention period for closed requests ran out.
    Retention,
}

impl ErasureReason {
    pub fn code(self) -> &'static str {
        match self {
            ErasureReason::CitizenRequest => "citizen_request",
            ErasureReason::Retention => "retention",
        }
    }
}

impl RequestEvent {
    /// Every event's name, in the catalogue's order (what a webhook endpoint can choose).
    pub const NAMES: [&'static str; 21] = [
        "RequestReceived",
        "RequestAcknowledged",
        "AcknowledgementFailed",
        "RequestTakenIntoEvaluation",
        "InformationRequested",
        "CitizenReplied",
        "DeliveryFailed",
        "ContactSwitched",
        "PecReceiptRecorded",
        "RequestRedirected",
        "RequestForwarded",
        "RequestTakenInCharge",
        "RequestHandedBack",
        "RequestAnswered",
        "InternalNoteAdded",
        "RequestProtocolled",
        "RequestClosed",
        "RequestReopened",
        "RequestReminded",
        "RequestRated",
        "PersonalDataErased",
    ];

    /// The event's name as stored in `events.event_type` (one of `NAMES`).
    pub fn name(&self) -> &'static str {
        match self {
            RequestEvent::RequestReceived { .. } => "RequestReceived",
            RequestEvent::RequestAcknowledged { .. } => "RequestAcknowledged",
            RequestEvent::AcknowledgementFailed { .. } => "AcknowledgementFailed",
            RequestEvent::RequestTakenIntoEvaluation { .. } => "RequestTakenIntoEvaluation",
            RequestEvent::InformationRequested { .. } => "InformationRequested",
            RequestEvent::CitizenReplied { .. } => "CitizenReplied",
            RequestEvent::DeliveryFailed { .. } => "DeliveryFailed",
            RequestEvent::ContactSwitched { .. } => "ContactSwitched",
            RequestEvent::PecReceiptRecorded { .. } => "PecReceiptRecorded",
            RequestEvent::RequestRedirected { .. } => "RequestRedirected",
            RequestEvent::RequestForwarded { .. } => "RequestForwarded",
            RequestEvent::RequestTakenInCharge { .. } => "RequestTakenInCharge",
            RequestEvent::RequestHandedBack { .. } => "RequestHandedBack",
            RequestEvent::RequestAnswered { .. } => "RequestAnswered",
            RequestEvent::InternalNoteAdded { .. } => "InternalNoteAdded",
            RequestEvent::RequestProtocolled { .. } => "RequestProtocolled",
            RequestEvent::RequestClosed { .. } => "RequestClosed",
            RequestEvent::RequestReopened { .. } => "RequestReopened",
            RequestEvent::RequestReminded { .. } => "RequestReminded",
            RequestEvent::RequestRated { .. } => "RequestRated",
            RequestEvent::PersonalDataErased { .. } => "PersonalDataErased",
        }
    }
}

impl RequestEvent {
    /// When it happened, as the command said (the clock of whoever caused it).
    pub fn at(&self) -> DateTime<Utc> {
        use RequestEvent as E;
        match self {
            E::RequestReceived { received_at, .. } => *received_at,
            E::RequestAcknowledged { at }
            | E::AcknowledgementFailed { at, .. }
            | E::RequestTakenIntoEvaluation { at, .. }
            | E::InformationRequested { at, .. }
            | E::CitizenReplied { at, .. }
            | E::DeliveryFailed { at, .. }
            | E::ContactSwitched { at, .. }
            | E::PecReceiptRecorded { at, .. }
            | E::RequestRedirected { at, .. }
            | E::RequestForwarded { at, .. }
            | E::RequestTakenInCharge { at, .. }
            | E::RequestHandedBack { at, .. }
            | E::RequestAnswered { at, .. }
            | E::InternalNoteAdded { at, .. }
            | E::RequestProtocolled { at, .. }
            | E::RequestClosed { at, .. }
            | E::RequestReopened { at, .. }
            | E::RequestReminded { at, .. }
            | E::RequestRated { at, .. }
            | E::PersonalDataErased { at, .. } => *at,
        }
    }
}

impl DomainEvent for RequestEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        match self {
            RequestEvent::RequestReceived { .. } => RECEIVED_VERSION.to_string(),
            _ => EVENT_VERSION.to_string(),
        }
    }
}

/// Personal data sealed with a per-request key (AES-256-GCM, see the server's `personal`
/// module). The domain never opens it; erasing the key erases the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub key_id: Uuid,
    pub nonce: String,
    pub ciphertext: String,
}

/// A file sent with a request or an answer, stored before the event that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub file_id: String,
    pub thumbnail_id: Option<String>,
    pub content_type: String,
    pub size: u64,
    /// The file's name when staff attach it to an answer. A citizen's file names are personal
    /// data and stay sealed with the request instead. Added without a new event version: old
    /// events simply have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The name of a file staff uploaded for one citizen (it may name them): sealed under the
    /// request's key, so an erasure takes it too. Library documents keep `name` in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_name: Option<Sealed>,
}
