//! What the mailbox records on a request: a reply by e-mail, a bounce, a PEC receipt.

use cqrs_es::Aggregate;

use super::workflow::*;
use super::*;
use crate::*;

#[test]
fn a_reply_by_email_says_it_came_by_email() {
    let reply_at = t(60);
    RequestTest::with(())
        .given(history_to(Status::TakenInCharge))
        .when(reply(reply_at, Channel::Email))
        .then_expect_events(vec![RequestEvent::CitizenReplied {
            at: reply_at,
            message: sealed(),
            attachments: vec![],
            answer_due: date(2026, 4, 9),
            channel: Channel::Email,
        }]);
}

#[test]
fn a_reply_recorded_before_the_channel_existed_came_on_the_web() {
    let stored = serde_json::json!({"CitizenReplied": {
        "at": "2026-03-20T08:00:00Z", "message": sealed(), "attachments": [],
        "answer_due": "2026-04-20"}});
    let event: RequestEvent = serde_json::from_value(stored).unwrap();
    assert!(matches!(
        event,
        RequestEvent::CitizenReplied {
            channel: Channel::Web,
            ..
        }
    ));
}

#[test]
fn a_bounce_is_recorded_whatever_the_status_and_changes_nothing_else() {
    for status in [Status::Received, Status::Answered, Status::Closed] {
        let failed = RequestEvent::DeliveryFailed {
            at: t(50),
            reason: "status 5.1.1".into(),
        };
        RequestTest::with(())
            .given(history_to(status))
            .when(RequestCommand::RecordDeliveryFailure {
                at: t(50),
                reason: "status 5.1.1".into(),
            })
            .then_expect_events(vec![failed.clone()]);
        let mut request = Request::default();
        for event in history_to(status).into_iter().chain([failed]) {
            request.apply(event);
        }
        assert_eq!(request.status(), status);
    }
}

#[test]
fn a_pec_receipt_is_recorded_with_its_evidence() {
    for receipt in PecReceipt::ALL {
        RequestTest::with(())
            .given(history_to(Status::Answered))
            .when(RequestCommand::RecordPecReceipt {
                at: t(40),
                receipt,
                evidence: Some(sealed()),
            })
            .then_expect_events(vec![RequestEvent::PecReceiptRecorded {
                at: t(40),
                receipt,
                evidence: Some(sealed()),
            }]);
    }
}

#[test]
fn nothing_is_recorded_on_a_request_never_received() {
    RequestTest::with(())
        .given_no_previous_events()
        .when(RequestCommand::RecordDeliveryFailure {
            at: t(1),
            reason: "status 5.1.1".into(),
        })
        .then_expect_error(RequestError::NotReceived);
}

#[test]
fn the_urp_switches_a_citizen_to_letters_or_the_telephone_until_the_request_closes() {
    for status in [Status::Received, Status::Answered] {
        RequestTest::with(())
            .given(history_to(status))
            .when(RequestCommand::SwitchContact {
                by: OPERATOR,
                at: t(50),
                to: Contact::Phone,
            })
            .then_expect_events(vec![RequestEvent::ContactSwitched {
                by: OPERATOR,
                at: t(50),
                to: Contact::Phone,
            }]);
    }
    let closed = RequestTest::with(())
        .given(history_to(Status::Closed))
        .when(RequestCommand::SwitchContact {
            by: OPERATOR,
            at: t(50),
            to: Contact::Paper,
        })
        .inspect_result();
    assert!(matches!(closed, Err(RequestError::NotAllowed { .. })));
}
