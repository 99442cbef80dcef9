//! Statistics against hand-computed figures: a small fixed history across January, February and
//! March 2026 (with requests either side of midnight in Rome on 31 January, a deadline moved by a
//! weekend on the working calendar, a redirection, a reminder and a rating), read through the
//! dashboard's exports, live and after `projections rebuild statistics`; and who may see what.

mod dashboard;
mod public;
mod rebuilds;
mod reports;

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sportello_projections::statistics::Statistics;
use sportello_server::staff::Role;
use uuid::Uuid;

use crate::support::{complaint, Options, TestApp};

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
    let inps = app.add_inps("", "").await;
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
    let rated = h.app.rate_four_stars(&b_token).await;
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
    response.assert_status(StatusCode::OK);
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
