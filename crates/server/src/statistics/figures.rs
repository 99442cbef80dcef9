//! The numbers of a period, read from the statistics projection with one grouped query per
//! measure (no query per row): volumes, times, deadlines, take-charge per department, backlog by
//! age, activity, satisfaction and FAQ deflections.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use super::period::{Bucket, Period};
use super::quantiles::{Histogram, Quantiles};
use crate::web::Result;

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
    pub forwardings: i64,
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

type Dims = (String, String, String, String);

#[derive(Default)]
struct Lines(BTreeMap<String, Line>);

impl Lines {
    fn line(&mut self, key: &str) -> &mut Line {
        self.0.entry(key.to_string()).or_insert_with(|| Line {
            key: key.to_string(),
            ..Line::default()
        })
    }

    fn into_vec(self) -> Vec<Line> {
        let mut lines: Vec<Line> = self.0.into_values().collect();
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
    let bucket = |column: &str| match period.bucket() {
        Bucket::Day => column.to_string(),
        Bucket::Month => format!("{column} - INTERVAL (DAYOFMONTH({column}) - 1) DAY"),
    };

    // Received, by bucket and dimensions.
    let mut query = QueryBuilder::new(format!(
        "SELECT {}, kind, topic_code, channel, department_id, COUNT(*) FROM stat_requests",
        bucket("received_on")
    ));
    scope.push(&mut query);
    between(&mut query, "received_on", period);
    query.push(" GROUP BY 1, 2, 3, 4, 5");
    let rows: Vec<(NaiveDate, String, String, String, String, i64)> =
        query.build_query_as().fetch_all(pool).await?;
    for (day, kind, topic, channel, department, n) in rows {
        totals.received += n;
        if let Some(point) = trend.get_mut(&day) {
            point.received += n;
        }
        for line in dims_lines(
            &mut kinds,
            &mut topics,
            &mut channels,
            &mut departments,
            &(kind, topic, channel, department),
        ) {
            line.received += n;
        }
    }

    // Answered (the first answer), in time or not, by bucket and dimensions.
    let mut query = QueryBuilder::new(format!(
        "SELECT {}, kind, topic_code, channel, department_id, COUNT(*), CAST(SUM(answered_in_time) AS SIGNED)
           FROM stat_requests",
        bucket("answered_on")
    ));
    scope.push(&mut query);
    between(&mut query, "answered_on", period);
    query.push(" GROUP BY 1, 2, 3, 4, 5");
    let rows: Vec<(NaiveDate, String, String, String, String, i64, i64)> =
        query.build_query_as().fetch_all(pool).await?;
    for (day, kind, topic, channel, department, n, in_time) in rows {
        totals.answered += n;
        totals.answered_in_time += in_time;
        if let Some(point) = trend.get_mut(&day) {
            point.answered += n;
        }
        for line in dims_lines(
            &mut kinds,
            &mut topics,
            &mut channels,
            &mut departments,
            &(kind, topic, channel, department),
        ) {
            line.answered += n;
            line.answered_in_time += in_time;
        }
    }

    // Answer times, overall, per department and per topic.
    let mut query = QueryBuilder::new(
        "SELECT department_id, topic_code, answer_minutes DIV 60, COUNT(*) FROM stat_requests",
    );
    scope.push(&mut query);
    between(&mut query, "answered_on", period);
    query.push(" GROUP BY 1, 2, 3");
    let rows: Vec<(String, String, i64, i64)> = query.build_query_as().fetch_all(pool).await?;
    let mut all = Histogram::default();
    let mut per_department: HashMap<String, Histogram> = HashMap::new();
    let mut per_topic: HashMap<String, Histogram> = HashMap::new();
    for (department, topic, hours, n) in rows {
        all.add(hours, n);
        per_department.entry(department).or_default().add(hours, n);
        per_topic.entry(topic).or_default().add(hours, n);
    }
    totals.answer = all.quantiles();
    for (department, histogram) in per_department {
        departments.line(&department).answer = histogram.quantiles();
    }
    for (topic, histogram) in per_topic {
        topics.line(&topic).answer = histogram.quantiles();
    }

    // First response times.
    let mut query =
        QueryBuilder::new("SELECT first_response_minutes DIV 60, COUNT(*) FROM stat_requests");
    scope.push(&mut query);
    between(&mut query, "first_response_on", period);
    query.push(" GROUP BY 1");
    let rows: Vec<(i64, i64)> = query.build_query_as().fetch_all(pool).await?;
    let mut first = Histogram::default();
    for (hours, n) in rows {
        first.add(hours, n);
    }
    totals.first_response = first.quantiles();

    // Closed in the period.
    let mut query = QueryBuilder::new("SELECT COUNT(*) FROM stat_requests");
    scope.push(&mut query);
    between(&mut query, "closed_on", period);
    totals.closed = query.build_query_scalar().fetch_one(pool).await?;

    // Open at the period's end, by age.
    let mut query = QueryBuilder::new("SELECT CASE WHEN DATEDIFF(");
    query
        .push_bind(period.to)
        .push(", received_on) <= 10 THEN 0 WHEN DATEDIFF(")
        .push_bind(period.to)
        .push(", received_on) <= 30 THEN 1 WHEN DATEDIFF(")
        .push_bind(period.to)
        .push(", received_on) <= 60 THEN 2 ELSE 3 END, COUNT(*) FROM stat_requests");
    scope.push(&mut query);
    query
        .push(" AND (closed_on IS NULL OR closed_on > ")
        .push_bind(period.to)
        .push(") AND received_on <= ")
        .push_bind(period.to)
        .push(" GROUP BY 1");
    let rows: Vec<(i64, i64)> = query.build_query_as().fetch_all(pool).await?;
    let mut aging = [0; 4];
    for (age, n) in rows {
        aging[age.clamp(0, 3) as usize] += n;
    }
    totals.open_at_end = aging.iter().sum();

    // Take-charge times per department.
    let mut query =
        QueryBuilder::new("SELECT department_id, minutes DIV 60, COUNT(*) FROM stat_take_charges");
    scope.push(&mut query);
    between(&mut query, "taken_on", period);
    query.push(" GROUP BY 1, 2");
    let rows: Vec<(String, i64, i64)> = query.build_query_as().fetch_all(pool).await?;
    let mut taken: HashMap<String, Histogram> = HashMap::new();
    for (department, hours, n) in rows {
        taken.entry(department).or_default().add(hours, n);
    }
    for (department, histogram) in taken {
        let line = departments.line(&department);
        line.take_charge = histogram.quantiles();
        line.taken_in_charge = line.take_charge.count;
    }

    // Reminders, redirections, forwardings, reopenings.
    let mut query = QueryBuilder::new(
        "SELECT activity, department_id, CAST(SUM(n) AS SIGNED) FROM stat_activity",
    );
    scope.push(&mut query);
    between(&mut query, "day", period);
    query.push(" GROUP BY 1, 2");
    let rows: Vec<(String, String, i64)> = query.build_query_as().fetch_all(pool).await?;
    for (activity, department, n) in rows {
        match activity.as_str() {
            "reminder" => {
                totals.reminders += n;
                departments.line(&department).reminders += n;
            }
            "redirection" => {
                totals.redirections += n;
                departments.line(&department).redirections += n;
            }
            "forwarding" => totals.forwardings += n,
            "reopening" => totals.reopenings += n,
            _ => {}
        }
    }

    // Satisfaction: the latest rating of the requests rated in the period.
    let mut query = QueryBuilder::new(
        "SELECT topic_code, department_id, stars, reasons, COUNT(*) FROM stat_requests",
    );
    scope.push(&mut query);
    between(&mut query, "rated_on", period);
    query.push(" GROUP BY 1, 2, 3, 4");
    let rows: Vec<(String, String, i8, String, i64)> =
        query.build_query_as().fetch_all(pool).await?;
    let mut stars = [0; 5];
    let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
    for (topic, department, star, chosen, n) in rows {
        totals.ratings += n;
        totals.stars_sum += i64::from(star) * n;
        for line in [topics.line(&topic), departments.line(&department)] {
            line.ratings += n;
            line.stars_sum += i64::from(star) * n;
        }
        if (1..=5).contains(&star) {
            stars[star as usize - 1] += n;
        }
        for reason in chosen.split(',').filter(|r| !r.is_empty()) {
            *reasons.entry(reason.to_string()).or_default() += n;
        }
    }
    let mut reasons: Vec<(String, i64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    if scope.is_whole() {
        let from = sportello_domain::rome_midnight(period.from);
        let to = sportello_domain::rome_midnight(period.to.succ_opt().expect("a next day"));
        let settled = now - crate::faq::deflection::GRACE;
        totals.deflections =
            Some(crate::faq::deflection::answered_between(pool, from, to.min(settled)).await?);
    }

    // Departments without anything in the period are not listed.
    departments.0.retain(|_, line| {
        *line
            != Line {
                key: line.key.clone(),
                ..Line::default()
            }
    });
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

fn between<'a>(query: &mut QueryBuilder<'a, MySql>, column: &str, period: Period) {
    query
        .push(format!(" AND {column} BETWEEN "))
        .push_bind(period.from)
        .push(" AND ")
        .push_bind(period.to);
}

fn dims_lines<'a>(
    kinds: &'a mut Lines,
    topics: &'a mut Lines,
    channels: &'a mut Lines,
    departments: &'a mut Lines,
    (kind, topic, channel, department): &Dims,
) -> [&'a mut Line; 4] {
    [
        kinds.line(kind),
        topics.line(topic),
        channels.line(channel),
        departments.line(department),
    ]
}
