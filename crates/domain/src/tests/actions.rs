//! What the back office offers and what the aggregate accepts are the same set: every status ×
//! every staff action × every capacity.

use uuid::Uuid;

use super::*;

const DEPARTMENT: Uuid = Uuid::from_u128(0xd);
const OTHER_DEPARTMENT: Uuid = Uuid::from_u128(0xe);

fn by() -> Uuid {
    Uuid::from_u128(1)
}

/// Histories that lead to every status (Answered twice: by the URP, and by a department, which
/// stays the request's department).
fn histories() -> Vec<(&'static str, Vec<RequestEvent>)> {
    let t = at("2026-03-10T09:00:00Z");
    let received = received("2026/0000001", t, date(2026, 4, 9));
    let forwarded = RequestEvent::RequestForwarded {
        by: by(),
        at: t,
        department: DEPARTMENT,
        note: None,
    };
    let taken = RequestEvent::RequestTakenInCharge {
        by: by(),
        at: t,
        department: DEPARTMENT,
    };
    let answered = RequestEvent::RequestAnswered {
        by: by(),
        at: t,
        message: sealed(),
        attachments: vec![],
    };
    let closed = RequestEvent::RequestClosed {
        by: by(),
        at: t,
        outcome: Outcome::Answered,
    };
    vec![
        ("received", vec![received.clone()]),
        (
            "in evaluation",
            vec![
                received.clone(),
                RequestEvent::RequestTakenIntoEvaluation { by: by(), at: t },
            ],
        ),
        (
            "waiting for the citizen",
            vec![
                received.clone(),
                RequestEvent::InformationRequested {
                    by: by(),
                    at: t,
                    message: sealed(),
                },
            ],
        ),
        ("forwarded", vec![received.clone(), forwarded.clone()]),
        (
            "taken in charge",
            vec![received.clone(), forwarded.clone(), taken.clone()],
        ),
        (
            "answered by the URP",
            vec![received.clone(), answered.clone()],
        ),
        (
            "answered by the department",
            vec![received.clone(), forwarded, taken, answered.clone()],
        ),
        ("closed", vec![received, answered, closed]),
    ]
}

fn capacities() -> Vec<(&'static str, Capacity)> {
    vec![
        ("nobody", Capacity::default()),
        ("URP", Capacity::urp()),
        ("referent here", Capacity::referent_of(DEPARTMENT)),
        (
            "referent elsewhere",
            Capacity::referent_of(OTHER_DEPARTMENT),
        ),
        (
            "URP and referent here",
            Capacity {
                urp: true,
                departments: vec![DEPARTMENT],
            },
        ),
    ]
}

/// A well-formed command for `action` on a request in `status` (what the page's form sends).
fn command(action: Action, status: Status) -> RequestCommand {
    let t = at("2026-03-12T09:00:00Z");
    match action {
        Action::TakeIntoEvaluation => RequestCommand::TakeIntoEvaluation { by: by(), at: t },
        Action::AskForInformation => RequestCommand::AskForInformation {
            by: by(),
            at: t,
            message: sealed(),
        },
        Action::Answer => RequestCommand::Answer {
            by: by(),
            at: t,
            message: sealed(),
            attachments: vec![],
        },
        Action::Forward => RequestCommand::Forward {
            by: by(),
            at: t,
            department: OTHER_DEPARTMENT,
            note: None,
        },
        Action::Redirect => RequestCommand::Redirect {
            by: by(),
            at: t,
            external_body: Uuid::from_u128(0xb),
            message: sealed(),
        },
        Action::TakeCharge => RequestCommand::TakeCharge {
            by: by(),
            at: t,
            department: DEPARTMENT,
        },
        Action::HandBack => RequestCommand::HandBack {
            by: by(),
            at: t,
            department: DEPARTMENT,
            note: sealed(),
        },
        Action::Close => RequestCommand::Close {
            by: by(),
            at: t,
            outcome: if status == Status::Answered {
                Outcome::Answered
            } else {
                Outcome::Withdrawn
            },
        },
        Action::Reopen => RequestCommand::Reopen {
            by: by(),
            at: t,
            reason: None,
        },
        Action::SwitchContact => RequestCommand::SwitchContact {
            by: by(),
            at: t,
            to: Contact::Paper,
        },
        Action::AddNote => RequestCommand::AddNote {
            by: by(),
            at: t,
            note: sealed(),
        },
        Action::RecordProtocol => RequestCommand::RecordProtocol {
            by: by(),
            at: t,
            number: "12345".into(),
            date: date(2026, 3, 10),
            register: "Protocollo generale".into(),
        },
    }
}

#[test]
fn what_is_offered_is_exactly_what_is_accepted_for_every_status_action_and_capacity() {
    let mut statuses_seen = std::collections::HashSet::new();
    for (history_name, history) in histories() {
        let mut request = Request::default();
        for event in &history {
            cqrs_es::Aggregate::apply(&mut request, event.clone());
        }
        statuses_seen.insert(request.status());
        for (capacity_name, capacity) in capacities() {
            let offered = request.allowed_actions(&capacity);
            for action in Action::ALL {
                let accepted = decide_after(
                    &history,
                    RequestCommand::AsStaff {
                        capacity: capacity.clone(),
                        command: Box::new(command(action, request.status())),
                    },
                );
                assert_eq!(
                    offered.contains(&action),
                    accepted.is_ok(),
                    "{history_name}, {capacity_name}, {action:?}: offered {offered:?}, decided {accepted:?}"
                );
            }
        }
    }
    let every_status: std::collections::HashSet<Status> =
        Status::ALL[1..].iter().copied().collect();
    assert_eq!(statuses_seen, every_status, "every status is walked");
}

#[test]
fn a_staff_capacity_wraps_only_staff_actions() {
    let history = vec![received(
        "2026/0000001",
        at("2026-03-10T09:00:00Z"),
        date(2026, 4, 9),
    )];
    let acknowledge = RequestCommand::RecordAcknowledgement {
        at: at("2026-03-10T09:00:00Z"),
    };
    assert_eq!(
        decide_after(
            &history,
            RequestCommand::AsStaff {
                capacity: Capacity::urp(),
                command: Box::new(acknowledge),
            }
        ),
        Err(RequestError::NotAStaffAction)
    );
}

#[test]
fn an_event_said_not_to_change_the_standing_never_does() {
    let mut checked = 0;
    for (history_name, history) in histories() {
        let standing = history
            .iter()
            .fold(Standing::default(), |standing, event| standing.after(event));
        for (_, capacity) in capacities() {
            for action in Action::ALL {
                let command = RequestCommand::AsStaff {
                    capacity: capacity.clone(),
                    command: Box::new(command(action, standing.status)),
                };
                for event in decide_after(&history, command).unwrap_or_default() {
                    if !Standing::may_change(&event) {
                        checked += 1;
                        assert_eq!(
                            standing.after(&event),
                            standing,
                            "{history_name}, {action:?}"
                        );
                    }
                }
            }
        }
    }
    assert!(
        checked > 0,
        "some events that leave the standing were walked"
    );
}

#[test]
fn a_request_is_protocolled_once_by_the_urp_with_a_number_and_a_register() {
    let t = at("2026-03-10T09:00:00Z");
    let history = vec![received("2026/0000001", t, date(2026, 4, 9))];
    let record = |capacity: Capacity, number: &str, register: &str| RequestCommand::AsStaff {
        capacity,
        command: Box::new(RequestCommand::RecordProtocol {
            by: by(),
            at: t,
            number: number.into(),
            date: date(2026, 3, 10),
            register: register.into(),
        }),
    };
    let protocolled = RequestEvent::RequestProtocolled {
        by: by(),
        at: t,
        number: "12345".into(),
        date: date(2026, 3, 10),
        register: "Generale".into(),
    };
    // Given a received request, when the registry's number is recorded, then it is protocolled.
    RequestTest::with(())
        .given(history.clone())
        .when(record(Capacity::urp(), "12345", "Generale"))
        .then_expect_events(vec![protocolled.clone()]);
    // Given it is protocolled, a second registration is refused, and no longer offered.
    let mut done = history.clone();
    done.push(protocolled);
    let again = RequestTest::with(())
        .given(done.clone())
        .when(record(Capacity::urp(), "12346", "Generale"))
        .inspect_result();
    assert!(again.is_err(), "{again:?}");
    let mut request = Request::default();
    for event in &done {
        cqrs_es::Aggregate::apply(&mut request, event.clone());
    }
    assert!(request.is_protocolled());
    assert_eq!(
        request.status(),
        Status::Received,
        "protocolling changes no status"
    );
    assert!(!request
        .allowed_actions(&Capacity::urp())
        .contains(&Action::RecordProtocol));
    // A registration needs its number and its register; a referent does not record it.
    RequestTest::with(())
        .given(history.clone())
        .when(record(Capacity::urp(), "  ", "Generale"))
        .then_expect_error(RequestError::ProtocolIncomplete);
    let as_referent = RequestTest::with(())
        .given(history)
        .when(record(Capacity::referent_of(DEPARTMENT), "1", "Generale"))
        .inspect_result();
    assert!(as_referent.is_err(), "{as_referent:?}");
}
