//! Statistics against hand-computed figures: a small fixed history across January, February and
//! March 2026 (with requests either side of midnight in Rome on 31 January, a deadline moved by a
//! weekend on the working calendar, a redirection, a reminder and a rating), read through the
//! dashboard's exports, live and after `projections rebuild statistics`; and who may see what.

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sportello_projections::statistics::Statistics;
use sportello_server::staff::Role;
use uuid::Uuid;

use crate::support::{complaint, Options, TestApp};

const MANAGER: &[Role] = &[Role::UrpManager, Role::UrpOperator];

struct History {
    app: TestApp,
    roads: Uuid,
    tax: Uuid,
    manager: (String, String),
    referent: (String, String),
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

impl History {
    /// Moves the (fixed) clock forward to `instant`.
    fn to(&self, instant: &str) {
        let by = at(instant) - self.app.app.clock.now();
        assert!(by >= chrono::Duration::zero(), "time only moves forward");
        self.app.app.clock.advance(by);
    }

    /// A browser freshly signed in (sessions expire while the clock jumps ahead).
    async fn as_staff(&self, who: &(String, String)) -> TestApp {
        let browser = self.app.browser();
        browser.signed_in_as(&who.0, &who.1).await;
        browser
    }

    async fn act(&self, who: &(String, String), id: &str, action: &str, fields: &[(&str, &str)]) {
        let browser = self.as_staff(who).await;
        let response = browser.act(id, action, fields).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            response.text()
        );
        self.app.settle().await;
    }

    async fn file(&self, subject: &str) -> (String, String) {
        let receipt = self.app.file(complaint(subject)).await;
        self.app.settle().await;
        (
            self.app.aggregate_id(&receipt.reference).await,
            receipt.token,
        )
    }
}

/// The fixed history (times in UTC; Rome is one hour ahead in winter).
async fn history() -> History {
    history_with(None).await
}

async fn history_with(smtp_url: Option<String>) -> History {
    let app = TestApp::start_with(Options {
        now: at("2026-01-31T22:30:00Z"),
        smtp_url,
        ..Options::default()
    })
    .await;
    let roads = app.add_department("Lavori pubblici").await;
    let tax = app.add_department("Tributi").await;
    let manager = app.add_staff("Marta Manager", MANAGER, &[]).await;
    let referent = app
        .add_staff("Rita Referente", &[Role::Referent], &[roads])
        .await;
    let body = sportello_server::directory::ExternalBody {
        id: Uuid::nil(),
        name: "INPS".into(),
        handles: "Pensioni".into(),
        address: String::new(),
        phone: String::new(),
        email: String::new(),
        website: "https://www.inps.it".into(),
        hours: String::new(),
        active: true,
    };
    let inps = sportello_server::directory::add_external_body(
        &app.pool,
        sportello_server::app::DEFAULT_ORGANISATION,
        &body,
    )
    .await
    .unwrap();
    let h = History {
        app,
        roads,
        tax,
        manager,
        referent,
    };
    let roads_id = roads.to_string();
    let m = h.manager.clone();
    let r = h.referent.clone();

    // A: 31 January 23:30 in Rome (January); B: 1 February 00:30 in Rome (February).
    let (a, _) = h.file("A").await;
    h.to("2026-01-31T23:30:00Z");
    let (b, b_token) = h.file("B").await;
    h.to("2026-02-02T09:00:00Z");
    let (c, _) = h.file("C").await;
    h.act(&m, &a, "inoltra", &[("department", &roads_id)]).await;
    h.to("2026-02-03T09:00:00Z");
    let (d, _) = h.file("D").await;
    // Taken in charge 24 hours after the forwarding.
    h.act(&r, &a, "prendi", &[]).await;
    h.to("2026-02-03T10:00:00Z");
    h.act(&m, &d, "inoltra", &[("department", &roads_id)]).await;
    // C redirected (and so closed) 48 hours after receipt.
    h.to("2026-02-04T09:00:00Z");
    h.act(
        &m,
        &c,
        "reindirizza",
        &[
            ("external_body", &inps.to_string()),
            ("message", "Si rivolga all'INPS."),
        ],
    )
    .await;
    // H: received on Thursday 5 February; 30 days fall on Saturday 7 March, so it is due Monday 9.
    h.to("2026-02-05T09:00:00Z");
    let (hh, _) = h.file("H").await;
    // A answered 5 days (120 h) after receipt, closed the next day.
    h.to("2026-02-05T22:30:00Z");
    h.act(&r, &a, "rispondi", &[("message", "Riparato.")]).await;
    h.to("2026-02-06T09:00:00Z");
    h.act(&m, &a, "chiudi", &[("outcome", "answered")]).await;
    // B answered 11 days (264 h) after receipt: 12 February 00:30 in Rome.
    h.to("2026-02-11T23:30:00Z");
    h.act(&m, &b, "rispondi", &[("message", "Ecco la risposta.")])
        .await;
    h.to("2026-02-12T09:00:00Z");
    h.act(&m, &b, "chiudi", &[("outcome", "answered")]).await;
    let base = format!("/segui/{b_token}");
    let token = h.app.get(&base).await.input_value("csrf_token").unwrap();
    let rated = h
        .app
        .post_urlencoded(
            &format!("{base}/valuta"),
            &[
                ("csrf_token", &token),
                ("stars", "4"),
                ("step", "2"),
                ("reasons", "clear"),
            ],
        )
        .await;
    assert_eq!(rated.status, StatusCode::SEE_OTHER);
    h.app.settle().await;
    // D, forwarded on 3 February and not taken in charge, is reminded on the 14th.
    h.to("2026-02-14T09:00:00Z");
    assert_eq!(
        sportello_server::reminders::run(&h.app.app).await.unwrap(),
        1
    );
    h.app.settle().await;
    h.to("2026-02-20T09:00:00Z");
    h.file("E").await;
    // March: H answered on its (moved) deadline, in time; D taken in charge and answered late.
    h.to("2026-03-09T10:00:00Z");
    h.act(&m, &hh, "rispondi", &[("message", "Risposta.")])
        .await;
    h.to("2026-03-10T09:00:00Z");
    h.act(&r, &d, "prendi", &[]).await;
    h.to("2026-03-10T10:00:00Z");
    h.act(&r, &d, "rispondi", &[("message", "In ritardo.")])
        .await;
    h
}

/// CSV text as rows of fields (RFC 4180: quoted fields may hold commas and doubled quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

/// A CSV export as rows of fields, without the header and the byte-order mark.
async fn csv(
    browser: &TestApp,
    table: &str,
    from: &str,
    to: &str,
    extra: &str,
) -> Vec<Vec<String>> {
    let response = browser
        .get(&format!(
            "/ufficio/statistiche/esporta/csv?tabella={table}&dal={from}&al={to}{extra}"
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(response
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    let text = response.text();
    let mut rows = parse_csv(text.trim_start_matches('\u{feff}'));
    rows.remove(0);
    rows
}

/// The summary as measure → (period, previous period).
async fn summary(
    browser: &TestApp,
    from: &str,
    to: &str,
    extra: &str,
) -> HashMap<String, (String, String)> {
    csv(browser, "summary", from, to, extra)
        .await
        .into_iter()
        .map(|row| (row[0].clone(), (row[1].clone(), row[2].clone())))
        .collect()
}

fn check(summary: &HashMap<String, (String, String)>, expected: &[(&str, &str, &str)]) {
    for (measure, now, before) in expected {
        let found = summary
            .get(*measure)
            .unwrap_or_else(|| panic!("{measure} in {summary:?}"));
        assert_eq!(
            (found.0.as_str(), found.1.as_str()),
            (*now, *before),
            "{measure}"
        );
    }
}

const FEBRUARY: (&str, &str) = ("2026-02-01", "2026-02-28");
const MARCH: (&str, &str) = ("2026-03-01", "2026-03-31");

async fn check_all(h: &History) {
    let manager = h.as_staff(&h.manager).await;
    let february = summary(&manager, FEBRUARY.0, FEBRUARY.1, "").await;
    check(
        &february,
        &[
            // B, C, D, H, E in February; A (23:30 on 31 January in Rome) in January.
            ("Ricevute", "5", "1"),
            ("Con risposta", "2", "0"),
            ("Chiuse", "3", "0"),
            // D, H and E at the end of February; A at the end of January.
            ("Aperte a fine periodo", "3", "1"),
            ("Risposte entro la scadenza (%)", "100", ""),
            // First responses: C 48 h, A 120 h, B 264 h.
            ("Prima risposta, mediana (giorni)", "5", ""),
            ("Prima risposta, 90° percentile (giorni)", "11", ""),
            // Answers: A 120 h, B 264 h.
            ("Risposta, mediana (giorni)", "5", ""),
            ("Risposta, 90° percentile (giorni)", "11", ""),
            ("Solleciti inviati", "1", "0"),
            ("Reindirizzate ad altri enti", "1", "0"),
            ("Valutazioni", "1", "0"),
            ("Valutazione media (stelle)", "4", ""),
            ("Domande risolte dalle FAQ", "0", "0"),
        ],
    );
    let aging = csv(&manager, "aging", FEBRUARY.0, FEBRUARY.1, "").await;
    let counts: Vec<&str> = aging.iter().map(|row| row[1].as_str()).collect();
    assert_eq!(
        counts,
        ["1", "2", "0", "0"],
        "E is 8 days old, D 25 and H 23"
    );
    // A whole year is read from year cells, a period across years from month and day cells: the
    // same six requests, four answered (A, B in February; H, D in March), three closed.
    for (from, to) in [("2026-01-01", "2026-12-31"), ("2025-12-15", "2026-03-10")] {
        check(
            &summary(&manager, from, to, "").await,
            &[
                ("Ricevute", "6", "0"),
                ("Con risposta", "4", "0"),
                ("Chiuse", "3", "0"),
            ],
        );
    }
    // Later on the older requests fall in the last class, counted from the cells (received
    // before the last sixty days, less what of it was closed by then): on 10 April E is 49 days
    // old, D 66 and H 64 (A, B and C closed); at the end of May all three are older than 60.
    for (from, to, expected) in [
        ("2026-04-01", "2026-04-10", ["0", "0", "1", "2"]),
        ("2026-05-01", "2026-05-31", ["0", "0", "0", "3"]),
    ] {
        let aging = csv(&manager, "aging", from, to, "").await;
        let counts: Vec<&str> = aging.iter().map(|row| row[1].as_str()).collect();
        assert_eq!(counts, expected, "{to}");
        // Filtered: of the roads department's requests only D is open (A was closed).
        let roads = csv(
            &manager,
            "aging",
            from,
            to,
            &format!("&ufficio={}", h.roads),
        )
        .await;
        let counts: Vec<&str> = roads.iter().map(|row| row[1].as_str()).collect();
        assert_eq!(counts, ["0", "0", "0", "1"], "{to}");
    }

    let departments = csv(&manager, "departments", FEBRUARY.0, FEBRUARY.1, "").await;
    let roads = departments
        .iter()
        .find(|row| row[0] == "Lavori pubblici")
        .unwrap();
    // Answered 1 (A) in time, 5 days; taken in charge once after 24 h; reminded once.
    assert_eq!(roads[1..], ["1", "100", "5", "5", "1", "1", "1", "1"]);
    let by_department = csv(&manager, "by_department", FEBRUARY.0, FEBRUARY.1, "").await;
    let urp = by_department
        .iter()
        .find(|row| row[0] == "URP (non inoltrate)")
        .unwrap();
    assert_eq!(
        urp[1..],
        ["4", "1", "100"],
        "B, C, H and E stayed with the URP; B answered"
    );

    let satisfaction = csv(&manager, "satisfaction", FEBRUARY.0, FEBRUARY.1, "").await;
    assert_eq!(satisfaction[1], ["4 stelle", "1"]);
    assert_eq!(satisfaction[4], ["1 stella", "0"]);
    assert_eq!(satisfaction[5], ["Le informazioni erano chiare", "1"]);

    // March: H answered on Monday 9 March, its deadline moved from Saturday 7 by the working
    // calendar (in time); D answered on the 10th, past its deadline of 5 March (late).
    let march = summary(&manager, MARCH.0, MARCH.1, "").await;
    check(
        &march,
        &[
            ("Ricevute", "0", "5"),
            ("Con risposta", "2", "2"),
            ("Risposte entro la scadenza (%)", "50", "100"),
            // H: 32 days and 1 hour (769 h); D: 35 days and 1 hour (841 h).
            ("Risposta, mediana (giorni)", "32", "5"),
            ("Risposta, 90° percentile (giorni)", "35", "11"),
        ],
    );
    let departments = csv(&manager, "departments", MARCH.0, MARCH.1, "").await;
    let roads = departments
        .iter()
        .find(|row| row[0] == "Lavori pubblici")
        .unwrap();
    // D taken in charge 34 days 23 hours (839 h) after the forwarding.
    assert_eq!(roads[1..], ["1", "0", "35", "35", "1", "35", "35", "0"]);

    // Filters: every request is a complaint about public works filed on the web, so those
    // filters change nothing but the FAQ's deflections (which cannot be filtered); another
    // kind, topic or channel has none.
    for filter in [
        "&tipo=complaint",
        "&argomento=lavori-pubblici",
        "&canale=web",
    ] {
        check(
            &summary(&manager, FEBRUARY.0, FEBRUARY.1, filter).await,
            &[
                ("Ricevute", "5", "1"),
                ("Con risposta", "2", "0"),
                ("Aperte a fine periodo", "3", "1"),
                ("Domande risolte dalle FAQ", "", ""),
            ],
        );
    }
    for filter in ["&tipo=suggestion", "&argomento=tributi", "&canale=phone"] {
        check(
            &summary(&manager, FEBRUARY.0, FEBRUARY.1, filter).await,
            &[
                ("Ricevute", "0", "0"),
                ("Aperte a fine periodo", "0", "0"),
                ("Domande risolte dalle FAQ", "", ""),
            ],
        );
    }
}

/// Every row of the statistics tables, for comparing live with rebuilt.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut rows = Vec::new();
    for query in [
        "SELECT CONVERT(CONCAT_WS('|', aggregate_id, kind, topic_code, channel, department_id, received_at,
                received_on, answer_due, COALESCE(first_response_on, '-'), COALESCE(first_response_minutes, '-'),
                COALESCE(answered_on, '-'), COALESCE(answer_minutes, '-'), COALESCE(answered_in_time, '-'),
                COALESCE(closed_on, '-'), COALESCE(redirected_on, '-'), reminders,
                COALESCE(pending_forward_at, '-'), COALESCE(rated_on, '-'), COALESCE(stars, '-'), reasons) USING utf8mb4)
           FROM stat_requests ORDER BY aggregate_id",
        "SELECT CONVERT(CONCAT_WS('|', grain, day, kind, topic_code, channel, department_id, received,
                answered, answered_in_time, closed, ratings, stars_1, stars_2, stars_3, stars_4, stars_5,
                reasons, reminders, redirections, forwardings, reopenings, handbacks,
                HEX(first_response_hours), HEX(answer_hours), HEX(take_charge_hours)) USING utf8mb4)
           FROM stat_cells ORDER BY grain, day, kind, topic_code, channel, department_id",
    ] {
        rows.extend(sqlx::query_scalar::<_, String>(query).fetch_all(&app.pool).await.unwrap());
    }
    rows
}

#[tokio::test]
async fn figures_match_the_hand_computed_ones_live_and_after_a_rebuild() {
    let h = history().await;
    check_all(&h).await;
    let live = snapshot(&h.app).await;
    assert_eq!(
        live.iter()
            .filter(|row| row.matches('|').count() == 19)
            .count(),
        6
    );

    let indexes = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT CONVERT(CONCAT_WS('|', table_name, index_name, seq_in_index, column_name) USING utf8mb4)
               FROM information_schema.statistics
              WHERE table_schema = DATABASE() AND table_name LIKE 'stat\\_%'
              ORDER BY table_name, index_name, seq_in_index",
        )
        .fetch_all(&h.app.pool)
        .await
        .unwrap()
    };
    let before = indexes().await;
    assert!(before.len() > 10, "{before:?}");
    let rebuilt = sportello_projections::rebuild(&h.app.pool, &Statistics)
        .await
        .unwrap();
    assert_eq!(
        indexes().await,
        before,
        "the swapped tables have the same indexes"
    );
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE aggregate_type = 'request'")
            .fetch_one(&h.app.pool)
            .await
            .unwrap();
    assert_eq!(rebuilt, events as u64, "every event read once");
    assert_eq!(snapshot(&h.app).await, live);
    check_all(&h).await;

    // A statistic added later covers the whole past: empty the tables as a new projection
    // would start, and the rebuild fills them from the first event.
    for table in ["stat_requests", "stat_cells"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&h.app.pool)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM projection_checkpoints WHERE name = 'statistics'")
        .execute(&h.app.pool)
        .await
        .unwrap();
    sportello_projections::rebuild(&h.app.pool, &Statistics)
        .await
        .unwrap();
    assert_eq!(snapshot(&h.app).await, live);
}

#[tokio::test]
async fn a_referent_sees_their_departments_only_and_operators_see_no_statistics() {
    let h = history().await;
    let referent = h.as_staff(&h.referent).await;
    let february = summary(&referent, FEBRUARY.0, FEBRUARY.1, "").await;
    check(
        &february,
        &[
            // Only D (forwarded to roads) was received in February among roads' requests.
            ("Ricevute", "1", "1"),
            ("Con risposta", "1", "0"),
            ("Solleciti inviati", "1", "0"),
            ("Reindirizzate ad altri enti", "0", "0"),
            // FAQ deflections belong to no department.
            ("Domande risolte dalle FAQ", "", ""),
        ],
    );
    let page = referent
        .get("/ufficio/statistiche?dal=2026-02-01&al=2026-02-28")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.text().contains(&format!("value=\"{}\"", h.tax)),
        "other departments are not offered"
    );
    assert!(page.text().contains(&format!("value=\"{}\"", h.roads)));
    assert!(!page.text().contains("URP (non inoltrate)"));
    for path in [
        format!("/ufficio/statistiche?ufficio={}", h.tax),
        format!(
            "/ufficio/statistiche/esporta/csv?tabella=summary&ufficio={}",
            h.tax
        ),
        format!("/ufficio/statistiche/esporta/xlsx?ufficio={}", h.tax),
    ] {
        assert_eq!(
            referent.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let own = summary(
        &referent,
        FEBRUARY.0,
        FEBRUARY.1,
        &format!("&ufficio={}", h.roads),
    )
    .await;
    check(&own, &[("Ricevute", "1", "1")]);

    let (email, password) = h
        .app
        .add_staff("Olga Operatrice", &[Role::UrpOperator], &[])
        .await;
    let operator = h.app.browser();
    operator.signed_in_as(&email, &password).await;
    for path in [
        "/ufficio/statistiche",
        "/ufficio/statistiche/esporta/csv?tabella=summary",
        "/ufficio/statistiche/esporta/xlsx",
    ] {
        assert_eq!(
            operator.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let anonymous = h.app.browser();
    let response = anonymous.get("/ufficio/statistiche").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "to the login");
}

#[tokio::test]
async fn the_page_shows_the_figures_charts_and_tables_and_the_xlsx_holds_the_same_numbers() {
    let h = history().await;
    let manager = h.as_staff(&h.manager).await;
    let page = manager
        .get("/ufficio/statistiche?dal=2026-02-01&al=2026-02-28")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    let received = text.split("id=\"headline-received\"").nth(1).unwrap();
    assert!(
        received.contains("<span class=\"headline-value\">5</span>"),
        "{received}"
    );
    assert!(
        text.contains("Periodo precedente: 1"),
        "compared with January"
    );
    assert!(received.contains("(+400%)"), "{received}");
    // March against February: a share changes by points, an average by stars.
    let march = manager
        .get("/ufficio/statistiche?dal=2026-03-01&al=2026-03-31")
        .await
        .text();
    let in_time = march.split("id=\"headline-in_time_share\"").nth(1).unwrap();
    let in_time = in_time.split("</li>").next().unwrap();
    assert!(in_time.contains("(−50 punti)"), "{in_time}");
    for id in [
        "chart-trend",
        "chart-by_topic",
        "chart-aging",
        "chart-satisfaction",
    ] {
        assert!(
            text.contains(&format!("aria-labelledby=\"{id}-title {id}-desc\"")),
            "{id}"
        );
    }
    assert!(text.contains("<caption class=\"visually-hidden\">Arretrato per età</caption>"));
    assert!(text.contains("5,0"), "decimals in Italian");

    let response = manager
        .get("/ufficio/statistiche/esporta/xlsx?dal=2026-02-01&al=2026-02-28&tabella=tutte")
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("content-type").unwrap(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(response.bytes.clone())).unwrap();
    use calamine::Reader;
    let names = workbook.sheet_names().to_vec();
    assert_eq!(names.len(), 9, "{names:?}");
    let sheet = workbook.worksheet_range(&names[0]).unwrap();
    let row = |label: &str| {
        sheet
            .rows()
            .find(|row| row[0] == *label)
            .unwrap_or_else(|| panic!("{label}"))
            .iter()
            .map(|cell| cell.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(row("Ricevute")[1..], ["5", "1"]);
    assert_eq!(row("Risposta, mediana (giorni)")[1..], ["5", ""]);
    assert_eq!(row("Risposte entro la scadenza (%)")[1], "100");

    // English headings in English.
    manager.get("/lingua/en?torna=/ufficio").await;
    let english = csv(&manager, "summary", FEBRUARY.0, FEBRUARY.1, "").await;
    assert_eq!(english[0], ["Received", "5", "1"]);
}

#[tokio::test]
async fn a_wrong_period_is_explained_and_what_was_typed_is_kept() {
    let app = TestApp::start().await;
    let (email, password) = app.add_staff("Marta Manager", MANAGER, &[]).await;
    app.signed_in_as(&email, &password).await;
    let page = app
        .get("/ufficio/statistiche?dal=2026-03-31&al=2026-03-01")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .error_summary()
        .unwrap()
        .contains("La data di inizio deve precedere quella di fine"));
    assert_eq!(page.input_value("dal").unwrap(), "2026-03-31");
    assert_eq!(page.input_value("al").unwrap(), "2026-03-01");
    let page = app.get("/ufficio/statistiche?dal=31/03/2026").await;
    assert!(page.error_summary().unwrap().contains("aaaa-mm-gg"));
    assert!(page.text().contains("aria-invalid=\"true\""));
    assert_eq!(page.input_value("dal").unwrap(), "31/03/2026");
    // An export of that period goes back to the page that explains it, not to other dates.
    for format in ["csv", "xlsx", "pdf"] {
        let export = app
            .get(&format!(
                "/ufficio/statistiche/esporta/{format}?dal=31/03/2026&tabella=summary"
            ))
            .await;
        assert_eq!(export.status, StatusCode::SEE_OTHER, "{format}");
        assert_eq!(
            export.header("location").unwrap(),
            "/ufficio/statistiche?dal=31/03/2026"
        );
    }
    assert_eq!(
        app.get("/ufficio/statistiche/esporta/doc").await.status,
        StatusCode::NOT_FOUND
    );
    // A manager who filters is still a manager: every department offered, and the FAQ's
    // deflections (which cannot be filtered) left out rather than shown empty.
    let filtered = app.get("/ufficio/statistiche?tipo=complaint").await.text();
    assert!(!filtered.contains("I miei uffici"));
    assert!(!filtered.contains("Domande risolte dalle FAQ"));
    let whole = app.get("/ufficio/statistiche").await.text();
    assert!(whole.contains("Domande risolte dalle FAQ"));
}

#[tokio::test]
async fn the_public_page_suppresses_small_counts_and_the_open_data_carry_no_personal_data() {
    let h = history().await;
    let visitor = h.app.browser();
    let page = visitor.get("/statistiche").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    // 2026 up to 10 March: A, B, C, D, H and E received; A, B, H answered before today, D today.
    assert!(text.contains("id=\"public-received\">6<"), "six received");
    assert!(
        text.contains("id=\"public-in-time\">–<"),
        "four answers are too few for a share"
    );
    assert!(text.contains("id=\"public-median\">–<"));
    assert!(
        text.contains("id=\"public-stars\">–<"),
        "one rating is too few for an average"
    );
    let departments = text.split("id=\"public-by-department\"").nth(1).unwrap();
    let departments = departments.split("</table>").next().unwrap();
    assert!(
        !departments.contains("Lavori pubblici"),
        "two requests: pooled"
    );
    assert!(departments.contains("Altri uffici"));
    assert!(
        departments.contains("<td>6</td><td>meno di 5</td><td>–</td>"),
        "{departments}"
    );
    let topics = text.split("id=\"public-by-topic\"").nth(1).unwrap();
    assert!(topics.contains("Lavori pubblici e manutenzioni</th><td>6</td>"));
    for personal in ["Maria", "Rossi", "example.it", "Riparato", "Via Roma"] {
        assert!(!text.contains(personal), "{personal}");
    }
    // Only years with requests are offered; another or a wrong one shows the current year.
    assert!(text.contains("<a href=\"/statistiche?anno=2026\" aria-current=\"page\">2026</a>"));
    assert!(!text.contains("anno=2025"));
    for asked in ["2025", "1970", "anno", ""] {
        let other = visitor.get(&format!("/statistiche?anno={asked}")).await;
        assert_eq!(other.status, StatusCode::OK);
        assert!(
            other.text().contains("id=\"public-received\">6<"),
            "{asked}"
        );
    }

    // Records as of the end of yesterday (9 March): D's answer of today is not in yet.
    let response = visitor.get("/statistiche/dati/richieste.csv").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response
        .header("content-disposition")
        .unwrap()
        .contains("richieste-2026-03-09.csv"));
    let csv_text = response.text();
    for personal in [
        "Maria",
        "Rossi",
        "example.it",
        "Riparato",
        "Via Roma",
        "INPS",
    ] {
        assert!(!csv_text.contains(personal), "{personal}");
    }
    let rows = parse_csv(csv_text.trim_start_matches('\u{feff}'));
    assert_eq!(
        rows[0][..6],
        ["mese", "tipo", "argomento", "canale", "ufficio", "stato"]
    );
    assert_eq!(rows.len(), 7, "a header and six requests");
    let statuses: Vec<&str> = rows[1..].iter().map(|r| r[5].as_str()).collect();
    let count = |s: &str| statuses.iter().filter(|x| **x == s).count();
    assert_eq!(
        (count("chiusa"), count("con_risposta"), count("aperta")),
        (3, 1, 2)
    );
    let h_row = rows.iter().find(|r| r[5] == "con_risposta").unwrap();
    assert_eq!(
        h_row[6..],
        ["32", "32", "true", "false"],
        "H: 769 hours, in time"
    );
    let redirected = rows.iter().find(|r| r[9] == "true").unwrap();
    assert_eq!(
        redirected[6..9],
        ["2", "", ""],
        "C: a first response after 48 hours"
    );
    assert_eq!(rows.iter().filter(|r| r[4] == "Lavori pubblici").count(), 2);

    let response = visitor.get("/statistiche/dati/richieste.json").await;
    let json: serde_json::Value = serde_json::from_slice(&response.bytes).unwrap();
    assert_eq!(
        json["licence"]["url"],
        "https://creativecommons.org/licenses/by/4.0/"
    );
    assert_eq!(json["data_as_of"], "2026-03-09");
    assert_eq!(json["rows"].as_array().unwrap().len(), 6);
    let columns = json["columns"].as_array().unwrap();
    let names: Vec<&str> = columns
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for row in json["rows"].as_array().unwrap() {
        let mut keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        let mut described = names.clone();
        described.sort_unstable();
        assert_eq!(keys, described, "every field described, none beyond");
    }
    assert!(columns.iter().all(
        |c| c["description_it"].as_str().is_some_and(|d| !d.is_empty())
            && c["description_en"].as_str().is_some_and(|d| !d.is_empty())
    ));
    // From the translation catalogue, in both languages.
    assert_eq!(
        columns[0]["description_it"],
        "Mese di ricezione (aaaa-mm, ora di Roma)."
    );
    assert_eq!(
        columns[0]["description_en"],
        "Month of receipt (yyyy-mm, Rome time)."
    );
    assert!(text.contains("<td>Mese di ricezione (aaaa-mm, ora di Roma).</td>"));

    let response = visitor.get("/statistiche/dati/aggregati.json").await;
    let json: serde_json::Value = serde_json::from_slice(&response.bytes).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "January and February, one topic");
    assert_eq!(rows[0]["mese"], "2026-01");
    assert_eq!(
        rows[0]["ricevute"],
        serde_json::Value::Null,
        "one request: suppressed"
    );
    assert_eq!(rows[1]["mese"], "2026-02");
    assert_eq!(rows[1]["ricevute"], 5);
    assert_eq!(
        rows[1]["con_risposta"],
        serde_json::Value::Null,
        "B and H: suppressed"
    );
    // The day's file is made once and kept: a download serves the kept file.
    let kept = h.app.data_dir.join("open-data/2026-03-09/richieste.csv");
    assert!(kept.exists());
    let made = std::fs::read_to_string(&kept).unwrap();
    assert_eq!(made, csv_text);
    std::fs::write(&kept, format!("{made}kept\r\n")).unwrap();
    let again = visitor.get("/statistiche/dati/richieste.csv").await;
    assert!(again.text().ends_with("kept\r\n"));
    assert_eq!(
        again.header("content-length").unwrap(),
        (made.len() + 6).to_string()
    );
    // The next day the scheduler's run makes the new day's files (D's answer of 10 March is in)
    // and removes the old ones.
    h.to("2026-03-11T06:00:00Z");
    sportello_server::statistics::open_files::make_today(&h.app.app)
        .await
        .unwrap();
    assert!(!kept.exists());
    for file in [
        "richieste.csv",
        "richieste.json",
        "aggregati.csv",
        "aggregati.json",
    ] {
        assert!(
            h.app
                .data_dir
                .join("open-data/2026-03-10")
                .join(file)
                .exists(),
            "{file}"
        );
    }
    let next = visitor.get("/statistiche/dati/richieste.csv").await.text();
    let rows = parse_csv(next.trim_start_matches('\u{feff}'));
    let statuses: Vec<&str> = rows[1..].iter().map(|r| r[5].as_str()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "con_risposta").count(),
        2,
        "H and now D"
    );
    assert_eq!(
        visitor.get("/statistiche/dati/segreti.csv").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visitor.get("/statistiche/dati/richieste.xml").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The strings a PDF shows (`(…) Tj`), in order, decoded from WinAnsi.
fn pdf_strings(pdf: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pdf.len() {
        if pdf[i] == b'(' {
            let mut text = String::new();
            let mut j = i + 1;
            while j < pdf.len() && pdf[j] != b')' {
                let byte = if pdf[j] == b'\\' {
                    j += 1;
                    pdf[j]
                } else {
                    pdf[j]
                };
                text.push(match byte {
                    0x96 => '–',
                    0x85 => '…',
                    b => b as char,
                });
                j += 1;
            }
            if pdf[j + 1..].starts_with(b" Tj") {
                out.push(text);
            }
            i = j;
        }
        i += 1;
    }
    out
}

#[tokio::test]
async fn the_period_report_is_a_pdf_with_the_same_numbers_in_italian_or_english() {
    let h = history().await;
    let manager = h.as_staff(&h.manager).await;
    let response = manager
        .get("/ufficio/statistiche/esporta/pdf?dal=2026-02-01&al=2026-02-28")
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type").unwrap(), "application/pdf");
    assert!(response
        .header("content-disposition")
        .unwrap()
        .contains("urp-in-cifre-2026-02-01-2026-02-28-it.pdf"));
    assert!(response.bytes.starts_with(b"%PDF-1.4"));
    let strings = pdf_strings(&response.bytes);
    let joined = strings.join("\n");
    assert!(joined.contains("L'URP in cifre"), "{joined}");
    assert!(joined.contains("Dal 1 febbraio 2026 al 28 febbraio 2026."));
    // The summary row "Ricevute": 5 this period, 1 the period before.
    let at = strings.iter().position(|s| s == "Ricevute").unwrap();
    assert_eq!(strings[at + 1..at + 3], ["5", "1"]);
    let at = strings
        .iter()
        .position(|s| s == "Risposta, mediana (giorni)")
        .unwrap();
    assert_eq!(strings[at + 1..at + 3], ["5,0", "–"]);
    assert!(
        strings.iter().any(|s| s == "Lavori pubblici"),
        "the departments' table"
    );
    assert!(
        strings.iter().any(|s| s == "Arretrato per età"),
        "the aging chart and table"
    );

    let english = manager
        .get("/ufficio/statistiche/esporta/pdf?dal=2026-02-01&al=2026-02-28&lingua=en")
        .await;
    let strings = pdf_strings(&english.bytes);
    assert!(strings.iter().any(|s| s == "The URP in figures"));
    let at = strings.iter().position(|s| s == "Received").unwrap();
    assert_eq!(strings[at + 1..at + 3], ["5", "1"]);
    let at = strings
        .iter()
        .position(|s| s == "Answer, median (days)")
        .unwrap();
    assert_eq!(strings[at + 1], "5.0");
}

#[tokio::test]
async fn monthly_reports_go_out_once_with_their_attachments_and_can_be_turned_off() {
    use crate::support::smtp::SmtpServer;
    use mail_parser::{MessageParser, MimeHeaders};
    use sportello_server::statistics::scheduled;
    let smtp = SmtpServer::start().await;
    let h = history_with(Some(smtp.url())).await;
    h.app.settle().await;
    let before = smtp
        .wait_for(1, std::time::Duration::from_secs(5))
        .await
        .len();
    // 10 March: February's reports are due since Monday 2 March (the first working day). Two
    // server copies check at once, and again later: each report is queued once.
    let other = TestApp::on_database(
        h.app.database_url.clone(),
        Options {
            now: h.app.app.clock.now(),
            smtp_url: Some(smtp.url()),
            ..Options::default()
        },
    )
    .await;
    let (first, second) = tokio::join!(scheduled::run(&h.app.app), scheduled::run(&other.app));
    assert_eq!(
        first.unwrap() + second.unwrap(),
        3,
        "the URP's and two departments'"
    );
    assert_eq!(scheduled::run(&h.app.app).await.unwrap(), 0);
    h.app.settle().await;
    other.settle().await;
    let mails = smtp
        .wait_for(before + 3, std::time::Duration::from_secs(10))
        .await;
    let reports: Vec<_> = mails
        .iter()
        .filter_map(|mail| {
            let parsed = MessageParser::default()
                .parse(mail.data.as_slice())
                .unwrap();
            let subject = parsed.subject().unwrap_or_default().to_string();
            (subject.contains("febbraio 2026"))
                .then(|| (mail.to.clone(), subject, mail.data.clone()))
        })
        .collect();
    assert_eq!(
        reports.len(),
        3,
        "{:?}",
        reports.iter().map(|r| &r.1).collect::<Vec<_>>()
    );
    let urp = reports
        .iter()
        .find(|r| r.1 == "L'URP in cifre – febbraio 2026")
        .unwrap();
    assert_eq!(urp.0, ["marta.manager@comune.test"]);
    let roads = reports
        .iter()
        .find(|r| r.0.contains(&"rita.referente@comune.test".to_string()))
        .expect("the roads department's report to its referent");
    assert!(
        roads.0.contains(&"dirigente@comune.test".to_string()),
        "and to its head"
    );

    let message = MessageParser::default().parse(urp.2.as_slice()).unwrap();
    assert!(
        message.body_text(0).unwrap().contains("Ricevute: 5"),
        "the summary in the mail"
    );
    let files: Vec<(String, Vec<u8>)> = message
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect();
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        ["urp-in-cifre-2026-02.pdf", "urp-in-cifre-2026-02.xlsx"]
    );
    let strings = pdf_strings(&files[0].1);
    let at = strings.iter().position(|s| s == "Ricevute").unwrap();
    assert_eq!(strings[at + 1..at + 3], ["5", "1"]);
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(files[1].1.clone())).unwrap();
    use calamine::Reader;
    let first_sheet = workbook.sheet_names()[0].clone();
    let sheet = workbook.worksheet_range(&first_sheet).unwrap();
    let received = sheet.rows().find(|row| row[0] == "Ricevute").unwrap();
    assert_eq!(received[1].to_string(), "5");

    let message = MessageParser::default().parse(roads.2.as_slice()).unwrap();
    let pdf = message.attachments().next().unwrap().contents().to_vec();
    let strings = pdf_strings(&pdf);
    let at = strings.iter().position(|s| s == "Ricevute").unwrap();
    assert_eq!(strings[at + 1], "1", "only the department's requests");

    // Nothing more goes out this month, even after a restart.
    let restarted = TestApp::on_database(
        h.app.database_url.clone(),
        Options {
            now: h.app.app.clock.now(),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(scheduled::run(&restarted.app).await.unwrap(), 0);

    // An administrator turns them off: April's first working day passes without reports.
    let (email, password) = h
        .app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    let admin = h.app.browser();
    admin.signed_in_as(&email, &password).await;
    let form = admin.get("/ufficio/amministrazione/rapporti").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = form.input_value("csrf_token").unwrap();
    let refused = admin
        .post_urlencoded(
            "/ufficio/amministrazione/rapporti",
            &[
                ("csrf_token", &token),
                ("working_day", "0"),
                ("recipients", "sindaco@comune.test, non-valido"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = refused.error_summary().unwrap();
    assert!(
        summary.contains("da 1 a 10") && summary.contains("Controlla gli indirizzi"),
        "{summary}"
    );
    assert_eq!(
        refused.input_value("recipients").unwrap(),
        "sindaco@comune.test, non-valido"
    );
    // Twenty valid addresses that together do not fit the 1000 characters kept.
    let long: Vec<String> = (0..20)
        .map(|i| format!("{}{i}@comune.test", "a".repeat(50)))
        .collect();
    let long = long.join(", ");
    let refused = admin
        .post_urlencoded(
            "/ufficio/amministrazione/rapporti",
            &[
                ("csrf_token", &token),
                ("working_day", "2"),
                ("recipients", &long),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.error_summary().unwrap().contains("1000 caratteri"));
    assert_eq!(refused.input_value("recipients").unwrap(), long);
    let saved = admin
        .post_urlencoded(
            "/ufficio/amministrazione/rapporti",
            &[
                ("csrf_token", &token),
                ("working_day", "2"),
                ("recipients", "sindaco@comune.test"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let settings = scheduled::load(&h.app.pool, sportello_server::app::DEFAULT_ORGANISATION)
        .await
        .unwrap();
    assert_eq!(
        (settings.urp, settings.departments, settings.working_day),
        (false, false, 2)
    );
    assert_eq!(settings.recipients, ["sindaco@comune.test"]);
    h.to("2026-04-03T08:00:00Z");
    assert_eq!(scheduled::run(&h.app.app).await.unwrap(), 0);
    let forbidden = h.as_staff(&h.manager).await;
    assert_eq!(
        forbidden
            .get("/ufficio/amministrazione/rapporti")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_generated_history_is_valid_quiet_and_its_bulk_rebuild_equals_the_live_projection() {
    let app = TestApp::start().await;
    let generated = sportello_server::demo::history::generate(&app.app, 400, 2, 7)
        .await
        .unwrap();
    assert_eq!(generated.requests, 400);
    let report = sportello_server::event_store::chain::verify(&app.pool)
        .await
        .unwrap();
    assert!(report.breaks.is_empty(), "{report:?}");
    assert_eq!(report.events as usize, generated.events);
    // Every read model follows the history event by event, as a running server would.
    app.settle().await;
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0, "a simulated history sends no mail");
    let listed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM queue_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(listed, 400);
    // References are gap-free within each year.
    let years: Vec<(i32, i64, i64)> = sqlx::query_as(
        "SELECT c.year, c.last_number, COUNT(q.aggregate_id) FROM reference_counters c
           JOIN queue_requests q ON q.reference LIKE CONCAT(c.year, '/%')
          GROUP BY c.year, c.last_number",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(years.len() >= 2);
    for (year, last, count) in years {
        assert_eq!(last, count, "{year}");
    }
    let live = snapshot(&app).await;
    let kinds: i64 = sqlx::query_scalar(
        "SELECT (SUM(forwardings) > 0) + (SUM(reminders) > 0) + (SUM(redirections) > 0) FROM stat_cells",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kinds, 3, "forwardings, reminders and redirections happened");
    sportello_projections::rebuild(&app.pool, &Statistics)
        .await
        .unwrap();
    assert_eq!(snapshot(&app).await, live);
    // The same seed gives the same history.
    let again = TestApp::start().await;
    let other = sportello_server::demo::history::generate(&again.app, 400, 2, 7)
        .await
        .unwrap();
    assert_eq!(other.events, generated.events);
}

#[tokio::test]
async fn a_paused_projection_is_left_alone_until_its_rebuild_ends() {
    let app = TestApp::start().await;
    app.settle().await;
    sqlx::query("UPDATE projection_checkpoints SET rebuilding = TRUE WHERE name = 'statistics'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.file(complaint("Durante la ricostruzione")).await;
    let applied = sportello_projections::catch_up(&app.pool, &Statistics)
        .await
        .unwrap();
    assert_eq!(applied, 0, "the rebuild owns the tables");
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stat_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(counted, 0);
    // The rebuild ends (here: an interrupted one is run again, one that had stopped right after
    // its swap having left the old tables behind) and the processor goes on.
    for table in ["stat_requests", "stat_cells"] {
        sqlx::query(&format!("CREATE TABLE {table}_old LIKE {table}"))
            .execute(&app.pool)
            .await
            .unwrap();
    }
    sportello_projections::rebuild(&app.pool, &Statistics)
        .await
        .unwrap();
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stat_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(counted, 1);
    app.file(complaint("Dopo")).await;
    assert!(
        sportello_projections::catch_up(&app.pool, &Statistics)
            .await
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn a_reopening_takes_the_closure_out_of_the_cells_live_as_a_rebuild_would() {
    let h = history().await;
    let manager = h.as_staff(&h.manager).await;
    check(
        &summary(&manager, FEBRUARY.0, FEBRUARY.1, "").await,
        &[("Chiuse", "3", "0")],
    );
    // A (received on 31 January, closed on 6 February) is reopened in March.
    let a: String =
        sqlx::query_scalar("SELECT aggregate_id FROM stat_requests WHERE closed_on = '2026-02-06'")
            .fetch_one(&h.app.pool)
            .await
            .unwrap();
    h.to("2026-03-12T09:00:00Z");
    h.act(
        &h.manager,
        &a,
        "riapri",
        &[("message", "Il guasto è tornato.")],
    )
    .await;
    let manager = h.as_staff(&h.manager).await;
    check(
        &summary(&manager, FEBRUARY.0, FEBRUARY.1, "").await,
        &[("Chiuse", "2", "0"), ("Riaperte", "0", "0")],
    );
    check(
        &summary(&manager, MARCH.0, MARCH.1, "").await,
        // A reopened request counts as never closed, at the end of February too (the request
        // keeps its latest closure only).
        &[("Riaperte", "1", "0"), ("Aperte a fine periodo", "4", "4")],
    );
    // Open again at the end of March: A 59 days old, D 56, H 54, E 39.
    let aging = csv(&manager, "aging", MARCH.0, MARCH.1, "").await;
    let counts: Vec<&str> = aging.iter().map(|row| row[1].as_str()).collect();
    assert_eq!(counts, ["0", "0", "4", "0"]);
    let live = snapshot(&h.app).await;
    sportello_projections::rebuild(&h.app.pool, &Statistics)
        .await
        .unwrap();
    assert_eq!(snapshot(&h.app).await, live);
}
