//! Whole-log tamper evidence: the log chain names a deleted request, an altered time and a cut
//! chain; a signed checkpoint an auditor kept shows a truncated tail or a rewritten history; the
//! signature verifies with another implementation of Ed25519 (Node's, on OpenSSL).

use axum::http::StatusCode;
use sportello_server::event_store::{checkpoint, log_chain};
use sportello_server::staff::Role;

use crate::support::{complaint, TestApp};

/// Three requests, one of them worked on; returns their ids.
async fn history(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for subject in ["Buca", "Lampione", "Rifiuti"] {
        ids.push(app.file_request(complaint(subject)).await.1);
    }
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let office = app.browser();
    office.signed_in_as(&email, &password).await;
    office
        .act(&ids[1], "nota", &[("message", "Verificare")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    ids
}

async fn sign(app: &TestApp) -> checkpoint::Checkpoint {
    checkpoint::sign_today(&app.pool, &app.app.config.data_dir, app.app.clock.now())
        .await
        .unwrap()
        .expect("today's checkpoint is new")
}

async fn problems(app: &TestApp, kept: &checkpoint::Checkpoint) -> Vec<String> {
    checkpoint::verify(&app.pool, &app.app.config.data_dir, kept)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_whole_log_is_chained_and_its_signed_checkpoint_verifies_elsewhere() {
    let app = TestApp::start().await;
    history(&app).await;
    let report = log_chain::verify(&app.pool, None).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    assert_eq!(report.entries, app.count_events().await);
    let kept = sign(&app).await;
    assert_eq!(kept.size, app.count_events().await);
    assert!(problems(&app, &kept).await.is_empty());
    assert!(
        checkpoint::sign_today(&app.pool, &app.app.config.data_dir, app.app.clock.now())
            .await
            .unwrap()
            .is_none(),
        "one a day"
    );

    // Published: the page lists it and offers the file an auditor keeps.
    let page = app.get("/registro").await;
    page.assert_status(StatusCode::OK);
    assert!(page.text().contains(&kept.head));
    let file = app.get(&format!("/registro/{}.json", kept.day)).await;
    file.assert_status(StatusCode::OK);
    let published: checkpoint::Checkpoint = serde_json::from_slice(&file.bytes).unwrap();
    assert_eq!(published, kept);
    app.get("/registro/2001-01-01.json")
        .await
        .assert_status(StatusCode::NOT_FOUND);

    // Another implementation agrees the signature is the key's over the published message.
    let script = r#"
        const crypto = require('node:crypto');
        const [key, message, signature] = process.argv.slice(1).map((b) => Buffer.from(b, 'base64'));
        const publicKey = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, format: 'jwk' });
        process.stdout.write(String(crypto.verify(null, message, publicKey, signature)));
    "#;
    let check = |message: Vec<u8>| {
        let output = std::process::Command::new("node")
            .args(["-e", script, &published.public_key])
            .arg(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                message,
            ))
            .arg(&published.signature)
            .output()
            .expect("node runs");
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    assert_eq!(check(published.message()), "true");
    let mut forged = published.clone();
    forged.size += 1;
    assert_eq!(check(forged.message()), "false");
    // Altered or signed with another key, a checkpoint proves nothing.
    let named = problems(&app, &forged).await;
    assert!(named[0].contains("signature"), "{named:?}");
}

#[tokio::test]
async fn deleting_a_request_or_altering_a_time_is_named_where_it_is() {
    let app = TestApp::start().await;
    let ids = history(&app).await;
    let reference = app.reference_of(&ids[0]).await;
    let time_of_third: i64 = sqlx::query_scalar(
        "SELECT global_position FROM events WHERE aggregate_id = ? AND sequence = 1",
    )
    .bind(&ids[2])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM events WHERE aggregate_id = ?")
        .bind(&ids[0])
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE events SET recorded_at = recorded_at - INTERVAL 1 DAY WHERE global_position = ?",
    )
    .bind(time_of_third)
    .execute(&app.pool)
    .await
    .unwrap();
    let report = log_chain::verify(&app.pool, None).await.unwrap();
    let deleted: Vec<&log_chain::LogBreak> = report
        .breaks
        .iter()
        .filter(|b| b.problem == "its event was deleted")
        .collect();
    assert!(
        !deleted.is_empty() && deleted.iter().all(|b| b.aggregate_id == ids[0]),
        "{:?}",
        report.breaks
    );
    assert!(
        report
            .breaks
            .iter()
            .any(|b| b.problem == "its event's time was changed" && b.position == time_of_third),
        "{:?}",
        report.breaks
    );
    // The command line names them, and exits with its own code.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(["events", "verify"])
        .env("SPORTELLO_DATABASE_URL", &app.database_url)
        .env("SPORTELLO_DATA_DIR", &app.data_dir)
        .env("SPORTELLO_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("request {}): its event was deleted", ids[0])),
        "{stderr}"
    );
    assert!(stderr.contains("its event's time was changed"), "{stderr}");
    let _ = reference;
}

#[tokio::test]
async fn a_cut_tail_or_a_rewritten_history_shows_against_a_kept_checkpoint() {
    let app = TestApp::start().await;
    let ids = history(&app).await;
    let kept = sign(&app).await;
    let path = app.data_dir.join("kept.json");
    std::fs::write(&path, serde_json::to_vec(&kept).unwrap()).unwrap();

    // The tail cut — the last two events and their log entries: the log alone still holds
    // together (a request's newest events gone leave a shorter chain)…
    let cut: i64 = sqlx::query_scalar("SELECT MAX(global_position) - 1 FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM log_chain WHERE global_position >= ?")
        .bind(cut)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM events WHERE global_position >= ?")
        .bind(cut)
        .execute(&app.pool)
        .await
        .unwrap();
    let alone = log_chain::verify(&app.pool, None).await.unwrap();
    assert!(alone.breaks.is_empty(), "{:?}", alone.breaks);
    // …but not against the checkpoint.
    let named = problems(&app, &kept).await;
    assert!(
        named.iter().any(|p| p.contains("its tail was cut")),
        "{named:?}"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(["events", "verify", "--checkpoint"])
        .arg(&path)
        .env("SPORTELLO_DATABASE_URL", &app.database_url)
        .env("SPORTELLO_DATA_DIR", &app.data_dir)
        .env("SPORTELLO_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("its tail was cut"));

    // A history rewritten whole — a request deleted and the log chain recomputed over what is
    // left, with new entries after it — is consistent in itself, and still shows.
    sqlx::query("DELETE FROM events WHERE aggregate_id = ?")
        .bind(&ids[0])
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM log_chain")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    log_chain::extend(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    for subject in ["Nuova", "Altra", "Terza"] {
        app.file_request(complaint(subject)).await;
    }
    assert!(log_chain::verify(&app.pool, None)
        .await
        .unwrap()
        .breaks
        .is_empty());
    let named = problems(&app, &kept).await;
    assert!(named.iter().any(|p| p.contains("was changed")), "{named:?}");
}
