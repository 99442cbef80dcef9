//! Open data: anonymised aggregates (per month and topic) and anonymised request records (no
//! names, contacts, free text or exact dates: the month of receipt, the classifications and the
//! times), as CSV and as JSON with a description of each column and the licence. The files show
//! the data as of the end of yesterday (Rome): every milestone dated today is left out, so a
//! file is the same all day and changes once a day. Aggregates suppress small counts like the
//! transparency page.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sportello_domain::rome_date;

use super::public::SMALL;
use super::quantiles::Histogram;
use crate::app::AppState;
use crate::web::{AppError, Result};

pub const LICENCE: (&str, &str) = (
    "Creative Commons Attribution 4.0 (CC BY 4.0)",
    "https://creativecommons.org/licenses/by/4.0/",
);

#[derive(Debug, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub it: &'static str,
    pub en: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Dataset {
    pub name: &'static str,
    pub columns: &'static [Column],
}

const fn c(name: &'static str, it: &'static str, en: &'static str) -> Column {
    Column { name, it, en }
}

pub const DATASETS: &[Dataset] = &[
    Dataset {
        name: "aggregati",
        columns: &[
            c("mese", "Mese di ricezione (aaaa-mm, ora di Roma).", "Month of receipt (yyyy-mm, Rome time)."),
            c("argomento", "Codice dell'argomento.", "Topic code."),
            c("argomento_nome", "Nome dell'argomento.", "Topic name (Italian)."),
            c("ricevute", "Richieste ricevute nel mese; vuoto se meno di 5.", "Requests received in the month; empty if fewer than 5."),
            c("con_risposta", "Di queste, quelle che hanno avuto risposta; vuoto se meno di 5.", "Of these, those answered; empty if fewer than 5."),
            c("entro_scadenza_percentuale", "Percentuale delle risposte date entro la scadenza di legge (calendario lavorativo); vuoto se le risposte sono meno di 5.", "Share of the answers given within the legal deadline (working calendar), in percent; empty if fewer than 5 answers."),
            c("mediana_giorni_risposta", "Mediana dei giorni di calendario dalla ricezione alla risposta; vuoto se le risposte sono meno di 5.", "Median calendar days from receipt to answer; empty if fewer than 5 answers."),
            c("valutazioni", "Valutazioni date dai cittadini; vuoto se meno di 5.", "Ratings given by citizens; empty if fewer than 5."),
            c("media_stelle", "Valutazione media da 1 a 5 stelle; vuoto se le valutazioni sono meno di 5.", "Average rating from 1 to 5 stars; empty if fewer than 5 ratings."),
        ],
    },
    Dataset {
        name: "richieste",
        columns: &[
            c("mese", "Mese di ricezione (aaaa-mm, ora di Roma).", "Month of receipt (yyyy-mm, Rome time)."),
            c("tipo", "Tipo: information, complaint, suggestion, praise.", "Kind: information, complaint, suggestion, praise."),
            c("argomento", "Codice dell'argomento.", "Topic code."),
            c("canale", "Canale: web, counter, phone, letter, email, pec, api.", "Channel: web, counter, phone, letter, email, pec, api."),
            c("ufficio", "Ufficio a cui è stata inoltrata per ultimo; vuoto se l'URP l'ha trattata direttamente.", "Department it was last forwarded to; empty if the URP handled it itself."),
            c("stato", "aperta, con_risposta o chiusa alla fine del giorno precedente.", "open (aperta), answered (con_risposta) or closed (chiusa) at the end of the previous day."),
            c("giorni_prima_risposta", "Giorni di calendario dalla ricezione al primo messaggio dell'ufficio (una cifra decimale).", "Calendar days from receipt to the office's first message (one decimal)."),
            c("giorni_risposta", "Giorni di calendario dalla ricezione alla risposta (una cifra decimale).", "Calendar days from receipt to the answer (one decimal)."),
            c("entro_scadenza", "true se la risposta è arrivata entro la scadenza di legge, false se dopo; vuoto senza risposta.", "true if answered within the legal deadline, false if later; empty without an answer."),
            c("reindirizzata", "true se la richiesta è stata indirizzata a un altro ente competente.", "true if the request was redirected to another competent body."),
        ],
    },
];

fn days(minutes: Option<i32>) -> Value {
    minutes.map_or(Value::Null, |m| {
        json!((f64::from(m) / 1440.0 * 10.0).round() / 10.0)
    })
}

fn small(n: i64) -> Value {
    if n < SMALL {
        Value::Null
    } else {
        json!(n)
    }
}

/// Requests counted by month, topic, answered, in time, answer hours and stars.
type Grouped = (
    String,
    String,
    bool,
    Option<bool>,
    Option<i64>,
    Option<i8>,
    i64,
);

/// The rows of a dataset as of the end of the day before `today`.
pub async fn rows(app: &AppState, name: &str, today: NaiveDate) -> Result<Vec<Map<String, Value>>> {
    let organisation = app.organisation_id.to_string();
    match name {
        "richieste" => {
            type Record = (
                String,
                String,
                String,
                String,
                String,
                Option<NaiveDate>,
                Option<i32>,
                Option<NaiveDate>,
                Option<i32>,
                Option<bool>,
                Option<NaiveDate>,
                Option<NaiveDate>,
            );
            let records: Vec<Record> = sqlx::query_as(
                "SELECT DATE_FORMAT(received_on, '%Y-%m'), kind, topic_code, channel, department_id,
                        first_response_on, first_response_minutes, answered_on, answer_minutes,
                        answered_in_time, closed_on, redirected_on
                   FROM stat_requests WHERE organisation_id = ? AND received_on < ?
                  ORDER BY 1, topic_code, kind, channel, aggregate_id",
            )
            .bind(&organisation)
            .bind(today)
            .fetch_all(&app.pool)
            .await?;
            let departments =
                crate::directory::department_names(&app.pool, app.organisation_id).await?;
            let before = |d: Option<NaiveDate>| d.is_some_and(|d| d < today);
            Ok(records
                .into_iter()
                .map(|(month, kind, topic, channel, department, first_on, first, answered_on, answer, in_time, closed_on, redirected_on)| {
                    let answered = before(answered_on);
                    let status = if before(closed_on) { "chiusa" } else if answered { "con_risposta" } else { "aperta" };
                    let department = uuid::Uuid::parse_str(&department)
                        .ok()
                        .and_then(|id| departments.get(&id).cloned())
                        .unwrap_or_default();
                    let row = json!({
                        "mese": month, "tipo": kind, "argomento": topic, "canale": channel,
                        "ufficio": department, "stato": status,
                        "giorni_prima_risposta": if before(first_on) { days(first) } else { Value::Null },
                        "giorni_risposta": if answered { days(answer) } else { Value::Null },
                        "entro_scadenza": if answered { json!(in_time) } else { Value::Null },
                        "reindirizzata": before(redirected_on),
                    });
                    row.as_object().cloned().unwrap_or_default()
                })
                .collect())
        }
        "aggregati" => {
            let grouped: Vec<Grouped> = sqlx::query_as(
                "SELECT DATE_FORMAT(received_on, '%Y-%m'), topic_code,
                        COALESCE(answered_on < ?, FALSE), answered_in_time, answer_minutes DIV 60,
                        IF(rated_on < ?, stars, NULL), COUNT(*)
                   FROM stat_requests WHERE organisation_id = ? AND received_on < ?
                  GROUP BY 1, 2, 3, 4, 5, 6",
            )
            .bind(today)
            .bind(today)
            .bind(&organisation)
            .bind(today)
            .fetch_all(&app.pool)
            .await?;
            let topics: BTreeMap<String, String> =
                crate::intake::all_topics(&app.pool, app.organisation_id)
                    .await?
                    .into_iter()
                    .map(|t| (t.code, t.name_it))
                    .collect();
            #[derive(Default)]
            struct Group {
                received: i64,
                answered: i64,
                in_time: i64,
                answer: Histogram,
                ratings: i64,
                stars: i64,
            }
            let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
            for (month, topic, answered, in_time, hours, stars, n) in grouped {
                let group = groups.entry((month, topic)).or_default();
                group.received += n;
                if answered {
                    group.answered += n;
                    group.in_time += if in_time == Some(true) { n } else { 0 };
                    group.answer.add(hours.unwrap_or(0), n);
                }
                if let Some(stars) = stars {
                    group.ratings += n;
                    group.stars += i64::from(stars) * n;
                }
            }
            Ok(groups
                .into_iter()
                .map(|((month, topic), g)| {
                    let enough_answers = g.answered >= SMALL;
                    let row = json!({
                        "mese": month,
                        "argomento_nome": topics.get(&topic).cloned().unwrap_or_default(),
                        "argomento": topic,
                        "ricevute": small(g.received),
                        "con_risposta": small(g.answered),
                        "entro_scadenza_percentuale": if enough_answers {
                            json!((g.in_time as f64 * 1000.0 / g.answered as f64).round() / 10.0)
                        } else { Value::Null },
                        "mediana_giorni_risposta": if enough_answers {
                            json!((g.answer.percentile(50).unwrap_or(0) as f64 / 24.0 * 10.0).round() / 10.0)
                        } else { Value::Null },
                        "valutazioni": small(g.ratings),
                        "media_stelle": if g.ratings >= SMALL {
                            json!((g.stars as f64 * 10.0 / g.ratings as f64).round() / 10.0)
                        } else { Value::Null },
                    });
                    row.as_object().cloned().unwrap_or_default()
                })
                .collect())
        }
        _ => Err(AppError::NotFound),
    }
}

fn csv(dataset: &Dataset, rows: &[Map<String, Value>]) -> Vec<u8> {
    use super::report::{Cell, Table};
    let table = Table {
        id: "open-data",
        title: dataset.name.into(),
        headers: dataset.columns.iter().map(|c| c.name.to_string()).collect(),
        rows: rows
            .iter()
            .map(|row| {
                dataset
                    .columns
                    .iter()
                    .map(|column| match row.get(column.name) {
                        None | Some(Value::Null) => Cell::Num(None),
                        Some(Value::String(text)) => Cell::Text(text.clone()),
                        Some(Value::Bool(b)) => Cell::Text(b.to_string()),
                        Some(Value::Number(n)) => match n.as_i64() {
                            Some(i) => Cell::Int(i),
                            None => Cell::Num(n.as_f64()),
                        },
                        Some(other) => Cell::Text(other.to_string()),
                    })
                    .collect()
            })
            .collect(),
    };
    super::export::csv(&table)
}

/// `/statistiche/dati/{file}`: `aggregati.csv`, `aggregati.json`, `richieste.csv`, `richieste.json`.
pub async fn download(State(app): State<AppState>, Path(file): Path<String>) -> Result<Response> {
    let (name, format) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    let dataset = DATASETS
        .iter()
        .find(|d| d.name == name)
        .ok_or(AppError::NotFound)?;
    if !matches!(format, "csv" | "json") {
        return Err(AppError::NotFound);
    }
    let today = rome_date(app.clock.now());
    let rows = rows(&app, name, today).await?;
    let as_of = today.pred_opt().unwrap_or(today);
    let (content_type, body) = if format == "csv" {
        ("text/csv; charset=utf-8", csv(dataset, &rows))
    } else {
        let document = json!({
            "dataset": dataset.name,
            "publisher": app.organisation_name,
            "licence": { "name": LICENCE.0, "url": LICENCE.1 },
            "data_as_of": as_of,
            "columns": dataset.columns.iter().map(|c| json!({
                "name": c.name, "description_it": c.it, "description_en": c.en,
            })).collect::<Vec<_>>(),
            "rows": rows,
        });
        (
            "application/json",
            serde_json::to_vec(&document).map_err(AppError::internal)?,
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}-{as_of}.{format}\""),
            ),
            (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        ],
        body,
    )
        .into_response())
}
