//! The back office's state machine: every command from every status, legal or not, and the
//! rules that go with them (departments, reminders, the paused clock, outcomes).

use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::*;

pub(super) const OPERATOR: Uuid = Uuid::from_u128(1);
pub(super) const REFERENT: Uuid = Uuid::from_u128(2);
pub(super) const ROADS: Uuid = Uuid::from_u128(10);
pub(super) const PARKS: Uuid = Uuid::from_u128(11);
pub(super) const REGION: Uuid = Uuid::from_u128(20);

pub(super) fn t(minutes: i64) -> DateTime<Utc> {
    at("2026-03-10T09:00:00Z") + chrono::Duration::minutes(minutes)
}

pub(super) fn received_event() -> RequestEvent {
    received("2026/0000001", t(0), date(2026, 4, 9))
}

/// The events that bring a request to `status`.
pub(super) fn history_to(status: Status) -> Vec<RequestEvent> {
    use RequestEvent as E;
    let mut events = vec![received_event()];
    let evaluating = E::RequestTakenIntoEvaluation {
        by: OPERATOR,
        at: t(1),
    };
    let forwarded = E::RequestForwarded {
        by: OPERATOR,
        at: t(2),
        department: ROADS,
        note: None,
    };
    match status {
        Status::New => return vec![],
        Status::Received => {}
        Status::InEvaluation => events.push(evaluating),
        Status::WaitingForCitizen => {
            events.push(evaluating);
            events.push(E::InformationRequested {
                by: OPERATOR,
                at: t(2),
                message: sealed(),
            });
        }
        Status::Forwarded => events.extend([evaluating, forwarded]),
        Status::TakenInCharge => events.extend([
            evaluating,
            forwarded,
            E::RequestTakenInCharge {
                by: REFERENT,
                at: t(3),
                department: ROADS,
            },
        ]),
        Status::Answered => {
            events.push(evaluating);
            events.push(E::RequestAnswered {
                by: OPERATOR,
                at: t(4),
                message: sealed(),
                attachments: vec![],
            });
        }
        Status::Closed => {
            events.push(evaluating);
            events.push(E::RequestAnswered {
                by: OPERATOR,
                at: t(4),
                message: sealed(),
                attachments: vec![],
            });
            events.push(E::RequestClosed {
                by: OPERATOR,
                at: t(5),
                outcome: Outcome::Answered,
            });
        }
    }
    events
}

/// One command of each kind, and the statuses it is allowed from.
fn commands() -> Vec<(RequestCommand, &'static [Status])> {
    use RequestCommand as C;
    use Status as S;
    vec![
        (
            C::TakeIntoEvaluation {
                by: OPERATOR,
                at: t(10),
            },
            &[S::Received],
        ),
        (
            C::AskForInformation {
                by: OPERATOR,
                at: t(10),
                message: sealed(),
            },
            &[S::Received, S::InEvaluation, S::TakenInCharge],
        ),
        (
            C::RecordCitizenReply {
                at: t(10),
                message: sealed(),
                attachments: vec![],
                calendar: WorkingCalendar::default(),
                channel: Channel::Web,
            },
            &[
                S::Received,
                S::InEvaluation,
                S::WaitingForCitizen,
                S::Forwarded,
                S::TakenInCharge,
                S::Answered,
            ],
        ),
        (
            C::Redirect {
                by: OPERATOR,
                at: t(10),
                external_body: REGION,
                message: sealed(),
            },
            &[S::Received, S::InEvaluation],
        ),
        (
            C::Forward {
                by: OPERATOR,
                at: t(10),
                department: PARKS,
                note: None,
            },
            &[S::Received, S::InEvaluation],
        ),
        (
            C::TakeCharge {
                by: REFERENT,
                at: t(10),
                department: ROADS,
            },
            &[S::Forwarded],
        ),
        (
            C::HandBack {
                by: REFERENT,
                at: t(10),
                department: ROADS,
                note: sealed(),
            },
            &[S::Forwarded, S::TakenInCharge],
        ),
        (
            C::Answer {
                by: OPERATOR,
                at: t(10),
                message: sealed(),
                attachments: vec![],
            },
            &[S::Received, S::InEvaluation, S::TakenInCharge],
        ),
        (
            C::AddNote {
                by: OPERATOR,
                at: t(10),
                note: sealed(),
            },
            &[
                S::Received,
                S::InEvaluation,
                S::WaitingForCitizen,
                S::Forwarded,
                S::TakenInCharge,
                S::Answered,
                S::Closed,
            ],
        ),
        (
            C::Close {
                by: OPERATOR,
                at: t(10),
                outcome: Outcome::Withdrawn,
            },
            &[
                S::Received,
                S::InEvaluation,
                S::WaitingForCitizen,
                S::Forwarded,
                S::TakenInCharge,
                S::Answered,
            ],
        ),
        (
            C::Reopen {
                by: OPERATOR,
                at: t(10),
                reason: None,
            },
            &[S::Closed],
        ),
        (
            C::Remind {
                at: t(10),
                department: ROADS,
                level: ReminderLevel::Referents,
            },
            &[S::Forwarded],
        ),
        (
            C::ReopenByCitizen {
                at: t(10),
                reason: sealed(),
                reopen_days: 30,
            },
            &[S::Closed],
        ),
        (
            C::Rate {
                at: t(10),
                stars: 4,
                reasons: vec![],
                comment: None,
            },
            &[S::Closed],
        ),
        (
            C::RecordErasure {
                at: t(10),
                reason: ErasureReason::CitizenRequest,
            },
            &[
                S::Received,
                S::InEvaluation,
                S::WaitingForCitizen,
                S::Forwarded,
                S::TakenInCharge,
                S::Answered,
                S::Closed,
            ],
        ),
    ]
}

#[test]
fn every_command_is_accepted_exactly_from_its_statuses() {
    for (command, allowed) in commands() {
        for status in Status::ALL {
            let result = RequestTest::with(())
                .given(history_to(status))
                .when(command.clone())
                .inspect_result();
            match (status, allowed.contains(&status)) {
                (Status::New, _) => {
                    assert_eq!(result, Err(RequestError::NotReceived), "{command:?}")
                }
                (_, true) => assert!(result.is_ok(), "{command:?} from {status:?}: {result:?}"),
                (_, false) => assert!(
                    matches!(result, Err(RequestError::NotAllowed { status: s, .. }) if s == status),
                    "{command:?} from {status:?}: {result:?}"
                ),
            }
        }
    }
}

#[test]
fn an_operator_takes_a_request_into_evaluation() {
    RequestTest::with(())
        .given(history_to(Status::Received))
        .when(RequestCommand::TakeIntoEvaluation {
            by: OPERATOR,
            at: t(10),
        })
        .then_expect_events(vec![RequestEvent::RequestTakenIntoEvaluation {
            by: OPERATOR,
            at: t(10),
        }]);
}

#[test]
fn forwarding_then_taking_charge_then_answering_then_closing() {
    use RequestEvent as E;
    let mut events = history_to(Status::InEvaluation);
    let steps = [
        (
            RequestCommand::Forward {
                by: OPERATOR,
                at: t(10),
                department: ROADS,
                note: Some(sealed()),
            },
            E::RequestForwarded {
                by: OPERATOR,
                at: t(10),
                department: ROADS,
                note: Some(sealed()),
            },
        ),
        (
            RequestCommand::TakeCharge {
                by: REFERENT,
                at: t(11),
                department: ROADS,
            },
            E::RequestTakenInCharge {
                by: REFERENT,
                at: t(11),
                department: ROADS,
            },
        ),
        (
            RequestCommand::Answer {
                by: REFERENT,
                at: t(12),
                message: sealed(),
                attachments: vec![],
            },
            E::RequestAnswered {
                by: REFERENT,
                at: t(12),
                message: sealed(),
                attachments: vec![],
            },
        ),
        (
            RequestCommand::Close {
                by: OPERATOR,
                at: t(13),
                outcome: Outcome::Answered,
            },
            E::RequestClosed {
                by: OPERATOR,
                at: t(13),
                outcome: Outcome::Answered,
            },
        ),
    ];
    for (command, expected) in steps {
        RequestTest::with(())
            .given(events.clone())
            .when(command)
            .then_expect_events(vec![expected.clone()]);
        events.push(expected);
    }
}

#[test]
fn only_the_department_it_was_forwarded_to_takes_charge_or_hands_back() {
    RequestTest::with(())
        .given(history_to(Status::Forwarded))
        .when(RequestCommand::TakeCharge {
            by: REFERENT,
            at: t(10),
            department: PARKS,
        })
        .then_expect_error(RequestError::WrongDepartment);
    RequestTest::with(())
        .given(history_to(Status::TakenInCharge))
        .when(RequestCommand::HandBack {
            by: REFERENT,
            at: t(10),
            department: PARKS,
            note: sealed(),
        })
        .then_expect_error(RequestError::WrongDepartment);
}

#[test]
fn a_handed_back_request_returns_to_the_urp_and_can_go_elsewhere() {
    let mut events = history_to(Status::TakenInCharge);
    events.push(RequestEvent::RequestHandedBack {
        by: REFERENT,
        at: t(10),
        department: ROADS,
        note: sealed(),
    });
    RequestTest::with(())
        .given(events)
        .when(RequestCommand::Forward {
            by: OPERATOR,
            at: t(11),
            department: PARKS,
            note: None,
        })
        .then_expect_events(vec![RequestEvent::RequestForwarded {
            by: OPERATOR,
            at: t(11),
            department: PARKS,
            note: None,
        }]);
}

#[test]
fn redirecting_closes_the_request_as_not_competent() {
    RequestTest::with(())
        .given(history_to(Status::InEvaluation))
        .when(RequestCommand::Redirect {
            by: OPERATOR,
            at: t(10),
            external_body: REGION,
            message: sealed(),
        })
        .then_expect_events(vec![
            RequestEvent::RequestRedirected {
                by: OPERATOR,
                at: t(10),
                external_body: REGION,
                message: sealed(),
            },
            RequestEvent::RequestClosed {
                by: OPERATOR,
                at: t(10),
                outcome: Outcome::NotCompetent,
            },
        ]);
}

#[test]
fn outcomes_must_match_what_happened() {
    RequestTest::with(())
        .given(history_to(Status::InEvaluation))
        .when(RequestCommand::Close {
            by: OPERATOR,
            at: t(10),
            outcome: Outcome::Answered,
        })
        .then_expect_error(RequestError::NoAnswerYet);
    RequestTest::with(())
        .given(history_to(Status::InEvaluation))
        .when(RequestCommand::Close {
            by: OPERATOR,
            at: t(10),
            outcome: Outcome::NotCompetent,
        })
        .then_expect_error(RequestError::RedirectToCloseAsNotCompetent);
}

#[test]
fn a_reopened_request_goes_back_to_evaluation() {
    let mut request = Request::default();
    for event in history_to(Status::Closed) {
        request.apply(event);
    }
    request.apply(RequestEvent::RequestReopened {
        by: None,
        at: t(50),
        reason: Some(sealed()),
    });
    assert_eq!(request.status(), Status::InEvaluation);
    assert_eq!(request.department(), None);
}

#[test]
fn statuses_have_stable_codes() {
    for status in Status::ALL {
        assert_eq!(Status::parse(status.code()), Some(status));
    }
    for outcome in Outcome::ALL {
        assert_eq!(Outcome::parse(outcome.code()), Some(outcome));
    }
}
