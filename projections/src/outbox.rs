//! The mail Sportello sends, as one enum, and the one function that queues it in the outbox —
//! in the caller's transaction, beside the event or the row that calls for it, so a mail exists
//! exactly when its reason does. The mail worker (in the server) claims the rows and sends them.
//! Each row names what it is about in a column of its own type: a request, a member of staff, a
//! citizen, or a month's report and its audience.

use chrono::{DateTime, Utc};
use sqlx::MySqlConnection;
use uuid::Uuid;

/// What an event of a request calls for (`notifications::notices_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// To the citizen: the URP or the department asks for more.
    InformationRequest,
    /// To the citizen: the answer, with its documents.
    Answer,
    /// To the citizen: the body to turn to.
    Redirect,
    /// To the citizen: closed, with the outcome.
    Closed,
    /// To the citizen: forwarded, taken in charge, reopened.
    Status,
    /// To the department: a request forwarded to it.
    Forwarded,
    /// To the department (and its head on escalation): take it in charge.
    Reminder,
    /// To the URP: a department handed a request back.
    HandedBack,
}

impl Notice {
    pub const ALL: [Notice; 8] = [
        Notice::InformationRequest,
        Notice::Answer,
        Notice::Redirect,
        Notice::Closed,
        Notice::Status,
        Notice::Forwarded,
        Notice::Reminder,
        Notice::HandedBack,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Notice::InformationRequest => "information_request",
            Notice::Answer => "answer",
            Notice::Redirect => "redirect",
            Notice::Closed => "closed",
            Notice::Status => "status",
            Notice::Forwarded => "forwarded",
            Notice::Reminder => "reminder",
            Notice::HandedBack => "handed_back",
        }
    }

    /// Whether it goes to the citizen (rather than to an office).
    pub fn for_citizen(self) -> bool {
        !matches!(
            self,
            Notice::Forwarded | Notice::Reminder | Notice::HandedBack
        )
    }
}

/// Why a citizen's account is sent a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Confirm the address of a registration.
    Verify,
    /// Choose a new password.
    Reset,
    /// Confirm a new address (sent to that address).
    NewEmail,
}

impl LinkPurpose {
    pub const ALL: [LinkPurpose; 3] = [
        LinkPurpose::Verify,
        LinkPurpose::Reset,
        LinkPurpose::NewEmail,
    ];

    pub fn code(self) -> &'static str {
        match self {
            LinkPurpose::Verify => "citizen_verify",
            LinkPurpose::Reset => "citizen_reset",
            LinkPurpose::NewEmail => "citizen_email",
        }
    }
}

/// Who a month's report is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Urp,
    Department(Uuid),
}

impl Audience {
    pub fn code(self) -> String {
        match self {
            Audience::Urp => "urp".into(),
            Audience::Department(id) => id.to_string(),
        }
    }

    pub fn parse(code: &str) -> Option<Audience> {
        match code {
            "urp" => Some(Audience::Urp),
            other => Uuid::parse_str(other).ok().map(Audience::Department),
        }
    }
}

/// A mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mail {
    /// A new request's acknowledgement, with its private link's token (in clear here only until
    /// the mail is dealt with).
    Acknowledgement { request: String, token: String },
    /// What the event at `sequence` of a request calls for.
    Notice {
        request: String,
        notice: Notice,
        sequence: i64,
    },
    /// A new member of staff's invitation to set a password.
    Invitation { staff: Uuid, token: String },
    /// A link for a citizen's account.
    CitizenLink {
        citizen: Uuid,
        purpose: LinkPurpose,
        token: String,
    },
    /// A month's figures (`YYYY-MM`) for the URP or a department.
    MonthlyReport { month: String, audience: Audience },
    /// An administrator is told a webhook endpoint was disabled after failing for a day.
    WebhookDisabled { staff: Uuid, endpoint: Uuid },
}

impl Mail {
    /// The row's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Mail::Acknowledgement { .. } => "acknowledgement",
            Mail::Notice { notice, .. } => notice.code(),
            Mail::Invitation { .. } => "invitation",
            Mail::CitizenLink { purpose, .. } => purpose.code(),
            Mail::MonthlyReport { .. } => "monthly_report",
            Mail::WebhookDisabled { .. } => "webhook_disabled",
        }
    }

    /// Whether it is written to a citizen (rather than to staff or an office).
    pub fn for_citizen(&self) -> bool {
        match self {
            Mail::Acknowledgement { .. } | Mail::CitizenLink { .. } => true,
            Mail::Notice { notice, .. } => notice.for_citizen(),
            Mail::Invitation { .. } | Mail::MonthlyReport { .. } | Mail::WebhookDisabled { .. } => {
                false
            }
        }
    }

    /// The request it is about, if any.
    pub fn request(&self) -> Option<&str> {
        match self {
            Mail::Acknowledgement { request, .. } | Mail::Notice { request, .. } => Some(request),
            _ => None,
        }
    }

    /// A mail as its row holds it; `None` for a row this version cannot read (a kind it does
    /// not know, a column missing), which the worker closes without sending.
    pub fn from_row(row: &Row) -> Option<Mail> {
        let token = || row.token.clone();
        let uuid = |text: &Option<String>| text.as_deref().and_then(|t| Uuid::parse_str(t).ok());
        match row.kind.as_str() {
            "acknowledgement" => Some(Mail::Acknowledgement {
                request: row.request_id.clone()?,
                token: token()?,
            }),
            "invitation" => Some(Mail::Invitation {
                staff: uuid(&row.staff_id)?,
                token: token()?,
            }),
            "webhook_disabled" => Some(Mail::WebhookDisabled {
                staff: uuid(&row.staff_id)?,
                endpoint: uuid(&row.subject_id)?,
            }),
            "monthly_report" => Some(Mail::MonthlyReport {
                month: row.report_month.clone()?,
                audience: Audience::parse(row.report_audience.as_deref()?)?,
            }),
            kind => {
                if let Some(purpose) = LinkPurpose::ALL.into_iter().find(|p| p.code() == kind) {
                    return Some(Mail::CitizenLink {
                        citizen: uuid(&row.citizen_id)?,
                        purpose,
                        // Gone once the account is erased: the worker closes the row.
                        token: token().unwrap_or_default(),
                    });
                }
                let notice = Notice::ALL.into_iter().find(|n| n.code() == kind)?;
                Some(Mail::Notice {
                    request: row.request_id.clone()?,
                    notice,
                    sequence: row.event_sequence?,
                })
            }
        }
    }
}

/// An outbox row's columns, as the worker reads them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub kind: String,
    pub request_id: Option<String>,
    pub staff_id: Option<String>,
    pub citizen_id: Option<String>,
    pub report_month: Option<String>,
    pub report_audience: Option<String>,
    pub subject_id: Option<String>,
    pub event_sequence: Option<i64>,
    #[sqlx(rename = "tracking_token")]
    pub token: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// The columns `Row` reads.
pub const ROW_COLUMNS: &str = "id, kind, request_id, staff_id, citizen_id, report_month, \
     report_audience, subject_id, event_sequence, tracking_token, attempts, created_at";

/// Queues `mail`, due at `at`, in the caller's transaction. A mail an event calls for is
/// queued once (the key on request, kind and event sequence): `false` when it already was.
pub async fn queue(
    conn: &mut MySqlConnection,
    mail: &Mail,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let (mut request, mut staff, mut citizen, mut month, mut audience) =
        (None, None, None, None, None);
    let (mut sequence, mut token, mut subject) = (None, None, None);
    match mail {
        Mail::Acknowledgement {
            request: id,
            token: t,
        } => {
            request = Some(id.clone());
            token = Some(t.clone());
        }
        Mail::Notice {
            request: id,
            sequence: s,
            ..
        } => {
            request = Some(id.clone());
            sequence = Some(*s);
        }
        Mail::Invitation {
            staff: id,
            token: t,
        } => {
            staff = Some(id.to_string());
            token = Some(t.clone());
        }
        Mail::CitizenLink {
            citizen: id,
            token: t,
            ..
        } => {
            citizen = Some(id.to_string());
            token = Some(t.clone());
        }
        Mail::MonthlyReport {
            month: m,
            audience: a,
        } => {
            month = Some(m.clone());
            audience = Some(a.code());
        }
        Mail::WebhookDisabled {
            staff: id,
            endpoint,
        } => {
            staff = Some(id.to_string());
            subject = Some(endpoint.to_string());
        }
    }
    let inserted = sqlx::query(
        "INSERT IGNORE INTO outbox (kind, request_id, staff_id, citizen_id, report_month,
             report_audience, subject_id, event_sequence, tracking_token, next_attempt_at,
             created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(mail.kind())
    .bind(request)
    .bind(staff)
    .bind(citizen)
    .bind(month)
    .bind(audience)
    .bind(subject)
    .bind(sequence)
    .bind(token)
    .bind(at)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str) -> Row {
        Row {
            id: 1,
            kind: kind.into(),
            request_id: Some("r".into()),
            staff_id: Some(Uuid::nil().to_string()),
            citizen_id: Some(Uuid::nil().to_string()),
            report_month: Some("2026-03".into()),
            report_audience: Some("urp".into()),
            subject_id: Some(Uuid::nil().to_string()),
            event_sequence: Some(4),
            token: Some("t".into()),
            attempts: 0,
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn every_kind_reads_back_as_the_mail_it_was() {
        let mails = [
            Mail::Acknowledgement {
                request: "r".into(),
                token: "t".into(),
            },
            Mail::Invitation {
                staff: Uuid::nil(),
                token: "t".into(),
            },
            Mail::MonthlyReport {
                month: "2026-03".into(),
                audience: Audience::Urp,
            },
            Mail::WebhookDisabled {
                staff: Uuid::nil(),
                endpoint: Uuid::nil(),
            },
        ]
        .into_iter()
        .chain(Notice::ALL.into_iter().map(|notice| Mail::Notice {
            request: "r".into(),
            notice,
            sequence: 4,
        }))
        .chain(
            LinkPurpose::ALL
                .into_iter()
                .map(|purpose| Mail::CitizenLink {
                    citizen: Uuid::nil(),
                    purpose,
                    token: "t".into(),
                }),
        );
        for mail in mails {
            assert_eq!(
                Mail::from_row(&row(mail.kind())),
                Some(mail.clone()),
                "{mail:?}"
            );
        }
        assert_eq!(Mail::from_row(&row("carrier_pigeon")), None);
    }
}
