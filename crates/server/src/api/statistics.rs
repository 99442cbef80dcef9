//! The statistics of a period through the API: the dashboard's figures (totals with answer-time
//! quantiles, the trend, each kind, topic, channel and department, the backlog's ages, ratings),
//! read from the statistics projection like the dashboard. A department-limited client counts
//! its departments only, as a referent does.

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sportello_domain::{rome_date, Channel, Kind};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Caller;
use super::clients::Scope;
use super::problem::{ApiError, Fault};
use crate::state::AppState;
use crate::statistics::{compute_figures, parse_period, FiguresScope, AGES};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct StatisticsQuery {
    /// The period's first day (YYYY-MM-DD; default: the first of January of this year).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// The period's last day (YYYY-MM-DD; default: today).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    kind: Option<String>,
    topic: Option<String>,
    channel: Option<String>,
    /// A department's id.
    department: Option<String>,
}

/// The figures of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Statistics {
    #[schema(value_type = String, format = Date)]
    from: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    to: chrono::NaiveDate,
    /// Received, answered (in time), closed, open at the end, first response and answer times
    /// (count, median and 90th percentile in hours), redirections, reminders, reopenings,
    /// ratings.
    #[schema(value_type = Object)]
    totals: serde_json::Value,
    /// Received and answered per day, week or month.
    #[schema(value_type = Vec<Object>)]
    trend: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    by_kind: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    by_topic: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    by_channel: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    by_department: serde_json::Value,
    /// Requests open at the period's end by days since receipt: 0-10, 11-30, 31-60, 60+.
    aging: Vec<AgeClass>,
    /// Ratings by stars, 1 to 5.
    stars: [i64; 5],
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgeClass {
    days: &'static str,
    requests: i64,
}

/// The dashboard's figures for a period.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistics",
    params(StatisticsQuery),
    responses(
        (status = 200, description = "The figures", body = Statistics),
        (status = 422, description = "A parameter was refused", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["statistics:read"])))]
pub async fn figures(
    State(app): State<AppState>,
    caller: Caller,
    Query(query): Query<StatisticsQuery>,
) -> Result<Json<Statistics>, ApiError> {
    caller.needs(Scope::StatisticsRead)?;
    let client = &caller.0;
    let now = app.clock.now();
    let mut faults: Vec<Fault> = Vec::new();
    let period = parse_period(
        query.from.as_deref().unwrap_or(""),
        query.to.as_deref().unwrap_or(""),
        rome_date(now),
    )
    .map_err(|key| {
        let field = if key == "statistics.error.to" {
            "to"
        } else {
            "from"
        };
        ApiError::Invalid(vec![(field.to_string(), key, None)])
    })?;
    let given = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let kind = given(&query.kind);
    if kind.as_deref().is_some_and(|k| Kind::parse(k).is_none()) {
        faults.push(("kind".into(), "api.error.unknown_value", None));
    }
    let channel = given(&query.channel);
    if channel
        .as_deref()
        .is_some_and(|c| !Channel::ALL.iter().any(|known| known.code() == c))
    {
        faults.push(("channel".into(), "api.error.unknown_value", None));
    }
    let department = given(&query.department);
    if department
        .as_deref()
        .is_some_and(|d| Uuid::parse_str(d).is_err())
    {
        faults.push(("department".into(), "api.error.unknown_value", None));
    }
    if !faults.is_empty() {
        return Err(ApiError::Invalid(faults));
    }
    let scope = FiguresScope {
        organisation_id: client.organisation_id.to_string(),
        departments: (!client.departments.is_empty())
            .then(|| client.departments.iter().map(Uuid::to_string).collect()),
        kind,
        topic: given(&query.topic),
        channel,
        department,
    };
    let figures = compute_figures(&app.pool, &scope, period, now).await?;
    fn value(v: &impl Serialize) -> serde_json::Value {
        serde_json::to_value(v).unwrap_or_default()
    }
    Ok(Json(Statistics {
        from: period.from,
        to: period.to,
        totals: value(&figures.totals),
        trend: value(&figures.trend),
        by_kind: value(&figures.by_kind),
        by_topic: value(&figures.by_topic),
        by_channel: value(&figures.by_channel),
        by_department: value(&figures.by_department),
        aging: AGES
            .iter()
            .zip(figures.aging)
            .map(|(days, requests)| AgeClass { days, requests })
            .collect(),
        stars: figures.stars,
    }))
}
