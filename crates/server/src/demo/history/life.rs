//! One request's life: the steps a real request goes through, each decided by the aggregate at
//! its time, stopping at the first one that would fall after now.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sportello_domain::{
    decide_after, Outcome, ReminderLevel, RequestCommand, RequestEvent, Sealed,
};
use uuid::Uuid;

use super::draw::Rng;

/// How a request's life goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// As chance has it.
    Natural,
    /// The URP asks the citizen something and is still waiting for the answer.
    WaitingForCitizen,
    /// Forwarded to a department that never takes it in charge: reminded, then overdue.
    Stuck,
}

/// One request's life, decided by the aggregate; stops at the first step after `now`.
pub(super) struct Life<'a> {
    pub(super) events: Vec<RequestEvent>,
    pub(super) now: DateTime<Utc>,
    pub(super) seal: &'a dyn Fn(&str) -> Sealed,
}

impl Life<'_> {
    /// Decides `command` at `at`; false when it is in the future or refused.
    fn step(
        &mut self,
        at: DateTime<Utc>,
        command: impl FnOnce(DateTime<Utc>) -> RequestCommand,
    ) -> bool {
        if at > self.now {
            return false;
        }
        match decide_after(&self.events, command(at)) {
            Ok(events) => {
                self.events.extend(events);
                true
            }
            Err(_) => false,
        }
    }

    fn sealed(&self, text: &str) -> Sealed {
        (self.seal)(text)
    }
}

pub(super) struct Context {
    pub(super) departments: HashMap<String, Uuid>,
    pub(super) body: Uuid,
    pub(super) operator: Uuid,
    pub(super) referent: Uuid,
    pub(super) settings: crate::settings::Settings,
}

pub(super) fn live(
    rng: &mut Rng,
    life: &mut Life,
    received: DateTime<Utc>,
    topic_department: &str,
    ctx: &Context,
    fate: Fate,
) {
    let (operator, referent) = (ctx.operator, ctx.referent);
    let calendar = ctx.settings.calendar;
    let mut t = received + Duration::minutes(1);
    if !life.step(t, |at| RequestCommand::RecordAcknowledgement { at }) {
        return;
    }
    // The request waiting for its citizen must get as far as the question, whatever chance says.
    let waits = fate == Fate::WaitingForCitizen;
    t += if waits {
        Duration::hours(1)
    } else {
        rng.hours(3.0, 1.0)
    };
    if !life.step(t, |at| RequestCommand::TakeIntoEvaluation {
        by: operator,
        at,
    }) {
        return;
    }
    // A stuck request goes to its department; no other fate redirects it.
    let path = if fate == Fate::Stuck { 0.1 } else { rng.unit() };
    if path < 0.03 {
        t += rng.hours(18.0, 0.8);
        let message = life.sealed("Per questa richiesta è competente l'Azienda sanitaria locale.");
        life.step(t, |at| RequestCommand::Redirect {
            by: operator,
            at,
            external_body: ctx.body,
            message,
        });
        return;
    }
    if waits || (fate == Fate::Natural && rng.unit() < 0.06) {
        t += if waits {
            Duration::hours(2)
        } else {
            rng.hours(20.0, 0.7)
        };
        let message = life.sealed("Può indicarci l'indirizzo preciso?");
        if !life.step(t, |at| RequestCommand::AskForInformation {
            by: operator,
            at,
            message,
        }) || waits
        {
            return;
        }
        t += rng.hours(40.0, 1.0);
        let message = life.sealed("Via Roma, angolo piazza Garibaldi.");
        if !life.step(t, |at| RequestCommand::RecordCitizenReply {
            at,
            message,
            attachments: vec![],
            calendar,
            channel: sportello_domain::Channel::Web,
        }) {
            return;
        }
    }
    let department = ctx.departments.get(topic_department).copied();
    let by_department = department.is_some() && path < 0.45;
    let answerer = if by_department { referent } else { operator };
    if let (true, Some(department)) = (by_department, department) {
        t += rng.hours(8.0, 1.0);
        let forwarded = t;
        if !life.step(t, |at| RequestCommand::Forward {
            by: operator,
            at,
            department,
            note: None,
        }) {
            return;
        }
        let delay = if fate == Fate::Stuck {
            Duration::days(400)
        } else {
            rng.hours(28.0, 1.3)
        };
        let reminded = forwarded + Duration::days(i64::from(ctx.settings.reminder_days));
        // The head hears of it `escalation_days` after the referents' reminder.
        let escalated = reminded + Duration::days(i64::from(ctx.settings.escalation_days));
        if delay > reminded - forwarded
            && !life.step(reminded, |at| RequestCommand::Remind {
                at,
                department,
                level: ReminderLevel::Referents,
            })
        {
            return;
        }
        if delay > escalated - forwarded
            && !life.step(escalated, |at| RequestCommand::Remind {
                at,
                department,
                level: ReminderLevel::Head,
            })
        {
            return;
        }
        t = forwarded + delay;
        if rng.unit() < 0.04 {
            let note = life.sealed("Non è di nostra competenza.");
            if !life.step(t, |at| RequestCommand::HandBack {
                by: referent,
                at,
                department,
                note,
            }) {
                return;
            }
        } else if !life.step(t, |at| RequestCommand::TakeCharge {
            by: referent,
            at,
            department,
        }) {
            return;
        }
        t += rng.hours(96.0, 1.0);
    } else {
        t += rng.hours(50.0, 1.1);
    }
    // Some answers need long work (a survey, another office's opinion): about one in ten is
    // late.
    if rng.unit() < 0.12 {
        t += rng.hours(24.0 * 25.0, 0.5);
    }
    let by = if life
        .events
        .iter()
        .any(|e| matches!(e, RequestEvent::RequestHandedBack { .. }))
    {
        operator
    } else {
        answerer
    };
    let message = life.sealed("Gentile cittadino, ecco la risposta del Comune alla sua richiesta.");
    if !life.step(t, |at| RequestCommand::Answer {
        by,
        at,
        message,
        attachments: vec![],
    }) {
        return;
    }
    if rng.unit() < 0.9 {
        t += rng.hours(16.0, 0.9);
        if !life.step(t, |at| RequestCommand::Close {
            by: operator,
            at,
            outcome: Outcome::Answered,
        }) {
            return;
        }
        if rng.unit() < 0.3 {
            t += rng.hours(30.0, 1.0);
            let stars = *rng.pick(&[(5u8, 35.0), (4, 30.0), (3, 15.0), (2, 10.0), (1, 10.0)]);
            let pool: &[&str] = if stars >= 4 {
                &["clear", "easy", "fast", "helpful"]
            } else {
                &["unclear", "hard", "slow", "unhelpful"]
            };
            let reasons = vec![pool[(rng.next() % pool.len() as u64) as usize].to_string()];
            life.step(t, |at| RequestCommand::Rate {
                at,
                stars,
                reasons,
                comment: None,
            });
        }
    }
}
