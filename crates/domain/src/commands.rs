//! What people and processors ask of a request.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::{
    Attachment, Capacity, Channel, Contact, ErasureReason, FiledBy, Kind, Language, Outcome,
    PecReceipt, Reference, ReminderLevel, RequestEvent, Sealed, WorkingCalendar,
};

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
    /// An URP operator starts assessing the request.
    TakeIntoEvaluation { by: Uuid, at: DateTime<Utc> },
    /// The citizen is asked for more information; the answer clock pauses until they reply.
    AskForInformation {
        by: Uuid,
        at: DateTime<Utc>,
        message: Sealed,
    },
    /// The citizen replies or adds information (from the tracking page or their area).
    RecordCitizenReply {
        at: DateTime<Utc>,
        message: Sealed,
        attachments: Vec<Attachment>,
        calendar: WorkingCalendar,
        /// The web page, or e-mail or PEC when the citizen answered a mail by "Reply".
        channel: Channel,
    },
    /// Staff stop writing to the citizen by e-mail (their address does not work): from now on
    /// by letter or by telephone.
    SwitchContact {
        by: Uuid,
        at: DateTime<Utc>,
        to: Contact,
    },
    /// A bounce came back for a mail about the request.
    RecordDeliveryFailure { at: DateTime<Utc>, reason: String },
    /// The PEC provider's receipt for a mail about the request.
    RecordPecReceipt {
        at: DateTime<Utc>,
        receipt: PecReceipt,
        evidence: Option<Sealed>,
    },
    /// The matter is not the Comune's: the citizen is told whom to contact, and the request closes.
    Redirect {
        by: Uuid,
        at: DateTime<Utc>,
        external_body: Uuid,
        message: Sealed,
    },
    /// The request goes to the department that must answer.
    Forward {
        by: Uuid,
        at: DateTime<Utc>,
        department: Uuid,
        note: Option<Sealed>,
    },
    /// A referent of the department takes charge (presa in carico).
    TakeCharge {
        by: Uuid,
        at: DateTime<Utc>,
        department: Uuid,
    },
    /// A referent gives the request back to the URP: not their department's.
    HandBack {
        by: Uuid,
        at: DateTime<Utc>,
        department: Uuid,
        note: Sealed,
    },
    /// The answer goes to the citizen.
    Answer {
        by: Uuid,
        at: DateTime<Utc>,
        message: Sealed,
        attachments: Vec<Attachment>,
    },
    /// A note for staff only.
    /// The protocollo informatico registered the request (once).
    RecordProtocol {
        by: Uuid,
        at: DateTime<Utc>,
        number: String,
        date: chrono::NaiveDate,
        register: String,
    },
    AddNote {
        by: Uuid,
        at: DateTime<Utc>,
        note: Sealed,
    },
    /// The request is closed with an outcome.
    Close {
        by: Uuid,
        at: DateTime<Utc>,
        outcome: Outcome,
    },
    /// Staff open a closed request again.
    Reopen {
        by: Uuid,
        at: DateTime<Utc>,
        reason: Option<Sealed>,
    },
    /// The citizen opens a closed request again, within `reopen_days` of its closure.
    ReopenByCitizen {
        at: DateTime<Utc>,
        reason: Sealed,
        reopen_days: u32,
    },
    /// The citizen rates the answer of a closed request (once per closure).
    Rate {
        at: DateTime<Utc>,
        stars: u8,
        reasons: Vec<String>,
        comment: Option<Sealed>,
    },
    /// The request's key has been destroyed and its files deleted: record it.
    RecordErasure {
        at: DateTime<Utc>,
        reason: ErasureReason,
    },
    /// The scheduler reminds a department that has not taken charge.
    Remind {
        at: DateTime<Utc>,
        department: Uuid,
        level: ReminderLevel,
    },
    /// A member of staff acts in a capacity: an action the capacity does not allow now
    /// (`Request::allowed_actions`) is refused before `command` is decided.
    AsStaff {
        capacity: Capacity,
        command: Box<RequestCommand>,
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
    /// The Comune's working days: a deadline on a holiday moves to the next working day.
    pub calendar: WorkingCalendar,
    pub filed_by: FiledBy,
    /// Latitude and longitude, sealed under the request's key; `None` when not given.
    pub location: Option<Sealed>,
}

impl NewRequest {
    /// The event that records this request as received, to be answered by `answer_due`.
    pub fn received(self, answer_due: NaiveDate) -> RequestEvent {
        RequestEvent::RequestReceived {
            organisation_id: self.organisation_id,
            reference: self.reference,
            kind: self.kind,
            topic: self.topic,
            channel: self.channel,
            language: self.language,
            tracking_token_hash: self.tracking_token_hash,
            personal: self.personal,
            attachments: self.attachments,
            received_at: self.received_at,
            answer_due,
            filed_by: self.filed_by,
            location: self.location,
        }
    }
}
