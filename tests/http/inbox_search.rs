//! The inbox's search box: a reference exactly, an e-mail address exactly, words with their
//! endings and accents taken care of, pictographs too; whatever is typed is data, never a query
//! operator; a search that matches many requests counts up to a thousand.

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::{complaint, urlencode, TestApp};

async fn operator(app: &TestApp) -> TestApp {
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let browser = app.browser();
    browser.signed_in_as(&email, &password).await;
    browser
}

async fn total(staff: &TestApp, typed: &str) -> String {
    let page = staff
        .get(&format!("/ufficio/richieste?cerca={}", urlencode(typed)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{typed}: {}", page.text());
    page.element_text("total").unwrap()
}

#[tokio::test]
async fn an_address_finds_its_requests_and_no_typed_text_breaks_the_search() {
    let app = TestApp::start().await;
    app.file(
        complaint("Buca in via Roma")
            .text("email", "mario.rossi@example.it")
            .text("email_confirmation", "mario.rossi@example.it"),
    )
    .await;
    app.file(
        complaint("Lampione spento")
            .text("email", "mario.bianchi@example.it")
            .text("email_confirmation", "mario.bianchi@example.it"),
    )
    .await;
    app.settle().await;
    let staff = operator(&app).await;
    assert_eq!(total(&staff, "mario.rossi@example.it").await, "1 richieste");
    assert_eq!(total(&staff, "Mario.Rossi@Example.it").await, "1 richieste");
    assert_eq!(
        total(&staff, " mario.bianchi@example.it ").await,
        "1 richieste"
    );
    assert_eq!(total(&staff, "nessuno@example.it").await, "0 richieste");
    for typed in [
        "a@b",
        "x@",
        "\"a b\" @3",
        "@",
        "+lampione -buca",
        "lamp*",
        "~via (roma) <buca> \"",
        "'; DROP TABLE queue_requests; --",
        "\\",
        "%_%",
    ] {
        total(&staff, typed).await;
    }
    assert_eq!(
        total(&staff, "+lampione").await,
        "1 richieste",
        "the + is not an operator"
    );
    assert_eq!(
        total(&staff, "%").await,
        "0 richieste",
        "nothing searchable: nothing found"
    );
}

#[tokio::test]
async fn words_are_found_whatever_their_ending_accents_or_case_and_pictographs_too() {
    let app = TestApp::start().await;
    app.file(complaint("Lampioni spenti 🚧 in piazza")).await;
    app.file(complaint("Città sporca")).await;
    app.file(complaint("Rifiuti in via Verdi")).await;
    app.settle().await;
    let staff = operator(&app).await;
    assert_eq!(total(&staff, "lampione").await, "1 richieste");
    assert_eq!(total(&staff, "LAMPIONI spento").await, "1 richieste");
    assert_eq!(total(&staff, "citta").await, "1 richieste");
    assert_eq!(total(&staff, "🚧").await, "1 richieste");
    assert_eq!(
        total(&staff, "lampione città").await,
        "0 richieste",
        "every word counts"
    );
    assert_eq!(
        total(&staff, "Rossi").await,
        "3 richieste",
        "the citizen's name"
    );
    let page = staff.get("/ufficio/richieste?cerca=%F0%9F%9A%A7").await;
    assert!(page.text().contains("Lampioni spenti 🚧 in piazza"));
    assert!(!page.text().contains("Città sporca"));
}

#[tokio::test]
async fn a_search_matching_more_than_a_thousand_requests_says_so_and_pages_on() {
    let app = TestApp::start().await;
    // Requests written straight into the queue: filing a thousand through the form would take
    // the test a minute, and the inbox reads only the queue.
    sqlx::query(
        "INSERT INTO queue_requests (aggregate_id, organisation_id, reference, kind, topic_code,
             channel, language, status, received_at, answer_due, subject, citizen_name, citizen_email)
         SELECT CONCAT('agg-', LPAD(seq, 5, '0')), ?, CONCAT('2026/', LPAD(seq, 7, '0')), 'complaint',
                'lavori-pubblici', 'web', 'it', 'received',
                TIMESTAMP('2026-03-01') + INTERVAL seq MINUTE, '2026-04-30',
                CONCAT('Lampione numero ', seq), 'Maria Rossi', 'maria@example.it'
           FROM seq_1_to_1005",
    )
    .bind(sportello_server::app::DEFAULT_ORGANISATION.to_string())
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO queue_words (organisation_id, word, received_at, aggregate_id)
         SELECT organisation_id, 'lampion', received_at, aggregate_id FROM queue_requests",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let staff = operator(&app).await;
    let first = staff.get("/ufficio/richieste?cerca=lampione").await;
    assert_eq!(
        first.element_text("total").unwrap(),
        "Più di 1000 richieste"
    );
    assert!(
        first.text().contains("Lampione numero 1005"),
        "the newest first, from the index"
    );
    let last = staff
        .get("/ufficio/richieste?cerca=lampione&pagina=21")
        .await;
    assert!(last.text().contains("Lampione numero 5<"));
    assert!(last.text().contains("Lampione numero 1<"));
    assert!(!last.text().contains("rel=\"next\""));
    let oldest = staff
        .get("/ufficio/richieste?cerca=lampione&ordine=meno-recenti")
        .await;
    assert!(oldest.text().contains("Lampione numero 1<"));
    let received = staff
        .get("/ufficio/richieste?cerca=lampione&stato=received")
        .await;
    assert_eq!(
        received.element_text("total").unwrap(),
        "Più di 1000 richieste"
    );
}

#[tokio::test]
async fn requests_queued_before_the_word_index_are_found_after_the_upgrade() {
    let app = TestApp::start().await;
    app.file(complaint("Lampione spento")).await;
    app.settle().await;
    // As an install made before the index: its requests are queued, their words are not.
    for statement in [
        "DELETE FROM queue_words",
        "DELETE FROM settings WHERE name = 'queue_words_filled'",
    ] {
        sqlx::query(statement).execute(&app.pool).await.unwrap();
    }
    let staff = operator(&app).await;
    assert_eq!(total(&staff, "lampione").await, "0 richieste");
    sportello_server::db::migrate(&app.pool).await.unwrap();
    assert_eq!(total(&staff, "lampione").await, "1 richieste");
    assert_eq!(total(&staff, "Rossi").await, "1 richieste");
}

/// Six thousand requests with "lampione" in their subject, queued straight (as above): the ten
/// oldest answered, three of them with "rara" too, the rest received, one every ten minutes
/// from 1 March 2026 (UTC).
async fn six_thousand_lampioni(app: &TestApp) {
    let organisation = sportello_server::app::DEFAULT_ORGANISATION.to_string();
    sqlx::query(
        "INSERT INTO queue_requests (aggregate_id, organisation_id, reference, kind, topic_code,
             channel, language, status, received_at, answer_due, subject, citizen_name, citizen_email)
         SELECT CONCAT('agg-', LPAD(seq, 5, '0')), ?, CONCAT('2026/', LPAD(seq, 7, '0')), 'complaint',
                'lavori-pubblici', 'web', 'it', IF(seq <= 10, 'answered', 'received'),
                TIMESTAMP('2026-03-01') + INTERVAL seq * 10 MINUTE, '2026-06-30',
                CONCAT('Lampione numero ', seq), 'Maria Rossi', 'maria@example.it'
           FROM seq_1_to_6000",
    )
    .bind(&organisation)
    .execute(&app.pool)
    .await
    .unwrap();
    for statement in [
        "INSERT INTO queue_words (organisation_id, word, received_at, aggregate_id)
         SELECT organisation_id, 'lampion', received_at, aggregate_id FROM queue_requests",
        "INSERT INTO queue_words (organisation_id, word, received_at, aggregate_id)
         SELECT organisation_id, 'rar', received_at, aggregate_id FROM queue_requests
          WHERE aggregate_id IN ('agg-00002', 'agg-00500', 'agg-05999')",
        "INSERT INTO queue_counts (organisation_id, status, kind, topic_code, channel, n)
         SELECT organisation_id, status, kind, topic_code, channel, COUNT(*) FROM queue_requests
          GROUP BY organisation_id, status, kind, topic_code, channel",
    ] {
        sqlx::query(statement).execute(&app.pool).await.unwrap();
    }
}

#[tokio::test]
async fn a_search_under_filters_finds_every_match_or_says_how_much_it_examined() {
    let app = TestApp::start().await;
    six_thousand_lampioni(&app).await;
    let staff = operator(&app).await;
    let get = |query: &'static str| {
        let staff = &staff;
        async move {
            let page = staff.get(&format!("/ufficio/richieste?{query}")).await;
            assert_eq!(page.status, StatusCode::OK, "{query}");
            page
        }
    };
    // The filter leaves ten requests: they are read and every one is probed for the word.
    let answered = get("cerca=lampione&stato=answered").await;
    assert_eq!(answered.element_text("total").unwrap(), "10 richieste");
    assert!(answered.element_text("partial").is_none());
    assert!(answered.text().contains("Lampione numero 10<"));
    // A rare word drives, whatever the filter leaves.
    let rare = get("cerca=rara+lampione&stato=received").await;
    assert_eq!(rare.element_text("total").unwrap(), "2 richieste");
    assert!(rare.text().contains("Lampione numero 500<"));
    assert!(rare.text().contains("Lampione numero 5999<"));
    assert!(rare.element_text("partial").is_none());
    // The receipt dates bound the word's range: one day of Rome time, 144 requests.
    let day = get("cerca=lampione&stato=received&dal=2026-03-02&al=2026-03-02").await;
    assert_eq!(day.element_text("total").unwrap(), "144 richieste");
    assert!(day.text().contains("Lampione numero 281<"));
    assert!(day.element_text("partial").is_none());
    // Both sides large: the newest 5 000 entries of the word are examined, and the inbox says so.
    let both = get("cerca=lampione&stato=received").await;
    assert_eq!(both.element_text("total").unwrap(), "Più di 1000 richieste");
    assert!(both.text().contains("Lampione numero 6000<"));
    let notice = both.element_text("partial").expect("the notice");
    assert!(notice.contains("5000"), "{notice}");
    let oldest = get("cerca=lampione&stato=received&ordine=meno-recenti").await;
    assert!(oldest.text().contains("Lampione numero 11<"));
    assert!(!oldest.text().contains("Lampione numero 10<"));
}
