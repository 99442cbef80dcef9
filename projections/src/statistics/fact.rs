//! What the statistics keep about one request, folded from its events. Pure: the live projection
//! and the bulk rebuild run the same fold, so they cannot disagree.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use sportello_domain::{rome_date, RequestEvent};

/// A request's dimensions and milestones (no personal data).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Fact {
    pub aggregate_id: String,
    pub organisation_id: String,
    pub kind: String,
    pub topic_code: String,
    pub channel: String,
    pub department_id: String,
    pub received_at: DateTime<Utc>,
    pub received_on: NaiveDate,
    pub answer_due: NaiveDate,
    pub first_response_on: Option<NaiveDate>,
    pub first_response_minutes: Option<i32>,
    pub answered_on: Option<NaiveDate>,
    pub answer_minutes: Option<i32>,
    pub answered_in_time: Option<bool>,
    pub closed_on: Option<NaiveDate>,
    pub redirected_on: Option<NaiveDate>,
    pub reminders: i32,
    pub pending_forward_at: Option<DateTime<Utc>>,
    pub rated_on: Option<NaiveDate>,
    pub stars: Option<i8>,
    pub reasons: String,
}

/// What is counted on a day beside the requests' milestones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Reminder,
    Redirection,
    Forwarding,
    Reopening,
    Handback,
}

/// What an event adds beside the request's own row.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A department took the request in charge `minutes` after it was forwarded.
    TakeCharge {
        department_id: String,
        taken_on: NaiveDate,
        minutes: i32,
    },
    /// Something to count on a day: a reminder, a redirection, a forwarding, a reopening.
    Activity {
        day: NaiveDate,
        activity: Activity,
        department_id: String,
    },
}

fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i32 {
    (to - from).num_minutes().clamp(0, i32::MAX as i64) as i32
}

impl Fact {
    /// The fact a request starts as, from its first event.
    pub fn received(aggregate_id: &str, event: &RequestEvent) -> Option<Fact> {
        let RequestEvent::RequestReceived {
            organisation_id,
            kind,
            topic,
            channel,
            received_at,
            answer_due,
            ..
        } = event
        else {
            return None;
        };
        Some(Fact {
            aggregate_id: aggregate_id.to_string(),
            organisation_id: organisation_id.to_string(),
            kind: kind.code().to_string(),
            topic_code: topic.clone(),
            channel: channel.code().to_string(),
            department_id: String::new(),
            // As the database keeps it (microseconds), so that a fact read back folds alike.
            received_at: received_at.trunc_subsecs(6),
            received_on: rome_date(*received_at),
            answer_due: *answer_due,
            first_response_on: None,
            first_response_minutes: None,
            answered_on: None,
            answer_minutes: None,
            answered_in_time: None,
            closed_on: None,
            redirected_on: None,
            reminders: 0,
            pending_forward_at: None,
            rated_on: None,
            stars: None,
            reasons: String::new(),
        })
    }

    /// Folds one later event into the fact; returns what it adds beside the row.
    pub fn apply(&mut self, event: &RequestEvent) -> Vec<Effect> {
        use RequestEvent as E;
        let mut effects = Vec::new();
        match event {
            E::InformationRequested { at, .. } => self.responded(*at),
            E::CitizenReplied { answer_due, .. } => self.answer_due = *answer_due,
            E::RequestRedirected { at, .. } => {
                self.responded(*at);
                self.redirected_on = Some(rome_date(*at));
                effects.push(self.activity(*at, Activity::Redirection));
            }
            E::RequestForwarded { at, department, .. } => {
                self.department_id = department.to_string();
                self.pending_forward_at = Some(at.trunc_subsecs(6));
                effects.push(self.activity(*at, Activity::Forwarding));
            }
            E::RequestTakenInCharge { at, department, .. } => {
                if let Some(forwarded_at) = self.pending_forward_at.take() {
                    effects.push(Effect::TakeCharge {
                        department_id: department.to_string(),
                        taken_on: rome_date(*at),
                        minutes: minutes_between(forwarded_at, *at),
                    });
                }
            }
            E::RequestHandedBack { at, .. } => {
                effects.push(self.activity(*at, Activity::Handback));
                self.department_id.clear();
                self.pending_forward_at = None;
            }
            E::RequestAnswered { at, .. } => {
                self.responded(*at);
                if self.answered_on.is_none() {
                    let day = rome_date(*at);
                    self.answered_on = Some(day);
                    self.answer_minutes = Some(minutes_between(self.received_at, *at));
                    self.answered_in_time = Some(day <= self.answer_due);
                }
            }
            E::RequestClosed { at, .. } => self.closed_on = Some(rome_date(*at)),
            E::RequestReopened { at, .. } => {
                self.closed_on = None;
                effects.push(self.activity(*at, Activity::Reopening));
            }
            E::RequestReminded { at, department, .. } => {
                self.reminders += 1;
                effects.push(Effect::Activity {
                    day: rome_date(*at),
                    activity: Activity::Reminder,
                    department_id: department.to_string(),
                });
            }
            E::RequestRated {
                at, stars, reasons, ..
            } => {
                self.rated_on = Some(rome_date(*at));
                self.stars = Some(*stars as i8);
                self.reasons = reasons.join(",");
                self.reasons.truncate(255);
            }
            E::RequestReceived { .. }
            | E::RequestAcknowledged { .. }
            | E::AcknowledgementFailed { .. }
            | E::DeliveryFailed { .. }
            | E::ContactSwitched { .. }
            | E::PecReceiptRecorded { .. }
            | E::RequestTakenIntoEvaluation { .. }
            | E::InternalNoteAdded { .. }
            | E::RequestProtocolled { .. }
            | E::PersonalDataErased { .. } => {}
        }
        effects
    }

    /// The first time the office wrote to the citizen (a question, an answer or a redirection).
    fn responded(&mut self, at: DateTime<Utc>) {
        if self.first_response_on.is_none() {
            self.first_response_on = Some(rome_date(at));
            self.first_response_minutes = Some(minutes_between(self.received_at, at));
        }
    }

    fn activity(&self, at: DateTime<Utc>, activity: Activity) -> Effect {
        Effect::Activity {
            day: rome_date(at),
            activity,
            department_id: self.department_id.clone(),
        }
    }
}

/// The event types that cannot change the statistics (the bulk rebuild does not even read them).
pub const IGNORED: [&str; 9] = [
    "RequestAcknowledged",
    "AcknowledgementFailed",
    "DeliveryFailed",
    "ContactSwitched",
    "PecReceiptRecorded",
    "RequestTakenIntoEvaluation",
    "InternalNoteAdded",
    "RequestProtocolled",
    "PersonalDataErased",
];

/// Whether an event can change the statistics (those of `IGNORED` cannot).
pub fn matters(event: &RequestEvent) -> bool {
    use RequestEvent as E;
    !matches!(
        event,
        E::RequestAcknowledged { .. }
            | E::AcknowledgementFailed { .. }
            | E::DeliveryFailed { .. }
            | E::ContactSwitched { .. }
            | E::PecReceiptRecorded { .. }
            | E::RequestTakenIntoEvaluation { .. }
            | E::InternalNoteAdded { .. }
            | E::RequestProtocolled { .. }
            | E::PersonalDataErased { .. }
    )
}
