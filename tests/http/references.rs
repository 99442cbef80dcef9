//! Gap-free yearly references, under concurrency and across server copies.

use crate::support::{complaint, Options, TestApp};

async fn references(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT CAST(JSON_VALUE(payload, '$.RequestReceived.reference') AS CHAR) FROM events
          WHERE event_type = 'RequestReceived' ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn two_hundred_parallel_submissions_on_two_copies_get_two_hundred_consecutive_numbers() {
    let first = TestApp::start().await;
    let second = TestApp::on_database(first.database_url.clone(), Options::default()).await;
    let tokens = (first.open_form().await, second.open_form().await);
    let submissions = (0..200).map(|index| {
        let (app, token) = if index % 2 == 0 {
            (&first, &tokens.0)
        } else {
            (&second, &tokens.1)
        };
        let form = complaint(&format!("Parallela {index}")).first("csrf_token", token);
        async move { app.post_form(&form).await.status.as_u16() }
    });
    let statuses = futures::future::join_all(submissions).await;
    assert!(statuses.iter().all(|status| *status == 303), "{statuses:?}");
    let expected: Vec<String> = (1..=200)
        .map(|number| format!("2026/{number:07}"))
        .collect();
    assert_eq!(references(&first).await, expected);
}

#[tokio::test]
async fn numbering_restarts_on_the_first_of_january_in_rome() {
    // 23:30 UTC on 31 December 2026 is already 2027 in Rome.
    let app = TestApp::start_with(Options {
        now: "2026-12-31T22:30:00Z".parse().unwrap(),
        ..Default::default()
    })
    .await;
    assert_eq!(
        app.file(complaint("Ultima del 2026")).await.reference,
        "2026/0000001"
    );
    assert_eq!(
        app.file(complaint("Penultima")).await.reference,
        "2026/0000002"
    );
    app.app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        app.file(complaint("Prima del 2027")).await.reference,
        "2027/0000001"
    );
}

#[tokio::test]
async fn a_refused_submission_consumes_no_number() {
    let app = TestApp::start().await;
    app.file(complaint("Prima")).await;
    app.submit(complaint("Sbagliata").text("description", "no"))
        .await;
    assert_eq!(
        app.file(complaint("Seconda")).await.reference,
        "2026/0000002"
    );
}
