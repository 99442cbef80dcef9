//! Take-charge reminders with a controllable clock: due after ten days, escalated to the head
//! after five more, recorded exactly once across runs, restarts and two server copies.

use std::time::Duration as StdDuration;

use chrono::Duration;
use sportello_server::reminders;
use sportello_server::staff::Role;

use crate::support::smtp::{parse, SmtpServer};
use crate::support::{complaint, Options, TestApp};

/// A request forwarded to a department with one referent; returns (aggregate id, reference).
async fn forwarded(app: &TestApp) -> (String, String) {
    let roads = app.add_department("Lavori pubblici").await;
    app.add_staff("Rita Referente", &[Role::Referent], &[roads])
        .await;
    let (receipt, id) = app.file_request(complaint("Buca")).await;
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    app.act(&id, "inoltra", &[("department", &roads.to_string())])
        .await;
    app.settle().await;
    (id, receipt.reference)
}

async fn reminders_of(app: &TestApp, reference: &str) -> Vec<String> {
    app.event_types(reference)
        .await
        .into_iter()
        .filter(|t| t == "RequestReminded")
        .collect()
}

#[tokio::test]
async fn referents_are_reminded_after_ten_days_once_then_the_head_after_five_more() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let (_, reference) = forwarded(&app).await;
    let before = smtp.count();
    app.app.clock.advance(Duration::days(9));
    assert_eq!(reminders::run(&app.app).await.unwrap(), 0, "not yet due");
    app.app.clock.advance(Duration::days(2));
    assert_eq!(reminders::run(&app.app).await.unwrap(), 1);
    assert_eq!(
        reminders::run(&app.app).await.unwrap(),
        0,
        "the queue has not caught up, the aggregate refuses"
    );
    app.settle().await;
    assert_eq!(reminders::run(&app.app).await.unwrap(), 0);
    let mails = smtp.wait_for(before + 1, StdDuration::from_secs(5)).await;
    let reminder = parse(&mails[before]);
    assert_eq!(
        reminder.subject,
        format!("Sollecito: richiesta {reference} non ancora presa in carico")
    );
    assert!(mails[before]
        .to
        .contains(&"rita.referente@comune.test".to_string()));
    assert!(
        !mails[before]
            .to
            .contains(&"dirigente@comune.test".to_string()),
        "the head only on escalation"
    );

    app.app
        .clock
        .advance(Duration::days(5) + Duration::minutes(1));
    assert_eq!(
        reminders::run(&app.app).await.unwrap(),
        1,
        "escalated to the head"
    );
    app.settle().await;
    let mails = smtp.wait_for(before + 2, StdDuration::from_secs(5)).await;
    assert!(mails[before + 1]
        .to
        .contains(&"dirigente@comune.test".to_string()));
    app.app.clock.advance(Duration::days(30));
    assert_eq!(
        reminders::run(&app.app).await.unwrap(),
        0,
        "nothing after the escalation"
    );
    assert_eq!(reminders_of(&app, &reference).await.len(), 2);
    assert_eq!(smtp.count(), before + 2);
}

#[tokio::test]
async fn two_copies_running_the_scheduler_at_once_record_one_reminder() {
    let app = TestApp::start().await;
    let (_, reference) = forwarded(&app).await;
    let other = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    app.app.clock.advance(Duration::days(11));
    other.app.clock.advance(Duration::days(11));
    let (first, second) = tokio::join!(reminders::run(&app.app), reminders::run(&other.app));
    assert_eq!(first.unwrap() + second.unwrap(), 1);
    assert_eq!(reminders_of(&app, &reference).await.len(), 1);
}

#[tokio::test]
async fn after_downtime_a_restarted_copy_catches_up_without_repeating() {
    let app = TestApp::start().await;
    let (_, reference) = forwarded(&app).await;
    app.app.clock.advance(Duration::days(11));
    reminders::run(&app.app).await.unwrap();
    let database_url = app.database_url.clone();
    drop(app);
    // The restarted copy's clock is a month later: the referents were reminded already, and
    // the escalation is due.
    let restarted = TestApp::on_database(
        database_url,
        Options {
            now: crate::support::default_now() + Duration::days(40),
            ..Default::default()
        },
    )
    .await;
    restarted.settle().await;
    assert_eq!(reminders::run(&restarted.app).await.unwrap(), 1);
    restarted.settle().await;
    assert_eq!(reminders::run(&restarted.app).await.unwrap(), 0);
    assert_eq!(reminders_of(&restarted, &reference).await.len(), 2);
}

#[tokio::test]
async fn a_request_taken_in_charge_is_not_reminded() {
    let app = TestApp::start().await;
    let (id, reference) = forwarded(&app).await;
    let referent = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    referent
        .signed_in_as(
            "rita.referente@comune.test",
            "Rita Referente ha una password lunga",
        )
        .await;
    referent.act(&id, "prendi", &[]).await;
    app.settle().await;
    app.app.clock.advance(Duration::days(20));
    assert_eq!(reminders::run(&app.app).await.unwrap(), 0);
    assert!(reminders_of(&app, &reference).await.is_empty());
}

#[tokio::test]
async fn the_inbox_flags_reminded_requests_and_those_waiting_too_long() {
    let app = TestApp::start().await;
    let (_, reference) = forwarded(&app).await;
    app.app.clock.advance(Duration::days(11));
    reminders::run(&app.app).await.unwrap();
    app.settle().await;
    app.signed_in_as(
        "anna.operatrice@comune.test",
        "Anna Operatrice ha una password lunga",
    )
    .await;
    let waiting = app.get("/ufficio/richieste?senza_presa=1").await;
    assert!(waiting.text().contains(&reference));
    assert!(waiting.text().contains("sollecitata 1 volte"));
}
