//! Receiving a request and acknowledging it.

use chrono::{TimeZone, Utc};

use super::*;
use crate::*;

#[test]
fn a_new_request_is_received_with_a_deadline_thirty_days_on() {
    let when = at("2026-03-10T09:00:00Z");
    RequestTest::with(())
        .given_no_previous_events()
        .when(RequestCommand::Receive(Box::new(new_request(
            "2026/0000001",
            when,
        ))))
        .then_expect_events(vec![received("2026/0000001", when, date(2026, 4, 9))]);
}

#[test]
fn the_deadline_counts_from_the_date_in_rome_not_in_utc() {
    // 23:30 UTC on 31 December is already 1 January in Rome; 30 days on is Sunday 31
    // January, so the deadline moves to Monday 1 February.
    let when = at("2026-12-31T23:30:00Z");
    RequestTest::with(())
        .given_no_previous_events()
        .when(RequestCommand::Receive(Box::new(new_request(
            "2027/0000001",
            when,
        ))))
        .then_expect_events(vec![received("2027/0000001", when, date(2027, 2, 1))]);
}

#[test]
fn a_configured_deadline_replaces_the_legal_default() {
    let when = at("2026-06-01T10:00:00Z");
    let mut new = new_request("2026/0000002", when);
    new.answer_days = 10;
    let events = RequestTest::with(())
        .given_no_previous_events()
        .when(RequestCommand::Receive(Box::new(new)))
        .inspect_result()
        .unwrap();
    let RequestEvent::RequestReceived { answer_due, .. } = &events[0] else {
        panic!()
    };
    assert_eq!(*answer_due, date(2026, 6, 11));
}

#[test]
fn a_reference_of_another_year_is_refused() {
    let when = at("2026-12-31T22:30:00Z"); // 23:30 in Rome, still 2026
    RequestTest::with(())
        .given_no_previous_events()
        .when(RequestCommand::Receive(Box::new(new_request(
            "2027/0000001",
            when,
        ))))
        .then_expect_error(RequestError::ReferenceYearMismatch {
            reference_year: 2027,
            received_year: 2026,
        });
}

#[test]
fn a_deadline_outside_one_to_365_days_is_refused() {
    let when = at("2026-06-01T10:00:00Z");
    for days in [0, 366] {
        let mut new = new_request("2026/0000002", when);
        new.answer_days = days;
        RequestTest::with(())
            .given_no_previous_events()
            .when(RequestCommand::Receive(Box::new(new)))
            .then_expect_error(RequestError::AnswerDaysOutOfRange);
    }
}

#[test]
fn a_malformed_token_hash_is_refused() {
    let mut new = new_request("2026/0000002", at("2026-06-01T10:00:00Z"));
    new.tracking_token_hash = "not-a-hash".into();
    RequestTest::with(())
        .given_no_previous_events()
        .when(RequestCommand::Receive(Box::new(new)))
        .then_expect_error(RequestError::MalformedTokenHash);
}

#[test]
fn a_request_is_received_only_once() {
    let when = at("2026-03-10T09:00:00Z");
    RequestTest::with(())
        .given(vec![received("2026/0000001", when, date(2026, 4, 9))])
        .when(RequestCommand::Receive(Box::new(new_request(
            "2026/0000001",
            when,
        ))))
        .then_expect_error(RequestError::AlreadyReceived);
}

#[test]
fn an_acknowledgement_is_recorded_once() {
    let when = at("2026-03-10T09:00:00Z");
    let ack = at("2026-03-10T09:00:05Z");
    RequestTest::with(())
        .given(vec![received("2026/0000001", when, date(2026, 4, 9))])
        .when(RequestCommand::RecordAcknowledgement { at: ack })
        .then_expect_events(vec![RequestEvent::RequestAcknowledged { at: ack }]);
    RequestTest::with(())
        .given(vec![
            received("2026/0000001", when, date(2026, 4, 9)),
            RequestEvent::RequestAcknowledged { at: ack },
        ])
        .when(RequestCommand::RecordAcknowledgement { at: ack })
        .then_expect_error(RequestError::AlreadyAcknowledged);
}

#[test]
fn nothing_is_acknowledged_before_it_is_received() {
    let ack = at("2026-03-10T09:00:05Z");
    RequestTest::with(())
        .given_no_previous_events()
        .when(RequestCommand::RecordAcknowledgement { at: ack })
        .then_expect_error(RequestError::NotReceived);
    RequestTest::with(())
        .given_no_previous_events()
        .when(RequestCommand::RecordAcknowledgementFailure {
            at: ack,
            attempts: 1,
            reason: "x".into(),
        })
        .then_expect_error(RequestError::NotReceived);
}

#[test]
fn a_failed_acknowledgement_is_recorded_and_a_later_success_still_counts() {
    let when = at("2026-03-10T09:00:00Z");
    let failed = RequestEvent::AcknowledgementFailed {
        at: at("2026-03-11T09:00:00Z"),
        attempts: 8,
        reason: "smtp 550".into(),
    };
    RequestTest::with(())
        .given(vec![received("2026/0000001", when, date(2026, 4, 9))])
        .when(RequestCommand::RecordAcknowledgementFailure {
            at: at("2026-03-11T09:00:00Z"),
            attempts: 8,
            reason: "smtp 550".into(),
        })
        .then_expect_events(vec![failed.clone()]);
    let later = at("2026-03-12T09:00:00Z");
    RequestTest::with(())
        .given(vec![
            received("2026/0000001", when, date(2026, 4, 9)),
            failed,
        ])
        .when(RequestCommand::RecordAcknowledgement { at: later })
        .then_expect_events(vec![RequestEvent::RequestAcknowledged { at: later }]);
}

#[test]
fn a_failure_after_the_acknowledgement_is_refused() {
    let when = at("2026-03-10T09:00:00Z");
    RequestTest::with(())
        .given(vec![
            received("2026/0000001", when, date(2026, 4, 9)),
            RequestEvent::RequestAcknowledged { at: when },
        ])
        .when(RequestCommand::RecordAcknowledgementFailure {
            at: when,
            attempts: 1,
            reason: "x".into(),
        })
        .then_expect_error(RequestError::AlreadyAcknowledged);
}

#[test]
fn references_print_and_parse_as_year_slash_seven_digits() {
    let reference: Reference = "2026/0000123".parse().unwrap();
    assert_eq!((reference.year(), reference.number()), (2026, 123));
    assert_eq!(reference.to_string(), "2026/0000123");
    for bad in [
        "2026/123",
        "26/0000123",
        "2026-0000123",
        "2026/0000000",
        "2026/00001234",
        "abcd/0000001",
    ] {
        assert!(bad.parse::<Reference>().is_err(), "{bad} should not parse");
    }
    assert_eq!(
        Reference::new(2026, 10_000_000),
        Err(ReferenceError::OutOfRange)
    );
}

#[test]
fn the_year_in_rome_turns_at_local_midnight() {
    assert_eq!(
        rome_year(Utc.with_ymd_and_hms(2026, 12, 31, 22, 59, 59).unwrap()),
        2026
    );
    assert_eq!(
        rome_year(Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap()),
        2027
    );
    // Summer time: midnight in Rome is 22:00 UTC.
    assert_eq!(
        rome_date(Utc.with_ymd_and_hms(2026, 7, 1, 22, 0, 0).unwrap()),
        date(2026, 7, 2)
    );
}

#[test]
fn events_keep_their_stored_names_and_version() {
    use cqrs_es::DomainEvent;
    let event = RequestEvent::RequestAcknowledged {
        at: at("2026-03-10T09:00:00Z"),
    };
    assert_eq!(event.event_type(), "RequestAcknowledged");
    assert_eq!(event.event_version(), EVENT_VERSION);
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"RequestAcknowledged": {"at": "2026-03-10T09:00:00Z"}})
    );
}

#[test]
fn a_received_request_is_version_1_1_and_a_1_0_payload_reads_without_a_location() {
    use cqrs_es::DomainEvent;
    let mut new = new_request("2026/0000001", at("2026-03-10T09:00:00Z"));
    new.location = Some(sealed());
    let event = new.received(date(2026, 4, 9));
    assert_eq!(event.event_version(), RECEIVED_VERSION);
    let json = serde_json::to_value(&event).unwrap();
    assert!(json["RequestReceived"]["location"].is_object());
    // The shape of version 1.0: no location field at all.
    let mut old = json.clone();
    old["RequestReceived"]
        .as_object_mut()
        .unwrap()
        .remove("location");
    let read: RequestEvent = serde_json::from_value(old).unwrap();
    let RequestEvent::RequestReceived { location, .. } = read else {
        panic!("a RequestReceived");
    };
    assert_eq!(location, None);
}
