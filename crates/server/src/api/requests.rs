//! Requests through the API: the list with the inbox's filters and a keyset cursor (read from
//! the queue projection, like the inbox), and one request with its timeline (read from its own
//! events, like the back office's page, so access is decided on what is recorded).

use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::{rome_date, Channel, Kind, RequestEvent, Sealed, Status};
use sportello_projections::queue::{self, InboxFilter, InboxSort};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Caller;
use super::clients::Scope;
use super::problem::{ApiError, Fault, Problem};
use crate::backoffice::{visible_within, Visible};
use crate::personal;
use crate::state::AppState;

/// The list's filters, as the inbox offers them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A status.
    #[param(schema_with = statuses)]
    status: Option<String>,
    /// A kind of request.
    #[param(schema_with = kinds)]
    kind: Option<String>,
    /// A topic's code.
    topic: Option<String>,
    /// A department's id.
    department: Option<String>,
    /// How it came.
    #[param(schema_with = channels)]
    channel: Option<String>,
    /// Received on or after this day (Europe/Rome, YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    received_from: Option<String>,
    /// Received on or before this day (Europe/Rome, YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    received_to: Option<String>,
    /// Only requests past their answer deadline and not answered.
    #[param(value_type = Option<bool>)]
    overdue: Option<String>,
    /// `false`: only the requests the protocollo informatico has not registered yet.
    #[param(value_type = Option<bool>)]
    protocolled: Option<String>,
    /// Words, a reference (YYYY/NNNNNNN) or a citizen's e-mail address.
    q: Option<String>,
    /// Newest (default) or oldest first.
    #[param(schema_with = sorts)]
    sort: Option<String>,
    /// Requests per page, 1 to 100 (default 25).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// The `next` cursor of the previous page.
    after: Option<String>,
}

/// A string that is one of `values`: the document lists the domain's own codes.
fn one_of_codes(values: Vec<&'static str>) -> utoipa::openapi::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values))
        .build()
}

fn statuses() -> utoipa::openapi::Object {
    one_of_codes(Status::ALL[1..].iter().map(|s| s.code()).collect())
}

fn kinds() -> utoipa::openapi::Object {
    one_of_codes(Kind::ALL.iter().map(|k| k.code()).collect())
}

fn channels() -> utoipa::openapi::Object {
    one_of_codes(Channel::ALL.iter().map(|c| c.code()).collect())
}

fn sorts() -> utoipa::openapi::Object {
    one_of_codes(vec!["newest", "oldest"])
}

/// A request as the list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestSummary {
    id: String,
    /// The request's reference, `YYYY/NNNNNNN`.
    reference: String,
    kind: String,
    topic: String,
    channel: String,
    status: String,
    department: Option<String>,
    received_at: DateTime<Utc>,
    answer_due: NaiveDate,
    overdue: bool,
    reminders: i32,
    subject: Option<String>,
    citizen_name: Option<String>,
}

/// One page of requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    items: Vec<RequestSummary>,
    /// Pass as `after` for the next page; absent on the last one.
    next: Option<String>,
}

fn cursor_of(at: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{id}", at.timestamp_micros()))
}

fn cursor_from(text: &str) -> Option<(DateTime<Utc>, String)> {
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(text.trim()).ok()?).ok()?;
    let (micros, id) = decoded.split_once('.')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Uuid::parse_str(id).ok()?;
    Some((at, id.to_string()))
}

fn one_of<T>(
    value: &Option<String>,
    field: &str,
    parse: impl Fn(&str) -> Option<T>,
    errors: &mut Vec<Fault>,
) -> Option<String> {
    let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
    if parse(value).is_none() {
        errors.push((field.to_string(), "api.error.unknown_value", None));
        return None;
    }
    Some(value.to_string())
}

/// Requests, newest first, under the inbox's filters.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of requests", body = RequestPage),
        (status = 422, description = "A filter was refused", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["requests:read"])))]
pub async fn list(
    axum::extract::State(app): axum::extract::State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<RequestPage>, ApiError> {
    caller.needs(Scope::RequestsRead)?;
    let mut errors = Vec::new();
    let status = one_of(&query.status, "status", Status::parse, &mut errors);
    let kind = one_of(&query.kind, "kind", Kind::parse, &mut errors);
    let channel = one_of(
        &query.channel,
        "channel",
        |c| Channel::ALL.into_iter().find(|known| known.code() == c),
        &mut errors,
    );
    let department = one_of(
        &query.department,
        "department",
        |d| Uuid::parse_str(d).ok(),
        &mut errors,
    );
    let date = |value: &Option<String>, field: &str, errors: &mut Vec<Fault>| {
        one_of(
            value,
            field,
            |d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok(),
            errors,
        )
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
    };
    let received_from = date(&query.received_from, "received_from", &mut errors);
    let received_to = date(&query.received_to, "received_to", &mut errors);
    let overdue = one_of(
        &query.overdue,
        "overdue",
        |b| b.parse::<bool>().ok(),
        &mut errors,
    )
    .is_some_and(|b| b == "true");
    let unprotocolled = one_of(
        &query.protocolled,
        "protocolled",
        |b| b.parse::<bool>().ok(),
        &mut errors,
    )
    .is_some_and(|b| b == "false");
    let sort = one_of(
        &query.sort,
        "sort",
        |s| matches!(s, "newest" | "oldest").then_some(()),
        &mut errors,
    );
    let limit = one_of(
        &query.limit,
        "limit",
        |l| l.parse::<u32>().ok().filter(|l| (1..=100).contains(l)),
        &mut errors,
    )
    .and_then(|l| l.parse().ok())
    .unwrap_or(25u32);
    let after = match query.after.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(text) => match cursor_from(text) {
            Some(cursor) => Some(cursor),
            None => {
                errors.push(("after".to_string(), "api.error.cursor", None));
                None
            }
        },
        None => None,
    };
    let text = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if text.is_some_and(|q| q.chars().count() > 200) {
        errors.push(("q".to_string(), "api.error.too_long", None));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let today = rome_date(app.clock.now());
    let client = &caller.0;
    let filter = InboxFilter {
        organisation_id: app.organisation_id.to_string(),
        departments: (!client.departments.is_empty())
            .then(|| client.departments.iter().map(Uuid::to_string).collect()),
        status,
        kind,
        topic: query
            .topic
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty()),
        department,
        channel,
        received_from,
        received_to,
        overdue_on: overdue.then_some(today),
        waiting_since: None,
        unprotocolled,
        taken_by: None,
        text: text.map(str::to_string),
        sort: if sort.as_deref() == Some("oldest") {
            InboxSort::Oldest
        } else {
            InboxSort::Newest
        },
        page: 1,
        // One more than asked tells whether there is a next page.
        per_page: limit + 1,
        after,
    };
    let mut rows = queue::page(&app.pool, &filter).await?;
    let next = (rows.len() > limit as usize).then(|| {
        rows.truncate(limit as usize);
        let last = rows.last().expect("a full page");
        cursor_of(last.received_at, &last.aggregate_id)
    });
    let items = rows
        .into_iter()
        .map(|row| RequestSummary {
            overdue: Status::parse(&row.status).is_some_and(Status::awaits_answer)
                && row.answer_due < today,
            id: row.aggregate_id,
            reference: row.reference,
            kind: row.kind,
            topic: row.topic_code,
            channel: row.channel,
            status: row.status,
            department: row.department_id,
            received_at: row.received_at,
            answer_due: row.answer_due,
            reminders: row.reminders,
            subject: row.subject,
            citizen_name: row.citizen_name,
        })
        .collect();
    Ok(Json(RequestPage { items, next }))
}

/// The citizen, as they gave their details; absent once erased.
#[derive(Debug, Serialize, ToSchema)]
pub struct Citizen {
    first_name: String,
    last_name: String,
    email: String,
    phone: Option<String>,
}

/// One event of a request's timeline, its sealed parts opened (null once erased).
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEvent {
    sequence: i64,
    /// The event's type, as in the event catalogue (`RequestForwarded`, …).
    #[serde(rename = "type")]
    kind: String,
    recorded_at: DateTime<Utc>,
    /// The event's fields as recorded, with sealed texts opened.
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

/// One request with its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    id: String,
    reference: String,
    /// The number of events: send it back as `If-Match` (the ETag) with an action.
    version: usize,
    kind: String,
    topic: String,
    channel: String,
    status: String,
    department: Option<Uuid>,
    received_at: DateTime<Utc>,
    answer_due: Option<NaiveDate>,
    citizen: Option<Citizen>,
    subject: Option<String>,
    description: Option<String>,
    place: Option<String>,
    /// Where it is on a map (decimal degrees), when given.
    latitude: Option<f64>,
    longitude: Option<f64>,
    /// The protocollo informatico's registration, once recorded.
    protocol: Option<Protocol>,
    timeline: Vec<TimelineEvent>,
}

/// A registration in the protocollo informatico.
#[derive(Debug, Serialize, ToSchema)]
pub struct Protocol {
    number: String,
    #[schema(value_type = String, format = Date)]
    date: NaiveDate,
    register: String,
}

/// One request with its timeline; the ETag is its version.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = RequestDetail,
         headers(("ETag" = String, description = "The request's version, for If-Match"))),
        (status = 404, description = "No such request, or not this client's to see", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["requests:read"])))]
pub async fn one(
    axum::extract::State(app): axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.needs(Scope::RequestsRead)?;
    let client = &caller.0;
    let visible = visible_within(&app, client.organisation_id, |d| client.may_see(d), &id).await?;
    detail(&app, &visible).await
}

/// The request as `GET /requests/{id}` shows it, with its version as the ETag.
async fn detail(app: &AppState, visible: &Visible) -> Result<Response, ApiError> {
    let RequestEvent::RequestReceived {
        reference,
        kind,
        topic,
        channel,
        personal: sealed_personal,
        received_at,
        location,
        ..
    } = &visible.received
    else {
        return Err(ApiError::NotFound);
    };
    let personal = personal::open(&app.pool, sealed_personal)
        .await
        .map_err(ApiError::internal)?;
    let coordinates = match location {
        Some(sealed) => personal::open_coordinates(&app.pool, sealed)
            .await
            .map_err(ApiError::internal)?,
        None => None,
    };
    let timeline = timeline(app, &visible.events).await?;
    let version = visible.events.len();
    let detail = RequestDetail {
        id: visible.aggregate_id.clone(),
        reference: reference.to_string(),
        version,
        kind: kind.code().to_string(),
        topic: topic.clone(),
        channel: channel.code().to_string(),
        status: visible.state.status().code().to_string(),
        department: visible.state.department(),
        received_at: *received_at,
        answer_due: visible.state.answer_due(),
        citizen: personal.as_ref().map(|p| Citizen {
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
        }),
        subject: personal.as_ref().map(|p| p.subject.clone()),
        description: personal.as_ref().map(|p| p.description.clone()),
        place: personal.and_then(|p| p.place),
        latitude: coordinates.map(|c| c.latitude),
        longitude: coordinates.map(|c| c.longitude),
        protocol: visible
            .events
            .iter()
            .find_map(|recorded| match &recorded.event {
                RequestEvent::RequestProtocolled {
                    number,
                    date,
                    register,
                    ..
                } => Some(Protocol {
                    number: number.clone(),
                    date: *date,
                    register: register.clone(),
                }),
                _ => None,
            }),
        timeline,
    };
    let mut response = Json(detail).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// The events as recorded, each sealed part opened with one query for all the keys.
async fn timeline(
    app: &AppState,
    events: &[crate::event_store::Recorded],
) -> Result<Vec<TimelineEvent>, ApiError> {
    let mut payloads: Vec<serde_json::Value> = Vec::with_capacity(events.len());
    let mut sealed: Vec<Sealed> = Vec::new();
    for recorded in events {
        let value = serde_json::to_value(&recorded.event).map_err(ApiError::internal)?;
        // Externally tagged: `{"RequestForwarded": {…}}`; the fields are inside.
        let mut fields = match value {
            serde_json::Value::Object(map) if map.len() == 1 => {
                map.into_iter().next().map(|(_, v)| v).unwrap_or_default()
            }
            other => other,
        };
        personal::collect_sealed(&mut fields, &mut sealed);
        payloads.push(fields);
    }
    let opened = personal::open_json(&app.pool, &sealed)
        .await
        .map_err(ApiError::internal)?;
    let mut opened = opened.into_iter();
    Ok(events
        .iter()
        .zip(payloads)
        .map(|(recorded, mut data)| {
            personal::fill_sealed(&mut data, &mut opened);
            TimelineEvent {
                sequence: recorded.sequence,
                kind: recorded.event.name().to_string(),
                recorded_at: recorded.recorded_at,
                data,
            }
        })
        .collect())
}
