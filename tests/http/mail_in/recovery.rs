//! Nothing lost, nothing twice: a server killed while it reads, two copies reading together, and
//! an IMAP server that goes away for a while.

use std::time::Duration;

use super::*;
use crate::support::{fresh_database, Options};

async fn recorded(pool: &sqlx::MySqlPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM mail_in_messages")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn lease_holder(pool: &sqlx::MySqlPool) -> String {
    sqlx::query_scalar("SELECT holder FROM mail_in_leases WHERE mailbox = 'mail'")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The server binary, reading `user`'s mailbox on `dovecot` into `database_url`.
fn server(
    database_url: &str,
    dovecot: &Dovecot,
    user: &str,
    data: &std::path::Path,
) -> tokio::process::Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SPORTELLO_DATABASE_URL", database_url)
        .env("SPORTELLO_BIND", format!("127.0.0.1:{port}"))
        .env("SPORTELLO_PUBLIC_URL", "https://urp.comune.test")
        .env("SPORTELLO_MAIL_FROM", "URP <urp@comune.test>")
        .env("SPORTELLO_DATA_DIR", data)
        .env("SPORTELLO_IMAP_URL", dovecot.url(user))
        .env("SPORTELLO_MAIL_IN_POLL_SECONDS", "1")
        .env("SPORTELLO_MAIL_IN_PER_SENDER_HOUR", "1000")
        .env("SPORTELLO_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the sportello binary")
}

#[tokio::test]
async fn a_server_killed_while_it_reads_files_every_message_once_after_its_restart() {
    let (dovecot, user) = (Dovecot::shared().await, user());
    let database_url = fresh_database().await;
    let pool = sportello_server::db::connect(&database_url, 2)
        .await
        .unwrap();
    const MESSAGES: usize = 150;
    for i in 0..MESSAGES {
        let body = format!("La richiesta numero {i}, arrivata per posta elettronica.");
        dovecot
            .deliver(
                &user,
                &letter(
                    &format!("k{i}@example.org"),
                    &format!("Richiesta {i}"),
                    &body,
                ),
            )
            .await;
    }
    let data =
        std::env::temp_dir().join(format!("sportello-kill-{}", uuid::Uuid::new_v4().simple()));
    let mut first = server(&database_url, dovecot, &user, &data);
    until(Duration::from_secs(60), "the first messages", || async {
        recorded(&pool).await >= 1
    })
    .await;
    // kill -9: no shutdown, no lease released, a message perhaps fetched and not committed.
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let at_kill = recorded(&pool).await;
    assert!(
        at_kill < MESSAGES as i64,
        "killed while reading ({at_kill} read)"
    );

    let mut second = server(&database_url, dovecot, &user, &data);
    until(Duration::from_secs(90), "every message", || async {
        recorded(&pool).await >= MESSAGES as i64 && dovecot.count(&user, "INBOX").await == 0
    })
    .await;
    second.start_kill().unwrap();
    second.wait().await.unwrap();

    let (events, requests): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT aggregate_id) FROM events WHERE event_type = 'RequestReceived'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (events, requests),
        (MESSAGES as i64, MESSAGES as i64),
        "one request per message"
    );
    let outcomes: Vec<(String, i64)> =
        sqlx::query_as("SELECT outcome, COUNT(*) FROM mail_in_messages GROUP BY outcome")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        outcomes,
        [("request".to_string(), MESSAGES as i64)],
        "no duplicate, nothing held"
    );
    assert_eq!(
        dovecot.count(&user, "Sportello-Elaborati").await,
        MESSAGES as u32
    );
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn two_copies_reading_one_mailbox_file_each_message_once_and_one_takes_over_from_the_other() {
    use sportello_server::mail_in::{self, Which};
    let (dovecot, user) = (Dovecot::shared().await, user());
    let extra = || {
        vec![
            ("SPORTELLO_IMAP_URL", dovecot.url(&user)),
            ("SPORTELLO_MAIL_IN_POLL_SECONDS", "1".to_string()),
            ("SPORTELLO_MAIL_IN_PER_SENDER_HOUR", "1000".to_string()),
        ]
    };
    let one = TestApp::start_with(Options {
        extra: extra(),
        ..Default::default()
    })
    .await;
    let two = TestApp::on_database(
        one.database_url.clone(),
        Options {
            extra: extra(),
            ..Default::default()
        },
    )
    .await;
    for i in 0..20 {
        dovecot
            .deliver(
                &user,
                &letter(
                    &format!("t{i}@example.org"),
                    &format!("Doppia copia {i}"),
                    "Letta da due copie del server.",
                ),
            )
            .await;
    }
    let mailbox = mailbox_of(&one);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let ids = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    let mut readers: Vec<_> = [&one, &two]
        .iter()
        .zip(ids)
        .map(|(copy, id)| {
            let run = mail_in::run(
                copy.app.clone(),
                Which::Mail,
                mailbox.clone(),
                id,
                shutdown.clone(),
            );
            Some(tokio::spawn(run))
        })
        .collect();
    until(Duration::from_secs(60), "twenty messages", || async {
        recorded(&one.pool).await >= 20
    })
    .await;

    // The holder dies without a word; the other copy takes over when the lease runs out.
    let holder = lease_holder(&one.pool).await;
    let dead = ids
        .iter()
        .position(|id| id.to_string() == holder)
        .expect("a reader holds the lease");
    readers[dead].take().unwrap().abort();
    for i in 20..25 {
        let subject = format!("Dopo la caduta {i}");
        dovecot
            .deliver(
                &user,
                &letter(
                    &format!("t{i}@example.org"),
                    &subject,
                    "Letta dalla copia rimasta.",
                ),
            )
            .await;
    }
    until(Duration::from_secs(40), "the surviving copy", || async {
        recorded(&one.pool).await >= 25
    })
    .await;
    assert_eq!(
        lease_holder(&one.pool).await,
        ids[1 - dead].to_string(),
        "the other copy took over"
    );
    stop.send(true).ok();
    for reader in readers.into_iter().flatten() {
        reader.await.unwrap();
    }

    let outcomes: Vec<(String, i64)> =
        sqlx::query_as("SELECT outcome, COUNT(*) FROM mail_in_messages GROUP BY outcome")
            .fetch_all(&one.pool)
            .await
            .unwrap();
    assert_eq!(outcomes, [("request".to_string(), 25)], "each message once");
    let received: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE event_type = 'RequestReceived'")
            .fetch_one(&one.pool)
            .await
            .unwrap();
    assert_eq!(received, 25);
}

#[tokio::test]
async fn an_imap_server_gone_for_a_while_is_waited_for_patiently_and_nothing_is_lost() {
    use sportello_server::mail_in::{self, Which};
    let dovecot = Dovecot::start().await;
    let user = user();
    let app = TestApp::start_with(Options {
        extra: vec![
            ("SPORTELLO_IMAP_URL", dovecot.url(&user)),
            ("SPORTELLO_MAIL_IN_POLL_SECONDS", "1".to_string()),
        ],
        ..Default::default()
    })
    .await;
    dovecot
        .deliver(
            &user,
            &letter("g1@example.org", "Prima", "Arrivata prima del guasto."),
        )
        .await;
    let mailbox = mailbox_of(&app);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let reader = tokio::spawn(mail_in::run(
        app.app.clone(),
        Which::Mail,
        mailbox,
        uuid::Uuid::new_v4(),
        shutdown,
    ));
    until(Duration::from_secs(30), "the first message", || async {
        recorded(&app.pool).await == 1
    })
    .await;

    // Gone for a minute: tried again after 1, 2, 4 … seconds, not in a storm.
    dovecot.stop();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let (ok, failures, error): (bool, i32, Option<String>) = sqlx::query_as(
        "SELECT ok, failures, last_error FROM mail_in_status WHERE mailbox = 'mail'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!ok, "staff are told the mailbox is not reachable");
    assert!(
        error.is_some_and(|e| !e.contains(crate::support::dovecot::PASSWORD)),
        "and why, without the password"
    );
    assert!(
        (4..=8).contains(&failures),
        "tried again patiently, not in a storm: {failures} attempts in 60 s"
    );

    dovecot.run();
    dovecot
        .deliver(
            &user,
            &letter("g2@example.org", "Dopo", "Arrivata dopo il guasto."),
        )
        .await;
    until(
        Duration::from_secs(80),
        "the message after the outage",
        || async { recorded(&app.pool).await == 2 },
    )
    .await;
    let ok: bool = sqlx::query_scalar("SELECT ok FROM mail_in_status WHERE mailbox = 'mail'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(ok, "connected again");
    stop.send(true).ok();
    reader.await.unwrap();
}
