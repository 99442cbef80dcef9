//! What the citizen may do to their own request: reply, reopen within the period, rate once per
//! closure; and what nobody may do once the personal data has been erased.

use super::workflow::{history_to, t};
use super::*;
use crate::*;

fn closed_at() -> DateTime<Utc> {
    t(5)
}

#[test]
fn a_citizen_reopens_a_closed_request_within_the_period() {
    let at = closed_at() + chrono::Duration::days(30);
    RequestTest::with(())
        .given(history_to(Status::Closed))
        .when(RequestCommand::ReopenByCitizen {
            at,
            reason: sealed(),
            reopen_days: 30,
        })
        .then_expect_events(vec![RequestEvent::RequestReopened {
            by: None,
            at,
            reason: Some(sealed()),
        }]);
}

#[test]
fn a_citizen_cannot_reopen_after_the_period() {
    RequestTest::with(())
        .given(history_to(Status::Closed))
        .when(RequestCommand::ReopenByCitizen {
            at: closed_at() + chrono::Duration::days(30) + chrono::Duration::seconds(1),
            reason: sealed(),
            reopen_days: 30,
        })
        .then_expect_error(RequestError::ReopeningPeriodOver);
}

#[test]
fn the_period_counts_from_the_latest_closure() {
    let mut history = history_to(Status::Closed);
    history.push(RequestEvent::RequestReopened {
        by: None,
        at: t(100),
        reason: None,
    });
    let closed_again = t(0) + chrono::Duration::days(60);
    history.push(RequestEvent::RequestClosed {
        by: Uuid::from_u128(1),
        at: closed_again,
        outcome: Outcome::Withdrawn,
    });
    let at = closed_again + chrono::Duration::days(5);
    RequestTest::with(())
        .given(history)
        .when(RequestCommand::ReopenByCitizen {
            at,
            reason: sealed(),
            reopen_days: 10,
        })
        .then_expect_events(vec![RequestEvent::RequestReopened {
            by: None,
            at,
            reason: Some(sealed()),
        }]);
}

#[test]
fn a_citizen_rates_a_closed_request() {
    RequestTest::with(())
        .given(history_to(Status::Closed))
        .when(RequestCommand::Rate {
            at: t(20),
            stars: 5,
            reasons: vec!["clear".into(), "fast".into()],
            comment: Some(sealed()),
        })
        .then_expect_events(vec![RequestEvent::RequestRated {
            at: t(20),
            stars: 5,
            reasons: vec!["clear".into(), "fast".into()],
            comment: Some(sealed()),
        }]);
}

fn rating(stars: u8) -> RequestCommand {
    RequestCommand::Rate {
        at: t(20),
        stars,
        reasons: vec![],
        comment: None,
    }
}

#[test]
fn stars_go_from_one_to_five() {
    for stars in [0, 6] {
        RequestTest::with(())
            .given(history_to(Status::Closed))
            .when(rating(stars))
            .then_expect_error(RequestError::StarsOutOfRange);
    }
}

#[test]
fn a_closure_is_rated_once_and_a_new_closure_again() {
    let mut history = history_to(Status::Closed);
    history.push(RequestEvent::RequestRated {
        at: t(20),
        stars: 2,
        reasons: vec![],
        comment: None,
    });
    RequestTest::with(())
        .given(history.clone())
        .when(rating(3))
        .then_expect_error(RequestError::AlreadyRated);
    history.push(RequestEvent::RequestReopened {
        by: None,
        at: t(30),
        reason: None,
    });
    history.push(RequestEvent::RequestClosed {
        by: Uuid::from_u128(1),
        at: t(40),
        outcome: Outcome::Withdrawn,
    });
    RequestTest::with(())
        .given(history)
        .when(rating(3))
        .then_expect_events(vec![RequestEvent::RequestRated {
            at: t(20),
            stars: 3,
            reasons: vec![],
            comment: None,
        }]);
}

#[test]
fn erasure_is_recorded_once() {
    let mut history = history_to(Status::Answered);
    RequestTest::with(())
        .given(history.clone())
        .when(RequestCommand::RecordErasure {
            at: t(50),
            reason: ErasureReason::CitizenRequest,
        })
        .then_expect_events(vec![RequestEvent::PersonalDataErased {
            at: t(50),
            reason: ErasureReason::CitizenRequest,
        }]);
    history.push(RequestEvent::PersonalDataErased {
        at: t(50),
        reason: ErasureReason::CitizenRequest,
    });
    RequestTest::with(())
        .given(history)
        .when(RequestCommand::RecordErasure {
            at: t(60),
            reason: ErasureReason::Retention,
        })
        .then_expect_error(RequestError::Erased);
}

#[test]
fn after_erasure_the_citizen_can_no_longer_reply_reopen_or_rate() {
    let erased = |status| {
        let mut history = history_to(status);
        history.push(RequestEvent::PersonalDataErased {
            at: t(50),
            reason: ErasureReason::Retention,
        });
        history
    };
    RequestTest::with(())
        .given(erased(Status::InEvaluation))
        .when(reply(t(60), Channel::Web))
        .then_expect_error(RequestError::Erased);
    RequestTest::with(())
        .given(erased(Status::Closed))
        .when(RequestCommand::ReopenByCitizen {
            at: t(60),
            reason: sealed(),
            reopen_days: 30,
        })
        .then_expect_error(RequestError::Erased);
    RequestTest::with(())
        .given(erased(Status::Closed))
        .when(rating(4))
        .then_expect_error(RequestError::Erased);
}

#[test]
fn a_request_filed_at_the_counter_says_so() {
    let mut new = new_request("2026/0000009", t(0));
    new.channel = Channel::Counter;
    new.filed_by = FiledBy {
        citizen: Some(Uuid::from_u128(7)),
        operator: Some(Uuid::from_u128(8)),
        identity_checked: true,
        paper_only: true,
        follows: None,
    };
    let events = decide_new(RequestCommand::Receive(Box::new(new.clone()))).unwrap();
    let RequestEvent::RequestReceived { filed_by, .. } = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(filed_by, &new.filed_by);
}

#[test]
fn events_of_guests_keep_their_old_shape() {
    let event = received("2026/0000001", t(0), date(2026, 4, 9));
    let json = serde_json::to_value(&event).unwrap();
    assert!(json["RequestReceived"].get("filed_by").is_none(), "{json}");
    let back: RequestEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, event);
}
