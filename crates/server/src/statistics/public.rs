//! The public transparency page: a year's anonymised aggregate statistics — volumes, share
//! answered in time, median answer time and satisfaction, overall, by topic and by department.
//! Small counts are suppressed so that nobody can be singled out: a topic or department with
//! fewer than `SMALL` requests is pooled into "other", a count below `SMALL` shows as "fewer
//! than 5", and a share, median or average is shown only when it rests on at least `SMALL`
//! requests.

use crate::state::Desk;
use axum::extract::Query;
use axum::response::{Html, IntoResponse, Response};
use chrono::Datelike;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::{rome_date, Language};

use super::figures::{self, share, Figures, Line, Scope, SMALL};
use super::period::Period;
use super::report::{self, Cell};
use crate::state::AppState;
use crate::web::{i18n, Page, Result};

/// A line of the public tables, already formatted and suppressed.
#[derive(Debug, Serialize, PartialEq)]
pub struct PublicLine {
    pub label: String,
    pub received: String,
    pub answered: String,
    pub in_time: String,
    pub median_days: String,
    pub stars: String,
}

fn count(n: i64, language: Language) -> String {
    if n > 0 && n < SMALL {
        i18n::text(language, "transparency.fewer", &[("n", &SMALL.to_string())])
    } else {
        n.to_string()
    }
}

fn guarded(value: Option<f64>, base: i64, language: Language) -> String {
    if base < SMALL {
        "–".to_string()
    } else {
        report::shown(
            &Cell::Num(value.map(|v| (v * 10.0).round() / 10.0)),
            language,
        )
    }
}

fn public_line(label: String, line: &Line, language: Language) -> PublicLine {
    let median = report::days(line.answer.median);
    let median = match median {
        Cell::Num(v) => v,
        _ => None,
    };
    PublicLine {
        label,
        received: count(line.received, language),
        answered: count(line.answered, language),
        in_time: guarded(
            share(line.answered_in_time, line.answered),
            line.answered,
            language,
        ),
        median_days: guarded(median, line.answer.count, language),
        stars: guarded(line.average_stars(), line.ratings, language),
    }
}

/// The lines of a dimension with small ones pooled into one "other" line (whose times cannot be
/// computed from the pooled lines and are not shown).
pub fn suppressed(
    lines: &[Line],
    label: impl Fn(&str) -> String,
    other: &str,
    language: Language,
) -> Vec<PublicLine> {
    let mut out = Vec::new();
    let mut pooled = Line::default();
    let mut any_pooled = false;
    for line in lines {
        if line.received >= SMALL {
            out.push(public_line(label(&line.key), line, language));
        } else if line.received > 0 || line.answered > 0 {
            any_pooled = true;
            pooled.received += line.received;
            pooled.answered += line.answered;
            pooled.answered_in_time += line.answered_in_time;
        }
    }
    if any_pooled {
        let mut line = public_line(other.to_string(), &pooled, language);
        line.median_days = "–".into();
        line.stars = "–".into();
        out.push(line);
    }
    out
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct YearQuery {
    anno: String,
}

/// The years with requests, newest first (at least the current one).
async fn years(app: &AppState, current: i32) -> Result<Vec<i32>> {
    let first: Option<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT MIN(received_on) FROM stat_requests WHERE organisation_id = ?")
            .bind(app.organisation_id.to_string())
            .fetch_one(&app.pool)
            .await?;
    let first = first.map(|d| d.year()).unwrap_or(current).min(current);
    Ok((first..=current).rev().collect())
}

pub async fn page(
    Desk { app, language }: Desk,
    Query(query): Query<YearQuery>,
) -> Result<Response> {
    let now = app.clock.now();
    let today = rome_date(now);
    let years = years(&app, today.year()).await?;
    let year = query
        .anno
        .parse::<i32>()
        .ok()
        .filter(|y| years.contains(y))
        .unwrap_or(today.year());
    let period = Period::year(year);
    let period = Period::new(period.from, period.to.min(today).max(period.from));
    let scope = Scope {
        organisation_id: app.organisation_id.to_string(),
        ..Scope::default()
    };
    let figures: Figures = figures::compute(&app.pool, &scope, period, now).await?;
    let names = super::dashboard::names(&app, language).await?;
    let t = |key: &str| i18n::text(language, key, &[]);
    let whole = Line {
        received: figures.totals.received,
        answered: figures.totals.answered,
        answered_in_time: figures.totals.answered_in_time,
        answer: figures.totals.answer,
        ratings: figures.totals.ratings,
        stars_sum: figures.totals.stars_sum,
        ..Line::default()
    };
    let totals = public_line(t("transparency.all"), &whole, language);
    let by_topic = suppressed(
        &figures.by_topic,
        |k| names.topic(k),
        &t("transparency.other_topics"),
        language,
    );
    let by_department = suppressed(
        &figures.by_department,
        |k| {
            if k.is_empty() {
                t("transparency.urp")
            } else {
                names.department(k)
            }
        },
        &t("transparency.other_departments"),
        language,
    );
    let page = Page::new(
        language,
        "/statistiche",
        &app.organisation_name,
        "transparency.title",
    );
    let body = app.templates.render(
        "statistics/public.html",
        context! {
            lang => page.lang, page, year, years, totals, by_topic, by_department,
            small => SMALL,
            through => i18n::long_date(language, period.to),
            datasets => super::open_data::DATASETS,
        },
    )?;
    Ok(Html(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statistics::quantiles::Quantiles;

    fn line(key: &str, received: i64, answered: i64, in_time: i64, median_hours: i64) -> Line {
        Line {
            key: key.into(),
            received,
            answered,
            answered_in_time: in_time,
            answer: Quantiles {
                count: answered,
                median: Some(median_hours),
                p90: None,
            },
            ..Line::default()
        }
    }

    #[test]
    fn small_lines_are_pooled_and_small_bases_hide_shares_and_medians() {
        let lines = vec![
            line("tributi", 12, 10, 9, 48),
            line("scuola", 6, 3, 3, 24),
            line("sport", 2, 2, 1, 24),
            line("cultura", 1, 0, 0, 0),
        ];
        let out = suppressed(&lines, |k| k.to_string(), "altri", Language::It);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0],
            PublicLine {
                label: "tributi".into(),
                received: "12".into(),
                answered: "10".into(),
                in_time: "90,0".into(),
                median_days: "2,0".into(),
                stars: "–".into(),
            }
        );
        // Six received, three answered: the count of answers is too small to show, and so are
        // the share and the median resting on it.
        assert_eq!(out[1].received, "6");
        assert_eq!(
            out[1].answered,
            i18n::text(Language::It, "transparency.fewer", &[("n", "5")])
        );
        assert_eq!(
            (out[1].in_time.as_str(), out[1].median_days.as_str()),
            ("–", "–")
        );
        // "sport" and "cultura" pooled: 3 received, still too few to show.
        assert_eq!(out[2].label, "altri");
        assert_eq!(out[2].received, out[1].answered);
        assert_eq!(out[2].median_days, "–");
    }

    #[test]
    fn zero_is_not_suppressed() {
        assert_eq!(count(0, Language::En), "0");
        assert_eq!(count(5, Language::En), "5");
        assert_ne!(count(4, Language::En), "4");
    }
}
