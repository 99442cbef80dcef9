//! Given/when/then specifications of the request aggregate, one per rule.

mod actions;
mod citizen;
mod mail;
mod receive;
mod waiting_and_reminders;
mod workflow;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use crate::*;

pub type RequestTest = TestFramework<Request>;

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn sealed() -> Sealed {
    Sealed {
        key_id: Uuid::nil(),
        nonce: "bm9uY2U".into(),
        ciphertext: "c2VhbGVk".into(),
    }
}

pub fn new_request(reference: &str, received_at: DateTime<Utc>) -> NewRequest {
    NewRequest {
        organisation_id: Uuid::nil(),
        reference: reference.parse().unwrap(),
        kind: Kind::Complaint,
        topic: "lavori-pubblici".into(),
        channel: Channel::Web,
        language: Language::It,
        tracking_token_hash: "ab".repeat(32),
        personal: sealed(),
        attachments: vec![Attachment {
            file_id: "f".repeat(64),
            thumbnail_id: None,
            content_type: "application/pdf".into(),
            size: 10,
            name: None,
            sealed_name: None,
        }],
        received_at,
        answer_days: 30,
        calendar: WorkingCalendar::default(),
        filed_by: FiledBy::default(),
        location: None,
    }
}

pub fn received(
    reference: &str,
    received_at: DateTime<Utc>,
    answer_due: NaiveDate,
) -> RequestEvent {
    new_request(reference, received_at).received(answer_due)
}

/// The citizen's reply at `at`, by `channel`, with no files, on the default calendar.
pub fn reply(at: DateTime<Utc>, channel: Channel) -> RequestCommand {
    RequestCommand::RecordCitizenReply {
        at,
        message: sealed(),
        attachments: vec![],
        calendar: WorkingCalendar::default(),
        channel,
    }
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
