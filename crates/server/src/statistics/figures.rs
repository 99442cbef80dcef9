//! The numbers of a period, read from the statistics projection's cells (the coarsest that
//! cover the period) and, for the last sixty days of the backlog, its request rows — a few
//! queries whatever the period, none per row: volumes, times, deadlines, take-charge per
//! department, backlog by age, activity, satisfaction and FAQ deflections.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use sportello_projections::statistics::{Cell, Dims, Grain, Hours, CELL_COLUMNS, HOURS_AT};
use sqlx::mysql::MySqlRow;
use sqlx::Row;

use super::period::{Bucket, Period};
use super::quantiles::{Histogram, Quantiles};
use crate::web::Result;

/// The smallest count shown in public as it is (smaller ones are pooled or held back).
pub const SMALL: i64 = 5;

/// Whose requests are counted: the organisation, optionally some departments only (a referent's),
/// and the filters chosen.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub organisation_id: String,
    /// `Some` restricts to these departments; `None` counts every request.
    pub departments: Option<Vec<String>>,
    pub kind: Option<String>,
    pub topic: Option<String>,
    pub channel: Option<String>,
    pub department: Option<String>,
}

impl Scope {
    /// Whether nothing narrows the organisation's requests (FAQ deflections cannot be filtered).
    pub fn is_whole(&self) -> bool {
        self.departments.is_none()
            && self.kind.is_none()
            && self.topic.is_none()
            && self.channel.is_none()
            && self.department.is_none()
    }

    fn push<'a>(&'a self, query: &mut QueryBuilder<'a, MySql>) {
        query
            .push(" WHERE organisation_id = ")
            .push_bind(&self.organisation_id);
        sportello_projections::sql::push_departments(query, &self.departments);
        sportello_projections::sql::push_equal(
            query,
            &[
                ("kind", &self.kind),
                ("topic_code", &self.topic),
                ("channel", &self.channel),
                ("department_id", &self.department),
            ],
        );
    }
}

/// The backlog's age classes, in days since receipt at the period's end.
pub const AGES: [&str; 4] = ["0-10", "11-30", "31-60", "60+"];

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub received: i64,
    pub answered: i64,
    pub answered_in_time: i64,
    pub closed: i64,
    pub open_at_end: i64,
    pub first_response: Quantiles,
    pub answer: Quantiles,
    pub redirections: i64,
    pub reminders: i64,
    pub reopenings: i64,
    pub ratings: i64,
    pub stars_sum: i64,
    /// FAQ deflections (only for the whole organisation, unfiltered).
    pub deflections: Option<i64>,
}

impl Totals {
    /// Share of the answers given within the deadline, in percent.
    pub fn in_time_share(&self) -> Option<f64> {
        share(self.answered_in_time, self.answered)
    }

    pub fn average_stars(&self) -> Option<f64> {
        (self.ratings > 0).then(|| self.stars_sum as f64 / self.ratings as f64)
    }
}

pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// One value of a dimension (a kind, topic, channel or department) and its numbers.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Line {
    pub key: String,
    pub received: i64,
    pub answered: i64,
    pub answered_in_time: i64,
    pub answer: Quantiles,
    pub taken_in_charge: i64,
    pub take_charge: Quantiles,
    pub reminders: i64,
    pub redirections: i64,
    pub ratings: i64,
    pub stars_sum: i64,
}

impl Line {
    pub fn average_stars(&self) -> Option<f64> {
        (self.ratings > 0).then(|| self.stars_sum as f64 / self.ratings as f64)
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TrendPoint {
    pub bucket: NaiveDate,
    pub received: i64,
    pub answered: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    pub period: Option<Period>,
    pub totals: Totals,
    pub trend: Vec<TrendPoint>,
    pub by_kind: Vec<Line>,
    pub by_topic: Vec<Line>,
    pub by_channel: Vec<Line>,
    pub by_department: Vec<Line>,
    /// Open at the period's end, by age class (`AGES`).
    pub aging: [i64; 4],
    /// Ratings by stars, 1 to 5.
    pub stars: [i64; 5],
    /// Reasons chosen with the ratings, most chosen first.
    pub reasons: Vec<(String, i64)>,
}

#[derive(Default)]
struct Lines(BTreeMap<String, Line>);

impl Lines {
    fn line(&mut self, key: &str) -> &mut Line {
        self.0.entry(key.to_string()).or_insert_with(|| Line {
            key: key.to_string(),
            ..Line::default()
        })
    }

    /// The lines with something in the period, busiest first.
    fn into_vec(self) -> Vec<Line> {
        let mut lines: Vec<Line> = self
            .0
            .into_values()
            .filter(|line| {
                *line
                    != Line {
                        key: line.key.clone(),
                        ..Line::default()
                    }
            })
            .collect();
        lines.sort_by(|a, b| b.received.cmp(&a.received).then(a.key.cmp(&b.key)));
        lines
    }
}

/// Everything the dashboard shows for one period.
pub async fn compute(
    pool: &MySqlPool,
    scope: &Scope,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Figures> {
    let mut totals = Totals::default();
    let (mut kinds, mut topics, mut channels, mut departments) = (
        Lines::default(),
        Lines::default(),
        Lines::default(),
        Lines::default(),
    );
    let mut trend: BTreeMap<NaiveDate, TrendPoint> = period
        .buckets()
        .into_iter()
        .map(|bucket| {
            (
                bucket,
                TrendPoint {
                    bucket,
                    ..TrendPoint::default()
                },
            )
        })
        .collect();
    let mut all_answers = Histogram::default();
    let mut first_responses = Histogram::default();
    let mut answers_by_department: HashMap<String, Histogram> = HashMap::new();
    let mut answers_by_topic: HashMap<String, Histogram> = HashMap::new();
    let mut taken: HashMap<String, Histogram> = HashMap::new();
    let mut stars = [0; 5];
    let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
    // Independent queries, run together.
    let (rows, buckets, aging) = tokio::try_join!(
        cells(pool, scope, period),
        by_bucket(pool, scope, period),
        backlog(pool, scope, period.to),
    )?;
    for row in rows {
        let dims = Dims {
            kind: row.try_get(1)?,
            topic_code: row.try_get(2)?,
            channel: row.try_get(3)?,
            department_id: row.try_get(4)?,
        };
        let cell = Cell::read_counts(&row, 5)?;
        let hours = |i: usize| row.try_get::<&[u8], _>(5 + HOURS_AT + i);
        totals.received += cell.received;
        totals.answered += cell.answered;
        totals.answered_in_time += cell.answered_in_time;
        totals.closed += cell.closed;
        totals.reminders += cell.reminders;
        totals.redirections += cell.redirections;
        totals.reopenings += cell.reopenings;
        totals.ratings += cell.ratings;
        totals.stars_sum += cell.stars_sum();
        for (all, n) in stars.iter_mut().zip(cell.stars) {
            *all += n;
        }
        for (reason, n) in &cell.reasons {
            *reasons.entry(reason.clone()).or_default() += n;
        }
        // Satisfaction is shown by topic and by department only.
        for (line, rated) in [
            (kinds.line(&dims.kind), false),
            (topics.line(&dims.topic_code), true),
            (channels.line(&dims.channel), false),
            (departments.line(&dims.department_id), true),
        ] {
            line.received += cell.received;
            line.answered += cell.answered;
            line.answered_in_time += cell.answered_in_time;
            if rated {
                line.ratings += cell.ratings;
                line.stars_sum += cell.stars_sum();
            }
        }
        let department = departments.line(&dims.department_id);
        department.reminders += cell.reminders;
        department.redirections += cell.redirections;
        let (first, answer, take_charge) = (hours(0)?, hours(1)?, hours(2)?);
        Hours::decode(first, |hours, n| first_responses.add(hours, n));
        if !answer.is_empty() {
            let department = answers_by_department
                .entry(dims.department_id.clone())
                .or_default();
            let topic = answers_by_topic.entry(dims.topic_code.clone()).or_default();
            Hours::decode(answer, |hours, n| {
                all_answers.add(hours, n);
                department.add(hours, n);
                topic.add(hours, n);
            });
        }
        if !take_charge.is_empty() {
            let department = taken.entry(dims.department_id.clone()).or_default();
            Hours::decode(take_charge, |hours, n| department.add(hours, n));
        }
    }
    totals.answer = all_answers.quantiles();
    totals.first_response = first_responses.quantiles();
    for (department, histogram) in answers_by_department {
        departments.line(&department).answer = histogram.quantiles();
    }
    for (topic, histogram) in answers_by_topic {
        topics.line(&topic).answer = histogram.quantiles();
    }
    for (department, histogram) in taken {
        let line = departments.line(&department);
        line.take_charge = histogram.quantiles();
        line.taken_in_charge = line.take_charge.count;
    }
    let mut reasons: Vec<(String, i64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (day, received, answered) in buckets {
        if let Some(point) = trend.get_mut(&period.bucket_of(day)) {
            point.received += received;
            point.answered += answered;
        }
    }
    totals.open_at_end = aging.iter().sum();

    if scope.is_whole() {
        let from = sportello_domain::rome_midnight(period.from);
        let to = sportello_domain::rome_midnight(period.to.succ_opt().expect("a next day"));
        let settled = now - crate::faq::DEFLECTION_GRACE;
        totals.deflections =
            Some(crate::faq::deflections_between(pool, from, to.min(settled)).await?);
    }

    Ok(Figures {
        period: Some(period),
        totals,
        trend: trend.into_values().collect(),
        by_kind: kinds.into_vec(),
        by_topic: topics.into_vec(),
        by_channel: channels.into_vec(),
        by_department: departments.into_vec(),
        aging,
        stars,
        reasons,
    })
}

/// The cells that make up the period (the years it covers whole, then the months, then the days
/// at its edges): day, kind, topic, channel, department, `CELL_COLUMNS`.
async fn cells(pool: &MySqlPool, scope: &Scope, period: Period) -> Result<Vec<MySqlRow>> {
    let mut query = QueryBuilder::new(format!(
        "SELECT day, kind, topic_code, channel, department_id, {CELL_COLUMNS} FROM stat_cells"
    ));
    scope.push(&mut query);
    query.push(" AND (");
    push_spans(&mut query, &Grain::Year.spans(period.from, period.to));
    query.push(")");
    Ok(query.build().fetch_all(pool).await?)
}

/// Received and answered by cell date, from cells no coarser than the trend's buckets.
async fn by_bucket(
    pool: &MySqlPool,
    scope: &Scope,
    period: Period,
) -> Result<Vec<(NaiveDate, i64, i64)>> {
    let finest = match period.bucket() {
        Bucket::Day => Grain::Day,
        Bucket::Month => Grain::Month,
    };
    let mut query = QueryBuilder::new(
        "SELECT day, CAST(SUM(received) AS SIGNED), CAST(SUM(answered) AS SIGNED) FROM stat_cells",
    );
    scope.push(&mut query);
    query.push(" AND (");
    push_spans(&mut query, &finest.spans(period.from, period.to));
    query.push(") GROUP BY day");
    Ok(query.build_query_as().fetch_all(pool).await?)
}

fn push_spans<'a>(query: &mut QueryBuilder<'a, MySql>, spans: &[(Grain, NaiveDate, NaiveDate)]) {
    if spans.is_empty() {
        query.push("FALSE");
    }
    for (i, (grain, from, to)) in spans.iter().enumerate() {
        if i > 0 {
            query.push(" OR ");
        }
        query
            .push("(grain = ")
            .push_bind(grain.code())
            .push(" AND day BETWEEN ")
            .push_bind(*from)
            .push(" AND ")
            .push_bind(*to)
            .push(")");
    }
}

/// Requests open at the end of `day` (received by then and not closed by then), by age class.
/// The last sixty days are counted request by request; the older ones as everything received
/// before them less what of it was closed by `day`, both summed from the cells.
async fn backlog(pool: &MySqlPool, scope: &Scope, day: NaiveDate) -> Result<[i64; 4]> {
    let window = day - chrono::Days::new(60);
    let mut query = QueryBuilder::new("SELECT CASE WHEN closed_on <= ");
    query
        .push_bind(day)
        .push(" THEN 4 WHEN DATEDIFF(")
        .push_bind(day)
        .push(", received_on) <= 10 THEN 0 WHEN DATEDIFF(")
        .push_bind(day)
        .push(", received_on) <= 30 THEN 1 ELSE 2 END, COUNT(*) FROM stat_requests");
    scope.push(&mut query);
    query
        .push(" AND received_on BETWEEN ")
        .push_bind(window)
        .push(" AND ")
        .push_bind(day)
        .push(" GROUP BY 1");
    let oldest = window.pred_opt().expect("a day before");
    let (rows, received_before, closed_by_then) = tokio::try_join!(
        async {
            let rows: Vec<(i64, i64)> = query.build_query_as().fetch_all(pool).await?;
            Ok::<_, crate::web::AppError>(rows)
        },
        sum_until(pool, scope, "received", oldest),
        sum_until(pool, scope, "closed", day),
    )?;
    let mut aging = [0; 4];
    let mut closed_in_window = 0;
    for (class, n) in rows {
        match class {
            0..=2 => aging[class as usize] += n,
            _ => closed_in_window += n,
        }
    }
    aging[3] = received_before - (closed_by_then - closed_in_window);
    Ok(aging)
}

/// The sum of a cell column over every day up to `day`.
async fn sum_until(pool: &MySqlPool, scope: &Scope, column: &str, day: NaiveDate) -> Result<i64> {
    let mut query = QueryBuilder::new(format!(
        "SELECT CAST(COALESCE(SUM({column}), 0) AS SIGNED) FROM stat_cells"
    ));
    scope.push(&mut query);
    query.push(" AND (");
    let beginning = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    push_spans(&mut query, &Grain::Year.spans(beginning, day));
    query.push(")");
    Ok(query.build_query_scalar().fetch_one(pool).await?)
}
