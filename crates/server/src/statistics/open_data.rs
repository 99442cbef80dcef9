//! Open data: anonymised aggregates (per month and topic) and anonymised request records (no
//! names, contacts, free text or exact dates: the month of receipt, the classifications and the
//! times), as CSV and as JSON with a description of each column and the licence. The files show
//! the data as of the end of yesterday (Rome): every milestone dated today is left out, so a
//! file is the same all day and changes once a day. Aggregates suppress small counts like the
//! transparency page. The files are made once a day and kept (`open_files`).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sportello_domain::Language;

use super::figures::SMALL;
use super::quantiles::Histogram;
use crate::state::AppState;
use crate::web::{AppError, Result};

pub const LICENCE: (&str, &str) = (
    "Creative Commons Attribution 4.0 (CC BY 4.0)",
    "https://creativecommons.org/licenses/by/4.0/",
);

/// A column of a dataset; its description is `opendata.<dataset>.<column>` in the catalogue.
#[derive(Debug, Serialize)]
pub struct Column {
    pub name: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Dataset {
    pub name: &'static str,
    pub columns: &'static [Column],
}

const fn c(name: &'static str) -> Column {
    Column { name }
}

/// What a column holds, from the translation catalogue.
pub fn description(language: Language, dataset: &Dataset, column: &Column) -> String {
    crate::web::i18n::text(
        language,
        &format!("opendata.{}.{}", dataset.name, column.name),
        &[],
    )
}

pub const DATASETS: &[Dataset] = &[
    Dataset {
        name: "aggregati",
        columns: &[
            c("mese"),
            c("argomento"),
            c("argomento_nome"),
            c("ricevute"),
            c("con_risposta"),
            c("entro_scadenza_percentuale"),
            c("mediana_giorni_risposta"),
            c("valutazioni"),
            c("media_stelle"),
        ],
    },
    Dataset {
        name: "richieste",
        columns: &[
            c("mese"),
            c("tipo"),
            c("argomento"),
            c("canale"),
            c("ufficio"),
            c("stato"),
            c("giorni_prima_risposta"),
            c("giorni_risposta"),
            c("entro_scadenza"),
            c("reindirizzata"),
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

/// Where a dataset's rows go, one at a time (the open data file being written).
pub(super) trait Rows {
    async fn row(&mut self, row: &Map<String, Value>) -> Result<()>;
}

/// Writes the rows of a dataset as of the end of the day before `today`.
pub(super) async fn write_rows(
    app: &AppState,
    name: &str,
    today: NaiveDate,
    out: &mut impl Rows,
) -> Result<()> {
    let organisation = app.organisation_id.to_string();
    match name {
        "richieste" => {
            let departments =
                crate::directory::department_names(&app.pool, app.organisation_id).await?;
            let mut records = sqlx::query_as::<_, Record>(
                "SELECT DATE_FORMAT(received_on, '%Y-%m'), kind, topic_code, channel, department_id,
                        first_response_on, first_response_minutes, answered_on, answer_minutes,
                        answered_in_time, closed_on, redirected_on
                   FROM stat_requests WHERE organisation_id = ? AND received_on < ?
                  ORDER BY 1, topic_code, kind, channel, aggregate_id",
            )
            .bind(&organisation)
            .bind(today)
            .fetch(&app.pool);
            while let Some(record) = records.try_next().await? {
                out.row(&record_row(record, &departments, today)).await?;
            }
            Ok(())
        }
        "aggregati" => {
            for row in aggregates(app, today).await? {
                out.row(&row).await?;
            }
            Ok(())
        }
        _ => Err(AppError::NotFound),
    }
}

/// One request's anonymised record.
fn record_row(
    record: Record,
    departments: &HashMap<uuid::Uuid, String>,
    today: NaiveDate,
) -> Map<String, Value> {
    let (
        month,
        kind,
        topic,
        channel,
        department,
        first_on,
        first,
        answered_on,
        answer,
        in_time,
        closed_on,
        redirected_on,
    ) = record;
    let before = |d: Option<NaiveDate>| d.is_some_and(|d| d < today);
    let answered = before(answered_on);
    let status = if before(closed_on) {
        "chiusa"
    } else if answered {
        "con_risposta"
    } else {
        "aperta"
    };
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
}

/// Requests per month of receipt and topic, small counts suppressed.
async fn aggregates(app: &AppState, today: NaiveDate) -> Result<Vec<Map<String, Value>>> {
    let organisation = app.organisation_id.to_string();
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
        crate::directory::all_topics(&app.pool, app.organisation_id)
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
