//! Service requests through Open311: filing one (`POST requests`, the web form's rules, the
//! reference answered only after the event is committed), reading them with a key
//! (`requests:read`; a department-limited key sees its departments only, as a referent does)
//! and `tokens/{token}` (a token is the request's id, given by `POST`).

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sportello_domain::{
    rome_date, rome_midnight, Channel, FiledBy, Language, RequestEvent, Sealed, Status,
};
use sportello_projections::queue::{self, InboxFilter, InboxRow, InboxSort};
use uuid::Uuid;

use super::format::{self, Format};
use super::{client, Params};
use crate::api::{Client, Scope};
use crate::intake::{file_request, NewRequestForm, Submission};
use crate::personal::{self, Coordinates, PersonalData};
use crate::state::AppState;
use crate::web::i18n;

const MAX_RESULTS: u32 = 1000;

fn internal(format: Format) -> Response {
    format::error(format, StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// A reference as Open311 clients send it: `2026/0000001` or `2026-0000001`.
fn reference(text: &str) -> Option<String> {
    let text = text.trim().replace('-', "/");
    text.parse::<sportello_domain::Reference>()
        .ok()
        .map(|r| r.to_string())
}

/// An ISO 8601 date-time filter.
fn instant(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    match params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| format!("{name} is not an ISO 8601 date-time (2026-12-03T00:00:00Z)")),
    }
}

fn filter_for(app: &AppState, client: &Client) -> InboxFilter {
    InboxFilter {
        organisation_id: app.organisation_id.to_string(),
        departments: (!client.departments.is_empty())
            .then(|| client.departments.iter().map(Uuid::to_string).collect()),
        sort: InboxSort::Newest,
        page: 1,
        per_page: MAX_RESULTS,
        ..InboxFilter::default()
    }
}

pub async fn list(app: &AppState, params: &Params, format: Format) -> Response {
    let client = match client(app, params, Scope::RequestsRead, format).await {
        Ok(client) => client,
        Err(refused) => return *refused,
    };
    let bad = |text: &str| format::error(format, StatusCode::BAD_REQUEST, text);
    let (start, end) = match (instant(params, "start_date"), instant(params, "end_date")) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(e), _) | (_, Err(e)) => return bad(&e),
    };
    let status = params
        .get("status")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if status
        .as_deref()
        .is_some_and(|s| !matches!(s, "open" | "closed"))
    {
        return bad("status is open or closed");
    }
    let mut filter = filter_for(app, &client);
    filter.topic = params
        .get("service_code")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    // Without dates, the last 90 days (as the specification suggests).
    let end_or_now = end.unwrap_or_else(|| app.clock.now());
    let start = start.unwrap_or(end_or_now - chrono::Duration::days(90));
    filter.received_from = Some(rome_date(start));
    filter.received_to = Some(rome_date(end_or_now));
    let mut rows = Vec::new();
    match params
        .get("service_request_id")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        Some(ids) => {
            for id in ids.split(',').take(50) {
                let Some(reference) = reference(id) else {
                    continue;
                };
                let mut one = filter_for(app, &client);
                one.text = Some(reference);
                match queue::page(&app.pool, &one).await {
                    Ok(found) => rows.extend(found),
                    Err(_) => return internal(format),
                }
            }
        }
        None => match queue::page(&app.pool, &filter).await {
            Ok(found) => rows.extend(
                found
                    .into_iter()
                    .filter(|r| r.received_at >= start && r.received_at <= end_or_now),
            ),
            Err(_) => return internal(format),
        },
    }
    rows.retain(|row| match status.as_deref() {
        Some("open") => row.status != Status::Closed.code(),
        Some("closed") => row.status == Status::Closed.code(),
        _ => true,
    });
    respond(app, rows, format).await
}

pub async fn one(app: &AppState, params: &Params, id: &str, format: Format) -> Response {
    let client = match client(app, params, Scope::RequestsRead, format).await {
        Ok(client) => client,
        Err(refused) => return *refused,
    };
    let Some(reference) = reference(id) else {
        return format::error(
            format,
            StatusCode::NOT_FOUND,
            "service_request_id not found",
        );
    };
    let mut filter = filter_for(app, &client);
    filter.text = Some(reference);
    match queue::page(&app.pool, &filter).await {
        Ok(rows) if !rows.is_empty() => respond(app, rows, format).await,
        Ok(_) => format::error(
            format,
            StatusCode::NOT_FOUND,
            "service_request_id not found",
        ),
        Err(_) => internal(format),
    }
}

pub async fn token(app: &AppState, params: &Params, token: &str, format: Format) -> Response {
    let client = match client(app, params, Scope::RequestsRead, format).await {
        Ok(client) => client,
        Err(refused) => return *refused,
    };
    let not_found = || format::error(format, StatusCode::NOT_FOUND, "token not found");
    if Uuid::parse_str(token).is_err() {
        return not_found();
    }
    match queue::request(&app.pool, token).await {
        Ok(Some(row))
            if client.may_see(
                row.department_id
                    .as_deref()
                    .and_then(|d| Uuid::parse_str(d).ok()),
            ) =>
        {
            let value = json!([{ "service_request_id": row.reference, "token": token }]);
            format::answer(format, StatusCode::OK, "service_requests", value)
        }
        Ok(_) => not_found(),
        Err(_) => internal(format),
    }
}

/// What the requests' first events hold, opened: personal data, coordinates, and the time of
/// each request's latest event — three queries for the whole page.
struct Opened {
    personal: HashMap<String, PersonalData>,
    coordinates: HashMap<String, Coordinates>,
    updated: HashMap<String, DateTime<Utc>>,
}

async fn open(app: &AppState, ids: &[String]) -> anyhow::Result<Opened> {
    let mut opened = Opened {
        personal: HashMap::new(),
        coordinates: HashMap::new(),
        updated: HashMap::new(),
    };
    if ids.is_empty() {
        return Ok(opened);
    }
    let mut query = sqlx::QueryBuilder::new(
        "SELECT aggregate_id, event_type, event_version, payload FROM events WHERE sequence = 1 AND aggregate_id IN (",
    );
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(")");
    let rows: Vec<(String, String, String, Value)> =
        query.build_query_as().fetch_all(&app.pool).await?;
    let mut personal_sealed: Vec<(String, Sealed)> = Vec::new();
    let mut location_sealed: Vec<(String, Sealed)> = Vec::new();
    for (id, kind, version, payload) in rows {
        if let Ok(RequestEvent::RequestReceived {
            personal, location, ..
        }) = sportello_projections::decode(&kind, &version, payload)
        {
            personal_sealed.push((id.clone(), personal));
            if let Some(location) = location {
                location_sealed.push((id, location));
            }
        }
    }
    let sealed: Vec<Sealed> = personal_sealed.iter().map(|(_, s)| s.clone()).collect();
    for ((id, _), data) in personal_sealed
        .iter()
        .zip(personal::open_many(&app.pool, &sealed).await?)
    {
        if let Some(data) = data {
            opened.personal.insert(id.clone(), data);
        }
    }
    let sealed: Vec<Sealed> = location_sealed.iter().map(|(_, s)| s.clone()).collect();
    for ((id, _), value) in location_sealed
        .iter()
        .zip(personal::open_json(&app.pool, &sealed).await?)
    {
        if let Some(coordinates) = value.and_then(|v| serde_json::from_value(v).ok()) {
            opened.coordinates.insert(id.clone(), coordinates);
        }
    }
    let mut query = sqlx::QueryBuilder::new(
        "SELECT aggregate_id, MAX(recorded_at) FROM events WHERE aggregate_id IN (",
    );
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(") GROUP BY aggregate_id");
    let updated: Vec<(String, DateTime<Utc>)> = query.build_query_as().fetch_all(&app.pool).await?;
    opened.updated = updated.into_iter().collect();
    Ok(opened)
}

async fn respond(app: &AppState, rows: Vec<InboxRow>, format: Format) -> Response {
    let ids: Vec<String> = rows.iter().map(|r| r.aggregate_id.clone()).collect();
    let (Ok(opened), Ok(topics), Ok(departments)) = (
        open(app, &ids).await,
        crate::directory::all_topics(&app.pool, app.organisation_id).await,
        crate::directory::department_names(&app.pool, app.organisation_id).await,
    ) else {
        return internal(format);
    };
    let items: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            let data = opened.personal.get(&row.aggregate_id);
            let at = opened.coordinates.get(&row.aggregate_id);
            let due = row.answer_due.succ_opt().map(rome_midnight);
            json!({
                "service_request_id": row.reference,
                "status": if row.status == Status::Closed.code() { "closed" } else { "open" },
                "status_notes": i18n::text(Language::It, &format!("staff_status.{}", row.status), &[]),
                "service_name": topics.iter().find(|t| t.code == row.topic_code).map_or(row.topic_code.clone(), |t| t.name_it.clone()),
                "service_code": row.topic_code,
                "description": data.map(|d| d.description.clone()),
                "agency_responsible": row.department_id.as_deref().and_then(|d| Uuid::parse_str(d).ok()).and_then(|d| departments.get(&d).cloned()).unwrap_or_else(|| app.organisation_name.clone()),
                "service_notice": null,
                "requested_datetime": row.received_at.to_rfc3339(),
                "updated_datetime": opened.updated.get(&row.aggregate_id).unwrap_or(&row.received_at).to_rfc3339(),
                "expected_datetime": due.map(|d| d.to_rfc3339()),
                "address": data.and_then(|d| d.place.clone()),
                "address_id": null,
                "zipcode": null,
                "lat": at.map(|c| c.latitude),
                "long": at.map(|c| c.longitude),
                "media_url": null,
            })
        })
        .collect();
    format::answer(
        format,
        StatusCode::OK,
        "service_requests",
        Value::Array(items),
    )
}

/// A subject from the description: its first line, at most 80 characters, cut at a word.
fn subject_of(description: &str) -> String {
    let line = description.trim().lines().next().unwrap_or("").trim();
    if line.chars().count() <= 80 {
        return line.to_string();
    }
    let cut: String = line.chars().take(80).collect();
    match cut.rfind(' ') {
        Some(space) if space > 20 => format!("{}…", &cut[..space]),
        _ => format!("{cut}…"),
    }
}

pub async fn file(app: &AppState, params: &Params, format: Format) -> Response {
    let client = match client(app, params, Scope::RequestsWrite, format).await {
        Ok(client) => client,
        Err(refused) => return *refused,
    };
    let get = |name: &str| {
        params
            .get(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let description = get("description");
    let form = NewRequestForm {
        kind: Some(get("attribute[kind]"))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "complaint".into()),
        topic: get("service_code"),
        subject: subject_of(&description),
        description,
        place: get("address_string"),
        first_name: get("first_name"),
        last_name: get("last_name"),
        email_confirmation: get("email"),
        email: get("email"),
        phone: get("phone"),
        privacy: "accepted".into(),
        website: String::new(),
        latitude: get("lat"),
        longitude: get("long"),
    };
    let (topics, own) = match (
        crate::directory::active_topic_codes(&app.pool, app.organisation_id).await,
        crate::mail::OwnAddresses::load(app).await,
    ) {
        (Ok(topics), Ok(own)) => (topics, own),
        _ => return internal(format),
    };
    let request = match form.parse(&topics, &own) {
        Ok(request) => request,
        Err(errors) => {
            // The specification's error list: one entry per field, in English.
            let open311_name = |field: &str| {
                match field {
                    "topic" => "service_code",
                    "kind" => "attribute[kind]",
                    "place" => "address_string",
                    "latitude" => "lat",
                    "longitude" => "long",
                    "subject" | "email_confirmation" => "description",
                    other => other,
                }
                .to_string()
            };
            let list: Vec<Value> = errors
                .iter()
                .map(|e| {
                    json!({
                        "code": 400,
                        "description": format!("{}: {}", open311_name(e.field), i18n::text(Language::En, e.message, &[])),
                    })
                })
                .collect();
            return format::answer(
                format,
                StatusCode::BAD_REQUEST,
                "errors",
                Value::Array(list),
            );
        }
    };
    let submission = Submission {
        request,
        attachments: Vec::new(),
        language: Language::It,
        channel: Channel::Api,
        actor: format!("api:{}", client.id),
        correlation_id: Uuid::new_v4().to_string(),
        filed_by: FiledBy::default(),
        also: None,
    };
    let filed = match file_request(app, submission).await {
        Ok(filed) => filed,
        Err(_) => return internal(format),
    };
    app.events_appended.notify_waiters();
    tracing::info!(aggregate_id = %filed.aggregate_id, client_id = %client.id, "request filed through Open311");
    let value = json!([{
        "service_request_id": filed.reference.to_string(),
        "token": filed.aggregate_id,
        "service_notice": i18n::text(Language::It, "open311.notice", &[]),
        "account_id": null,
    }]);
    format::answer(format, StatusCode::OK, "service_requests", value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_the_descriptions_first_line_cut_at_a_word() {
        assert_eq!(subject_of("Buca in via Roma\nprofonda"), "Buca in via Roma");
        let long = "parola ".repeat(20);
        let subject = subject_of(&long);
        assert!(
            subject.chars().count() <= 81 && subject.ends_with('…'),
            "{subject}"
        );
        assert_eq!(reference("2026-0000042").as_deref(), Some("2026/0000042"));
        assert_eq!(reference("x"), None);
    }
}
