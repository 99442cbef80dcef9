//! The private tracking link: the confirmation after filing, the status page with the public
//! history, and the attachments, all reachable only through the unguessable token (a reference
//! number grants nothing). A wrong token is a plain 404.

use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Serialize;
use sportello_projections::citizen_status::{self, TrackedRequest};

use crate::app::AppState;
use crate::directory::{self, ExternalBody};
use sportello_domain::{RequestCommand, Status};

use crate::event_store::{self, CommandError};
use crate::intake::{read_multipart, token_hash, MAX_ACCEPTED_BYTES};
use crate::intake::{DESCRIPTION_MAX, DESCRIPTION_MIN};
use crate::personal::{self, PersonalData};
use crate::web::{csrf, i18n, AppError, ClientIp, Lang, Page, Result};

/// The request behind a token. Right after filing, the projection may not have caught up yet:
/// then it catches up once, here, so the citizen reads their own write. A wrong token costs three
/// cheap reads, never a lock, when the projection is up to date.
async fn tracked(app: &AppState, token: &str) -> Result<TrackedRequest> {
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AppError::NotFound);
    }
    let hash = token_hash(token);
    if let Some(request) = citizen_status::request_by_token_hash(&app.pool, &hash).await? {
        return Ok(request);
    }
    // Look again even when the projection is not behind: the processor may have applied the
    // event between the first read and this check.
    if sportello_projections::is_behind(&app.pool, citizen_status::NAME).await? {
        sportello_projections::catch_up(&app.pool, &citizen_status::CitizenStatus).await?;
    }
    citizen_status::request_by_token_hash(&app.pool, &hash)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Serialize)]
struct Summary {
    reference: String,
    status: String,
    kind: String,
    received: String,
    answer_due: String,
    tracking_link: String,
    personal: Option<PersonalData>,
}

async fn summary(
    app: &AppState,
    language: sportello_domain::Language,
    token: &str,
    request: &TrackedRequest,
) -> Result<Summary> {
    Ok(Summary {
        reference: request.reference.clone(),
        status: i18n::text(language, &format!("status.{}", request.status), &[]),
        kind: i18n::text(language, &format!("kind.{}", request.kind), &[]),
        received: i18n::date_time(language, request.received_at),
        answer_due: i18n::long_date(language, request.answer_due),
        tracking_link: format!("{}/segui/{token}", app.config.public_url),
        personal: personal::open(&app.pool, &request.personal).await?,
    })
}

fn private(body: String) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

pub async fn confirmation(
    State(app): State<AppState>,
    Lang(language): Lang,
    Path(token): Path<String>,
) -> Result<Response> {
    let request = tracked(&app, &token).await?;
    let summary = summary(&app, language, &token, &request).await?;
    let kind =
        sportello_domain::Kind::parse(&request.kind).unwrap_or(sportello_domain::Kind::Information);
    let answer_days = app.settings().await?.answer_days_for(kind);
    let page = Page::new(
        language,
        &format!("/segui/{token}/ricevuta"),
        &app.organisation_name,
        "confirmation.title",
    );
    let body = app.templates.render(
        "confirmation.html",
        context! { lang => page.lang, page, summary, token, answer_days },
    )?;
    Ok(private(body))
}

#[derive(Serialize)]
struct ShownEntry {
    text: String,
    at: String,
    datetime: String,
    /// What staff wrote to the citizen, or what the citizen wrote, opened for them.
    message: Option<String>,
    /// The other body to contact, on a redirection.
    body: Option<ExternalBody>,
    sequence: i64,
    /// Files attached to an answer: (index, name, size in kB).
    files: Vec<(usize, String, u64)>,
}

#[derive(Serialize)]
struct ShownAttachment {
    position: i32,
    name: String,
    content_type: String,
    size_kb: i64,
    has_preview: bool,
}

pub async fn page(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response> {
    let request = tracked(&app, &token).await?;
    render_page(
        &app,
        language,
        &headers,
        &token,
        &request,
        &[],
        "",
        StatusCode::OK,
    )
    .await
}

/// A reply from the citizen: more information, or the answer to a question (which resumes the
/// answer clock). Same protection as the form: CSRF, rate limit, a length check.
pub async fn reply(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
    multipart: Multipart,
) -> Result<Response> {
    let request = tracked(&app, &token).await?;
    let received = read_multipart(multipart, MAX_ACCEPTED_BYTES).await?;
    let message = received
        .fields
        .iter()
        .find(|(name, _)| name == "message")
        .map(|(_, v)| v.trim().replace("\r\n", "\n"))
        .unwrap_or_default();
    let fail = |key: &'static str, status: StatusCode| {
        let (app, headers, token, request, message) = (&app, &headers, &token, &request, &message);
        async move {
            render_page(
                app,
                language,
                headers,
                token,
                request,
                &[key],
                message,
                status,
            )
            .await
        }
    };
    if !csrf::verify_request(
        &app.csrf_secret,
        &headers,
        received.csrf_token.as_deref(),
        app.secure_cookies(),
    ) {
        return fail("form.error.csrf", StatusCode::FORBIDDEN).await;
    }
    if !app.submissions.allow(client) {
        return fail("form.error.too_many", StatusCode::TOO_MANY_REQUESTS).await;
    }
    let length = message.chars().count();
    if !(DESCRIPTION_MIN..=DESCRIPTION_MAX).contains(&length) {
        return fail(
            "tracking.reply_error.length",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let events = event_store::recorded(&app.pool, &request.aggregate_id)
        .await
        .map_err(AppError::internal)?;
    if event_store::fold(&events).status() == Status::Closed {
        return fail("tracking.reply_error.closed", StatusCode::CONFLICT).await;
    }
    let sealed = personal::seal_text(&app.pool, request.personal.key_id, &message)
        .await?
        .ok_or(AppError::Gone)?;
    let command = RequestCommand::RecordCitizenReply {
        at: app.clock.now(),
        message: sealed,
        attachments: vec![],
        calendar: app.settings().await?.calendar,
    };
    let metadata = event_store::metadata("citizen", "web", &uuid::Uuid::new_v4().to_string());
    match event_store::execute(&app.requests, &request.aggregate_id, command, metadata).await {
        Ok(()) => {}
        Err(CommandError::Conflict) => {
            return fail("tracking.reply_error.again", StatusCode::CONFLICT).await
        }
        Err(CommandError::Rejected(_)) => {
            return fail("tracking.reply_error.closed", StatusCode::CONFLICT).await
        }
        Err(error) => return Err(AppError::internal(error)),
    }
    app.events_appended.notify_waiters();
    Ok(Redirect::to(&format!("/segui/{token}")).into_response())
}

/// The tracking page, with the reply form (its errors and what was typed).
#[allow(clippy::too_many_arguments)]
async fn render_page(
    app: &AppState,
    language: sportello_domain::Language,
    headers: &HeaderMap,
    token: &str,
    request: &TrackedRequest,
    errors: &[&str],
    typed: &str,
    status: StatusCode,
) -> Result<Response> {
    let summary = summary(app, language, token, request).await?;
    let history = shown_history(app, language, &request.aggregate_id).await?;
    let names = summary
        .personal
        .as_ref()
        .map(|p| p.attachment_names.clone())
        .unwrap_or_default();
    let attachments: Vec<ShownAttachment> =
        citizen_status::attachments_of(&app.pool, &request.aggregate_id)
            .await?
            .into_iter()
            .map(|attachment| ShownAttachment {
                name: names
                    .get(attachment.position as usize)
                    .cloned()
                    .unwrap_or_else(|| fallback_name(&attachment)),
                position: attachment.position,
                content_type: attachment.content_type,
                size_kb: (attachment.size + 1023) / 1024,
                has_preview: attachment.thumbnail_id.is_some(),
            })
            .collect();
    let (csrf_token, csrf_cookie) = csrf::issue(&app.csrf_secret, headers, app.secure_cookies());
    let errors: Vec<String> = errors
        .iter()
        .map(|key| i18n::text(language, key, &[]))
        .collect();
    let page = Page::new(
        language,
        &format!("/segui/{token}"),
        &app.organisation_name,
        "tracking.title",
    );
    let body = app.templates.render(
        "tracking.html",
        context! {
            lang => page.lang, page, summary, token, history, attachments, csrf_token, errors, typed,
            can_reply => request.status != "closed", waiting => request.status == "waiting_for_citizen",
            reply_min => DESCRIPTION_MIN, reply_max => DESCRIPTION_MAX,
        },
    )?;
    let mut response = (status, private(body)).into_response();
    if let Some(cookie) = csrf_cookie {
        response.headers_mut().insert(
            header::SET_COOKIE,
            cookie.parse().map_err(AppError::internal)?,
        );
    }
    Ok(response)
}

/// The public history in words: each entry with its date, the department it went to or the
/// outcome, and its message opened with the request's key.
async fn shown_history(
    app: &AppState,
    language: sportello_domain::Language,
    aggregate_id: &str,
) -> Result<Vec<ShownEntry>> {
    let entries = citizen_status::history_of(&app.pool, aggregate_id).await?;
    let departments = directory::department_names(&app.pool, app.organisation_id).await?;
    let bodies = directory::external_bodies(&app.pool, app.organisation_id).await?;
    let mut shown = Vec::with_capacity(entries.len());
    for entry in entries {
        let detail = entry.detail.as_deref().unwrap_or_default();
        let detail_id = uuid::Uuid::parse_str(detail).ok();
        let named = match entry.entry.as_str() {
            "forwarded" | "taken_in_charge" => {
                detail_id.and_then(|id| departments.get(&id)).cloned()
            }
            "closed" => Some(i18n::text(language, &format!("outcome.{detail}"), &[])),
            _ => None,
        };
        let text = i18n::text(
            language,
            &format!("history.{}", entry.entry),
            &[("name", named.as_deref().unwrap_or(""))],
        );
        let message = match &entry.message {
            Some(sealed) => personal::open_text(&app.pool, sealed).await?,
            None => None,
        };
        let body = (entry.entry == "redirected")
            .then(|| {
                bodies
                    .iter()
                    .find(|body| Some(body.id) == detail_id)
                    .cloned()
            })
            .flatten();
        let files = entry
            .files
            .iter()
            .enumerate()
            .map(|(index, file)| {
                (
                    index,
                    file.name
                        .clone()
                        .unwrap_or_else(|| format!("documento-{}", index + 1)),
                    file.size.div_ceil(1024),
                )
            })
            .collect();
        shown.push(ShownEntry {
            sequence: entry.sequence,
            files,
            text,
            at: i18n::date_time(language, entry.occurred_at),
            datetime: entry.occurred_at.to_rfc3339(),
            message,
            body,
        });
    }
    Ok(shown)
}

fn fallback_name(attachment: &citizen_status::TrackedAttachment) -> String {
    format!(
        "allegato-{}.{}",
        attachment.position + 1,
        extension(&attachment.content_type)
    )
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "application/pdf" => "pdf",
        "application/vnd.oasis.opendocument.text" => "odt",
        "application/vnd.oasis.opendocument.spreadsheet" => "ods",
        "application/vnd.oasis.opendocument.presentation" => "odp",
        t if t.contains("wordprocessingml") => "docx",
        t if t.contains("spreadsheetml") => "xlsx",
        t if t.contains("presentationml") => "pptx",
        _ => "bin",
    }
}

pub async fn download(
    State(app): State<AppState>,
    Path((token, position)): Path<(String, i32)>,
) -> Result<Response> {
    serve_file(&app, &token, position, false).await
}

pub async fn preview(
    State(app): State<AppState>,
    Path((token, position)): Path<(String, i32)>,
) -> Result<Response> {
    serve_file(&app, &token, position, true).await
}

/// Sends a stored file as a download with the type detected at upload, never inline.
async fn serve_file(
    app: &AppState,
    token: &str,
    position: i32,
    thumbnail: bool,
) -> Result<Response> {
    let request = tracked(app, token).await?;
    let attachments = citizen_status::attachments_of(&app.pool, &request.aggregate_id).await?;
    let attachment = attachments
        .into_iter()
        .find(|a| a.position == position)
        .ok_or(AppError::NotFound)?;
    let file_id = if thumbnail {
        attachment.thumbnail_id.clone().ok_or(AppError::NotFound)?
    } else {
        attachment.file_id.clone()
    };
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT content_type, bytes FROM files WHERE id = ?")
            .bind(&file_id)
            .fetch_optional(&app.pool)
            .await?;
    let (content_type, bytes) = row.ok_or(AppError::NotFound)?;
    let personal = personal::open(&app.pool, &request.personal).await?;
    let name = personal
        .and_then(|p| p.attachment_names.get(position as usize).cloned())
        .unwrap_or_else(|| fallback_name(&attachment));
    let name = if thumbnail {
        format!("anteprima-{name}.jpg")
    } else {
        name
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, content_disposition(&name)),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// A file staff attached to an answer, as a download through the private link.
pub async fn answer_file(
    State(app): State<AppState>,
    Path((token, sequence, index)): Path<(String, i64, usize)>,
) -> Result<Response> {
    let request = tracked(&app, &token).await?;
    let history = citizen_status::history_of(&app.pool, &request.aggregate_id).await?;
    let file = history
        .into_iter()
        .find(|entry| entry.sequence == sequence)
        .and_then(|entry| entry.files.into_iter().nth(index))
        .ok_or(AppError::NotFound)?;
    stored_file(
        &app,
        &file.file_id,
        &file
            .name
            .unwrap_or_else(|| format!("documento-{}", index + 1)),
    )
    .await
}

/// A stored file as a download, with the type detected at upload.
pub async fn stored_file(app: &AppState, file_id: &str, name: &str) -> Result<Response> {
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT content_type, bytes FROM files WHERE id = ?")
            .bind(file_id)
            .fetch_optional(&app.pool)
            .await?;
    let (content_type, bytes) = row.ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, content_disposition(name)),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// `attachment` with an ASCII fallback name and the UTF-8 name percent-encoded (RFC 6266).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn file_names_cannot_break_the_header() {
        assert_eq!(
            content_disposition("perché \"x\".pdf"),
            "attachment; filename=\"perch_ _x_.pdf\"; filename*=UTF-8''perch%C3%A9%20%22x%22.pdf"
        );
    }
}
