//! The dashboard against a hand-computed history: figures, filters, access, exports.

use super::*;

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
