//! The paused clock while the citizen is asked for more, and the take-charge reminders.

use cqrs_es::Aggregate;

use super::workflow::*;
use super::*;
use crate::*;

#[test]
fn a_reply_after_a_question_resumes_the_clock_and_moves_the_deadline() {
    // Asked on 10 March, answered on 20 March: ten days paused, due 9 April → 19 April (a
    // Sunday) → Monday 20 April.
    let mut events = history_to(Status::InEvaluation);
    events.push(RequestEvent::InformationRequested {
        by: OPERATOR,
        at: at("2026-03-10T10:00:00Z"),
        message: sealed(),
    });
    let reply_at = at("2026-03-20T08:00:00Z");
    RequestTest::with(())
        .given(events)
        .when(reply(reply_at, Channel::Web))
        .then_expect_events(vec![RequestEvent::CitizenReplied {
            at: reply_at,
            message: sealed(),
            attachments: vec![],
            answer_due: date(2026, 4, 20),
            channel: Channel::Web,
        }]);
}

#[test]
fn a_reply_without_a_question_leaves_the_deadline_and_the_status() {
    let reply_at = t(60);
    let result = RequestTest::with(())
        .given(history_to(Status::TakenInCharge))
        .when(reply(reply_at, Channel::Web))
        .inspect_result()
        .unwrap();
    assert_eq!(
        result,
        vec![RequestEvent::CitizenReplied {
            at: reply_at,
            message: sealed(),
            attachments: vec![],
            answer_due: date(2026, 4, 9),
            channel: Channel::Web,
        }]
    );
}

#[test]
fn a_reply_returns_the_request_to_whoever_asked() {
    let mut request = Request::default();
    for event in history_to(Status::TakenInCharge) {
        request.apply(event);
    }
    request.apply(RequestEvent::InformationRequested {
        by: REFERENT,
        at: t(20),
        message: sealed(),
    });
    assert_eq!(request.status(), Status::WaitingForCitizen);
    request.apply(RequestEvent::CitizenReplied {
        at: t(30),
        message: sealed(),
        attachments: vec![],
        answer_due: date(2026, 4, 9),
        channel: Channel::Web,
    });
    assert_eq!(request.status(), Status::TakenInCharge);
    assert_eq!(request.department(), Some(ROADS));
}

#[test]
fn each_reminder_is_recorded_once_and_the_head_only_after_the_referents() {
    use ReminderLevel::*;
    let remind = |level| RequestCommand::Remind {
        at: t(100),
        department: ROADS,
        level,
    };
    let reminded = |level| RequestEvent::RequestReminded {
        at: t(100),
        department: ROADS,
        level,
    };
    RequestTest::with(())
        .given(history_to(Status::Forwarded))
        .when(remind(Head))
        .then_expect_error(RequestError::EscalationBeforeReminder);
    RequestTest::with(())
        .given(history_to(Status::Forwarded))
        .when(remind(Referents))
        .then_expect_events(vec![reminded(Referents)]);
    let mut events = history_to(Status::Forwarded);
    events.push(reminded(Referents));
    RequestTest::with(())
        .given(events.clone())
        .when(remind(Referents))
        .then_expect_error(RequestError::AlreadyReminded);
    RequestTest::with(())
        .given(events.clone())
        .when(remind(Head))
        .then_expect_events(vec![reminded(Head)]);
    events.push(reminded(Head));
    RequestTest::with(())
        .given(events)
        .when(remind(Head))
        .then_expect_error(RequestError::AlreadyReminded);
}

#[test]
fn a_new_forwarding_starts_its_reminders_afresh() {
    let mut events = history_to(Status::Forwarded);
    events.push(RequestEvent::RequestReminded {
        at: t(100),
        department: ROADS,
        level: ReminderLevel::Referents,
    });
    events.push(RequestEvent::RequestHandedBack {
        by: REFERENT,
        at: t(101),
        department: ROADS,
        note: sealed(),
    });
    events.push(RequestEvent::RequestForwarded {
        by: OPERATOR,
        at: t(102),
        department: PARKS,
        note: None,
    });
    RequestTest::with(())
        .given(events)
        .when(RequestCommand::Remind {
            at: t(200),
            department: PARKS,
            level: ReminderLevel::Referents,
        })
        .then_expect_events(vec![RequestEvent::RequestReminded {
            at: t(200),
            department: PARKS,
            level: ReminderLevel::Referents,
        }]);
}

#[test]
fn a_reminder_for_another_department_is_refused() {
    RequestTest::with(())
        .given(history_to(Status::Forwarded))
        .when(RequestCommand::Remind {
            at: t(100),
            department: PARKS,
            level: ReminderLevel::Referents,
        })
        .then_expect_error(RequestError::WrongDepartment);
}
