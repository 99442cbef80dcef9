//! The dashboard's tables, built once from the figures: the page shows them beside the charts,
//! and the CSV and XLSX exports write the same cells.

use std::collections::HashMap;

use serde::Serialize;
use sportello_domain::Language;

use super::figures::{share, Figures, Line, AGES};
use super::quantiles::Quantiles;
use crate::web::i18n;

/// One cell: text, a whole number, or a decimal (missing when there is nothing to compute).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    Num(Option<f64>),
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub id: &'static str,
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Names for the codes the figures carry.
pub struct Names {
    pub language: Language,
    pub topics: HashMap<String, String>,
    pub departments: HashMap<String, String>,
}

impl Names {
    fn t(&self, key: &str) -> String {
        i18n::text(self.language, key, &[])
    }

    pub fn kind(&self, code: &str) -> String {
        self.t(&format!("kind.{code}"))
    }

    pub fn channel(&self, code: &str) -> String {
        self.t(&format!("channel.{code}"))
    }

    pub fn topic(&self, code: &str) -> String {
        self.topics
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    pub fn department(&self, id: &str) -> String {
        if id.is_empty() {
            return self.t("statistics.no_department");
        }
        self.departments
            .get(id)
            .cloned()
            .unwrap_or_else(|| self.t("statistics.unknown_department"))
    }

    pub fn reason(&self, code: &str) -> String {
        self.t(&format!("rating.reason.{code}"))
    }

    /// A trend bucket's label: "3 mar" for days, "mar 2026" for months.
    pub fn bucket(&self, figures: &Figures, day: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        let month = self.t(&format!("month.{}", day.month()));
        let short: String = month.chars().take(3).collect();
        match figures.period {
            Some(p) if p.bucket() == super::period::Bucket::Day => format!("{} {short}", day.day()),
            // Within one year the month says it all; across years the year is needed.
            Some(p) if p.from.year() == p.to.year() => short,
            _ => format!("{short} {}", day.year()),
        }
    }
}

/// Hours as days, one decimal.
pub fn days(hours: Option<i64>) -> Cell {
    Cell::Num(hours.map(|h| (h as f64 / 24.0 * 10.0).round() / 10.0))
}

fn rounded(value: Option<f64>) -> Cell {
    Cell::Num(value.map(|v| (v * 10.0).round() / 10.0))
}

/// The headline figures of the period against the previous one.
pub fn summary(current: &Figures, previous: &Figures, names: &Names) -> Table {
    Table {
        id: "summary",
        title: names.t("statistics.table.summary"),
        headers: vec![
            names.t("statistics.col.measure"),
            names.t("statistics.col.period"),
            names.t("statistics.col.previous"),
        ],
        rows: summary_rows(current, previous)
            .into_iter()
            .map(|(key, now, before)| {
                vec![
                    Cell::Text(names.t(&format!("statistics.measure.{key}"))),
                    now,
                    before,
                ]
            })
            .collect(),
    }
}

/// The summary's measures (their keys) with the period's value and the previous period's.
pub fn summary_rows(current: &Figures, previous: &Figures) -> Vec<(&'static str, Cell, Cell)> {
    let (c, p) = (&current.totals, &previous.totals);
    vec![
        ("received", Cell::Int(c.received), Cell::Int(p.received)),
        ("answered", Cell::Int(c.answered), Cell::Int(p.answered)),
        ("closed", Cell::Int(c.closed), Cell::Int(p.closed)),
        (
            "open_at_end",
            Cell::Int(c.open_at_end),
            Cell::Int(p.open_at_end),
        ),
        (
            "in_time_share",
            rounded(c.in_time_share()),
            rounded(p.in_time_share()),
        ),
        (
            "first_response_median",
            days(c.first_response.median),
            days(p.first_response.median),
        ),
        (
            "first_response_p90",
            days(c.first_response.p90),
            days(p.first_response.p90),
        ),
        (
            "answer_median",
            days(c.answer.median),
            days(p.answer.median),
        ),
        ("answer_p90", days(c.answer.p90), days(p.answer.p90)),
        ("reminders", Cell::Int(c.reminders), Cell::Int(p.reminders)),
        (
            "redirections",
            Cell::Int(c.redirections),
            Cell::Int(p.redirections),
        ),
        (
            "reopenings",
            Cell::Int(c.reopenings),
            Cell::Int(p.reopenings),
        ),
        ("ratings", Cell::Int(c.ratings), Cell::Int(p.ratings)),
        (
            "average_stars",
            rounded(c.average_stars()),
            rounded(p.average_stars()),
        ),
        (
            "deflections",
            c.deflections.map_or(Cell::Num(None), Cell::Int),
            p.deflections.map_or(Cell::Num(None), Cell::Int),
        ),
    ]
}

/// Volumes and deadlines by one dimension.
pub fn by_dimension(id: &'static str, lines: &[Line], names: &Names) -> Table {
    let label = |key: &str| match id {
        "by_kind" => names.kind(key),
        "by_channel" => names.channel(key),
        "by_topic" => names.topic(key),
        _ => names.department(key),
    };
    Table {
        id,
        title: names.t(&format!("statistics.table.{id}")),
        headers: vec![
            names.t(&format!("statistics.col.{id}")),
            names.t("statistics.measure.received"),
            names.t("statistics.measure.answered"),
            names.t("statistics.measure.in_time_share"),
        ],
        rows: lines
            .iter()
            .map(|line| {
                vec![
                    Cell::Text(label(&line.key)),
                    Cell::Int(line.received),
                    Cell::Int(line.answered),
                    rounded(share(line.answered_in_time, line.answered)),
                ]
            })
            .collect(),
    }
}

/// Per department: answers, deadlines, answer times, taking in charge and reminders.
pub fn departments(figures: &Figures, names: &Names) -> Table {
    let quantile_cells = |q: &Quantiles| [days(q.median), days(q.p90)];
    Table {
        id: "departments",
        title: names.t("statistics.table.departments"),
        headers: [
            "statistics.col.by_department",
            "statistics.measure.answered",
            "statistics.measure.in_time_share",
            "statistics.measure.answer_median",
            "statistics.measure.answer_p90",
            "statistics.col.taken_in_charge",
            "statistics.col.take_charge_median",
            "statistics.col.take_charge_p90",
            "statistics.measure.reminders",
        ]
        .iter()
        .map(|key| names.t(key))
        .collect(),
        rows: figures
            .by_department
            .iter()
            .map(|line| {
                let mut row = vec![
                    Cell::Text(names.department(&line.key)),
                    Cell::Int(line.answered),
                    rounded(share(line.answered_in_time, line.answered)),
                ];
                row.extend(quantile_cells(&line.answer));
                row.push(Cell::Int(line.taken_in_charge));
                row.extend(quantile_cells(&line.take_charge));
                row.push(Cell::Int(line.reminders));
                row
            })
            .collect(),
    }
}

pub fn trend(figures: &Figures, names: &Names) -> Table {
    Table {
        id: "trend",
        title: names.t("statistics.table.trend"),
        headers: vec![
            names.t("statistics.col.when"),
            names.t("statistics.measure.received"),
            names.t("statistics.measure.answered"),
        ],
        rows: figures
            .trend
            .iter()
            .map(|point| {
                vec![
                    Cell::Text(names.bucket(figures, point.bucket)),
                    Cell::Int(point.received),
                    Cell::Int(point.answered),
                ]
            })
            .collect(),
    }
}

pub fn aging(figures: &Figures, names: &Names) -> Table {
    Table {
        id: "aging",
        title: names.t("statistics.table.aging"),
        headers: vec![
            names.t("statistics.col.age"),
            names.t("statistics.col.requests"),
        ],
        rows: AGES
            .iter()
            .zip(figures.aging)
            .map(|(age, n)| {
                vec![
                    Cell::Text(names.t(&format!("statistics.age.{age}"))),
                    Cell::Int(n),
                ]
            })
            .collect(),
    }
}

pub fn satisfaction(figures: &Figures, names: &Names) -> Table {
    let mut rows: Vec<Vec<Cell>> = (1..=5)
        .rev()
        .map(|stars| {
            vec![
                Cell::Text(i18n::text(
                    names.language,
                    if stars == 1 {
                        "statistics.star"
                    } else {
                        "statistics.stars"
                    },
                    &[("n", &stars.to_string())],
                )),
                Cell::Int(figures.stars[stars - 1]),
            ]
        })
        .collect();
    rows.extend(
        figures
            .reasons
            .iter()
            .map(|(code, n)| vec![Cell::Text(names.reason(code)), Cell::Int(*n)]),
    );
    Table {
        id: "satisfaction",
        title: names.t("statistics.table.satisfaction"),
        headers: vec![
            names.t("statistics.col.answer"),
            names.t("statistics.col.requests"),
        ],
        rows,
    }
}

/// Every table of the dashboard, in the page's order.
pub fn all(current: &Figures, previous: &Figures, names: &Names) -> Vec<Table> {
    vec![
        summary(current, previous, names),
        trend(current, names),
        by_dimension("by_kind", &current.by_kind, names),
        by_dimension("by_topic", &current.by_topic, names),
        by_dimension("by_channel", &current.by_channel, names),
        by_dimension("by_department", &current.by_department, names),
        departments(current, names),
        aging(current, names),
        satisfaction(current, names),
    ]
}

/// A cell as the page shows it, in the reader's language.
pub fn shown(cell: &Cell, language: Language) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Num(None) => "–".to_string(),
        Cell::Num(Some(v)) => {
            let text = format!("{v:.1}");
            if language == Language::It {
                text.replace('.', ",")
            } else {
                text
            }
        }
    }
}
