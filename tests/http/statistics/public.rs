//! The public page and the open data: small counts held back, nothing personal.

use super::*;

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
