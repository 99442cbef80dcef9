//! The request aggregate: `handle` decides which events a command produces, `apply` folds them.
//! The state machine of a request lives here and nowhere else.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    rome_date, rome_year, Action, NewRequest, Outcome, ReminderLevel, RequestCommand, RequestEvent,
    Standing, Status, WorkingCalendar,
};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Request {
    standing: Standing,
    answer_due: Option<NaiveDate>,
    acknowledged: bool,
    /// The department it is forwarded to, while forwarded or taken in charge.
    department: Option<Uuid>,
    /// Reminders sent for the current forwarding.
    reminded: Vec<ReminderLevel>,
    /// While waiting for the citizen: since when.
    paused_since: Option<DateTime<Utc>>,
    /// When it was last closed, and whether the citizen rated that closure.
    closed_at: Option<DateTime<Utc>>,
    rated: bool,
    /// The personal data is gone: nobody can write to the citizen or hear from them any more.
    erased: bool,
    /// Registered in the protocollo informatico.
    protocolled: bool,
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
    #[error("a request that is {status:?} cannot be {action}")]
    NotAllowed {
        status: Status,
        action: &'static str,
    },
    #[error("the request is not with that department")]
    WrongDepartment,
    #[error("this reminder has already been sent")]
    AlreadyReminded,
    #[error("the head of department is reminded only after the referents")]
    EscalationBeforeReminder,
    #[error("the outcome \"answered\" needs an answer first")]
    NoAnswerYet,
    #[error("a request is closed as not competent by redirecting it")]
    RedirectToCloseAsNotCompetent,
    #[error("a protocol registration needs its number and its register")]
    ProtocolIncomplete,
    #[error("the period for reopening this request has ended")]
    ReopeningPeriodOver,
    #[error("this closure has already been rated")]
    AlreadyRated,
    #[error("a rating is from 1 to 5 stars")]
    StarsOutOfRange,
    #[error("the personal data of this request has been erased")]
    Erased,
    #[error("a request that is {status:?} cannot be acted on with {action:?} in that capacity")]
    ActionNotAllowed { status: Status, action: Action },
    #[error("only a staff action is taken in a staff capacity")]
    NotAStaffAction,
}

impl Request {
    pub fn status(&self) -> Status {
        self.standing.status
    }

    pub fn is_acknowledged(&self) -> bool {
        self.acknowledged
    }

    pub fn answer_due(&self) -> Option<NaiveDate> {
        self.answer_due
    }

    pub fn department(&self) -> Option<Uuid> {
        self.department
    }

    /// Whether the protocollo informatico registered it.
    pub fn is_protocolled(&self) -> bool {
        self.protocolled
    }

    fn decide(&self, command: RequestCommand) -> Result<Vec<RequestEvent>, RequestError> {
        use RequestCommand as C;
        use RequestEvent as E;
        if !matches!(command, C::Receive(_)) && self.status() == Status::New {
            return Err(RequestError::NotReceived);
        }
        let refuse = |action| {
            Err(RequestError::NotAllowed {
                status: self.status(),
                action,
            })
        };
        match command {
            C::AsStaff { capacity, command } => {
                let action = match command.action() {
                    Some(action) if !matches!(*command, C::AsStaff { .. }) => action,
                    _ => return Err(RequestError::NotAStaffAction),
                };
                if !self.allowed_actions(&capacity).contains(&action) {
                    return Err(RequestError::ActionNotAllowed {
                        status: self.status(),
                        action,
                    });
                }
                self.decide(*command)
            }
            C::Receive(new_request) => self.receive(*new_request),
            C::RecordAcknowledgement { at } => {
                if self.acknowledged {
                    return Err(RequestError::AlreadyAcknowledged);
                }
                Ok(vec![E::RequestAcknowledged { at }])
            }
            C::RecordAcknowledgementFailure {
                at,
                attempts,
                reason,
            } => {
                if self.acknowledged {
                    return Err(RequestError::AlreadyAcknowledged);
                }
                Ok(vec![E::AcknowledgementFailed {
                    at,
                    attempts,
                    reason,
                }])
            }
            C::TakeIntoEvaluation { by, at } => match self.status() {
                Status::Received => Ok(vec![E::RequestTakenIntoEvaluation { by, at }]),
                _ => refuse("taken into evaluation"),
            },
            C::AskForInformation { by, at, message } => match self.status() {
                s if s.is_with_urp() || s == Status::TakenInCharge => {
                    Ok(vec![E::InformationRequested { by, at, message }])
                }
                _ => refuse("asked for more information"),
            },
            C::RecordCitizenReply {
                at,
                message,
                attachments,
                calendar,
                channel,
            } => {
                self.refuse_if_erased()?;
                if self.status() == Status::Closed {
                    return refuse("replied to");
                }
                let answer_due = self.answer_due_after_reply(at, &calendar);
                Ok(vec![E::CitizenReplied {
                    at,
                    message,
                    attachments,
                    answer_due,
                    channel,
                }])
            }
            C::RecordDeliveryFailure { at, reason } => Ok(vec![E::DeliveryFailed { at, reason }]),
            C::SwitchContact { by, at, to } => match self.status() {
                Status::Closed => refuse("switched to letters or the telephone"),
                _ => Ok(vec![E::ContactSwitched { by, at, to }]),
            },
            C::RecordPecReceipt {
                at,
                receipt,
                evidence,
            } => Ok(vec![E::PecReceiptRecorded {
                at,
                receipt,
                evidence,
            }]),
            C::Redirect {
                by,
                at,
                external_body,
                message,
            } => match self.status() {
                s if s.is_with_urp() => Ok(vec![
                    E::RequestRedirected {
                        by,
                        at,
                        external_body,
                        message,
                    },
                    E::RequestClosed {
                        by,
                        at,
                        outcome: Outcome::NotCompetent,
                    },
                ]),
                _ => refuse("redirected"),
            },
            C::Forward {
                by,
                at,
                department,
                note,
            } => match self.status() {
                s if s.is_with_urp() => Ok(vec![E::RequestForwarded {
                    by,
                    at,
                    department,
                    note,
                }]),
                _ => refuse("forwarded"),
            },
            C::TakeCharge { by, at, department } => match self.status() {
                Status::Forwarded if self.department == Some(department) => {
                    Ok(vec![E::RequestTakenInCharge { by, at, department }])
                }
                Status::Forwarded => Err(RequestError::WrongDepartment),
                _ => refuse("taken in charge"),
            },
            C::HandBack {
                by,
                at,
                department,
                note,
            } => match self.status() {
                Status::Forwarded | Status::TakenInCharge
                    if self.department == Some(department) =>
                {
                    Ok(vec![E::RequestHandedBack {
                        by,
                        at,
                        department,
                        note,
                    }])
                }
                Status::Forwarded | Status::TakenInCharge => Err(RequestError::WrongDepartment),
                _ => refuse("handed back"),
            },
            C::Answer {
                by,
                at,
                message,
                attachments,
            } => match self.status() {
                s if s.is_with_urp() || s == Status::TakenInCharge => {
                    Ok(vec![E::RequestAnswered {
                        by,
                        at,
                        message,
                        attachments,
                    }])
                }
                _ => refuse("answered"),
            },
            C::AddNote { by, at, note } => Ok(vec![E::InternalNoteAdded { by, at, note }]),
            C::RecordProtocol {
                by,
                at,
                number,
                date,
                register,
            } => {
                if self.protocolled {
                    return refuse("protocolled");
                }
                if number.trim().is_empty() || register.trim().is_empty() {
                    return Err(RequestError::ProtocolIncomplete);
                }
                Ok(vec![E::RequestProtocolled {
                    by,
                    at,
                    number,
                    date,
                    register,
                }])
            }
            C::Close { by, at, outcome } => {
                if self.status() == Status::Closed {
                    return refuse("closed");
                }
                if outcome == Outcome::NotCompetent {
                    return Err(RequestError::RedirectToCloseAsNotCompetent);
                }
                if outcome == Outcome::Answered && self.status() != Status::Answered {
                    return Err(RequestError::NoAnswerYet);
                }
                Ok(vec![E::RequestClosed { by, at, outcome }])
            }
            C::Reopen { by, at, reason } => match self.status() {
                Status::Closed => Ok(vec![E::RequestReopened {
                    by: Some(by),
                    at,
                    reason,
                }]),
                _ => refuse("reopened"),
            },
            C::ReopenByCitizen {
                at,
                reason,
                reopen_days,
            } => {
                self.refuse_if_erased()?;
                match (self.status(), self.closed_at) {
                    (Status::Closed, Some(closed_at))
                        if at <= closed_at + chrono::Duration::days(i64::from(reopen_days)) =>
                    {
                        Ok(vec![E::RequestReopened {
                            by: None,
                            at,
                            reason: Some(reason),
                        }])
                    }
                    (Status::Closed, _) => Err(RequestError::ReopeningPeriodOver),
                    _ => refuse("reopened"),
                }
            }
            C::Rate {
                at,
                stars,
                reasons,
                comment,
            } => {
                self.refuse_if_erased()?;
                if self.status() != Status::Closed {
                    return refuse("rated");
                }
                if self.rated {
                    return Err(RequestError::AlreadyRated);
                }
                if !(1..=5).contains(&stars) {
                    return Err(RequestError::StarsOutOfRange);
                }
                Ok(vec![E::RequestRated {
                    at,
                    stars,
                    reasons,
                    comment,
                }])
            }
            C::RecordErasure { at, reason } => {
                self.refuse_if_erased()?;
                Ok(vec![E::PersonalDataErased { at, reason }])
            }
            C::Remind {
                at,
                department,
                level,
            } => {
                if self.status() != Status::Forwarded {
                    return refuse("reminded");
                }
                if self.department != Some(department) {
                    return Err(RequestError::WrongDepartment);
                }
                if self.reminded.contains(&level) {
                    return Err(RequestError::AlreadyReminded);
                }
                if level == ReminderLevel::Head
                    && !self.reminded.contains(&ReminderLevel::Referents)
                {
                    return Err(RequestError::EscalationBeforeReminder);
                }
                Ok(vec![E::RequestReminded {
                    at,
                    department,
                    level,
                }])
            }
        }
    }

    fn refuse_if_erased(&self) -> Result<(), RequestError> {
        if self.erased {
            Err(RequestError::Erased)
        } else {
            Ok(())
        }
    }

    fn receive(&self, new: NewRequest) -> Result<Vec<RequestEvent>, RequestError> {
        if self.status() != Status::New {
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
        let answer_due = new
            .calendar
            .deadline(rome_date(new.received_at), new.answer_days);
        Ok(vec![new.received(answer_due)])
    }

    /// The deadline after a reply: unchanged unless the clock was paused, in which case it moves
    /// on by the calendar days the request waited for the citizen (then to a working day).
    fn answer_due_after_reply(&self, at: DateTime<Utc>, calendar: &WorkingCalendar) -> NaiveDate {
        let due = self.answer_due.unwrap_or_else(|| rome_date(at));
        match (self.status(), self.paused_since) {
            (Status::WaitingForCitizen, Some(since)) => {
                let paused = (rome_date(at) - rome_date(since)).num_days().max(0) as u32;
                calendar.deadline(due, paused)
            }
            _ => due,
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
        use RequestEvent as E;
        self.standing = self.standing.after(&event);
        match event {
            E::RequestReceived { answer_due, .. } => self.answer_due = Some(answer_due),
            E::RequestAcknowledged { .. } => self.acknowledged = true,
            E::InformationRequested { at, .. } => self.paused_since = Some(at),
            E::CitizenReplied { answer_due, .. } => {
                self.answer_due = Some(answer_due);
                if self.standing.status != Status::WaitingForCitizen {
                    self.paused_since = None;
                }
            }
            E::RequestForwarded { department, .. } => {
                self.department = Some(department);
                self.reminded.clear();
            }
            E::RequestHandedBack { .. } | E::RequestReopened { .. } => {
                self.department = None;
                self.reminded.clear();
            }
            E::RequestClosed { at, .. } => {
                self.closed_at = Some(at);
                self.rated = false;
                self.paused_since = None;
            }
            E::RequestReminded { level, .. } => self.reminded.push(level),
            E::RequestRated { .. } => self.rated = true,
            E::PersonalDataErased { .. } => self.erased = true,
            E::RequestProtocolled { .. } => self.protocolled = true,
            E::AcknowledgementFailed { .. }
            | E::DeliveryFailed { .. }
            | E::ContactSwitched { .. }
            | E::PecReceiptRecorded { .. }
            | E::InternalNoteAdded { .. }
            | E::RequestRedirected { .. }
            | E::RequestTakenIntoEvaluation { .. }
            | E::RequestTakenInCharge { .. }
            | E::RequestAnswered { .. } => {}
        }
    }
}

/// Decide on a request that does not exist yet, for the write path that appends the first
/// event inside its own transaction (the reference counter shares it) and for tests.
pub fn decide_new(command: RequestCommand) -> Result<Vec<RequestEvent>, RequestError> {
    Request::default().decide(command)
}

/// Decide on a request from its past events, for a write path that appends in its own
/// transaction (the front office's receipt acknowledges a request in the one that files it).
pub fn decide_after(
    history: &[RequestEvent],
    command: RequestCommand,
) -> Result<Vec<RequestEvent>, RequestError> {
    let mut request = Request::default();
    for event in history {
        request.apply(event.clone());
    }
    request.decide(command)
}
