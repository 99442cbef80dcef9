//! The citizen's view of a request: through the private tracking link (a guest) or in the
//! citizen's own area (signed in). Both show the same page — status, phases, the public history,
//! answers and documents — and allow the same things: reply with attachments, reopen within the
//! period, rate after closure. A reference number grants nothing: a wrong token or somebody
//! else's request is a plain 404.

mod citizen_actions;

use crate::state::Desk;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Serialize;
use sportello_projections::citizen_status::{self, Owner, TrackedRequest};

use crate::directory::{self, ExternalBody};
use crate::state::AppState;

use crate::intake::token_hash;
use crate::intake::{DESCRIPTION_MAX, DESCRIPTION_MIN};
use crate::personal::{self, PersonalData};
use crate::web::form::Errors;
use crate::web::{i18n, AppError, Page, Result, View};

pub use citizen_actions::{
    rate, rate_with, reopen, reopen_with, reply, reply_with, CitizenForm, RatingForm, ReopenForm,
    ReplyForm, Sent,
};

/// How the citizen reaches a request.
#[derive(Debug, Clone)]
pub enum Access {
    /// The private tracking link's token.
    Token(String),
    /// A signed-in citizen and the request's id (theirs, or it is not found).
    Citizen(Owner, String),
}

impl Access {
    /// Where the request's pages live for this kind of access.
    pub fn base(&self) -> String {
        match self {
            Access::Token(token) => format!("/segui/{token}"),
            Access::Citizen(_, id) => format!("/area/richieste/{id}"),
        }
    }

    /// The request, if this access reaches it.
    pub async fn resolve(&self, app: &AppState) -> Result<TrackedRequest> {
        if let Access::Token(token) = self {
            if token.len() != 43
                || !token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(AppError::NotFound);
            }
        }
        if let Some(request) = self.find(app).await? {
            return Ok(request);
        }
        // Right after filing, the view may not have caught up yet: then it catches up once,
        // here. Look again even when the projection is not behind: the processor may have
        // applied the event between the first read and this check.
        if sportello_projections::is_behind(&app.pool, citizen_status::NAME).await? {
            sportello_projections::catch_up(&app.pool, &citizen_status::CitizenStatus).await?;
        }
        self.find(app).await?.ok_or(AppError::NotFound)
    }

    async fn find(&self, app: &AppState) -> Result<Option<TrackedRequest>> {
        Ok(match self {
            Access::Token(token) => {
                citizen_status::request_by_token_hash(&app.pool, &token_hash(token)).await?
            }
            Access::Citizen(owner, id) => citizen_status::request_of(&app.pool, owner, id).await?,
        })
    }
}

#[derive(Serialize)]
struct Summary {
    reference: String,
    status: String,
    kind: String,
    received: String,
    answer_due: String,
    tracking_link: Option<String>,
    personal: Option<PersonalData>,
    /// The phases with their dates: received, taken in charge, answered, closed.
    phases: Vec<(String, Option<String>)>,
    stars: Option<u8>,
    erased: bool,
}

async fn summary(
    app: &AppState,
    language: sportello_domain::Language,
    access: &Access,
    request: &TrackedRequest,
) -> Result<Summary> {
    let when =
        |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| i18n::date_time(language, at));
    let phase = |key: &str| i18n::text(language, &format!("phase.{key}"), &[]);
    Ok(Summary {
        reference: request.reference.clone(),
        status: i18n::text(language, &format!("status.{}", request.status), &[]),
        kind: i18n::text(language, &format!("kind.{}", request.kind), &[]),
        received: i18n::date_time(language, request.received_at),
        answer_due: i18n::long_date(language, request.answer_due),
        tracking_link: match access {
            Access::Token(token) => Some(format!("{}/segui/{token}", app.config.public_url)),
            Access::Citizen(..) => None,
        },
        personal: personal::open(&app.pool, &request.personal).await?,
        phases: vec![
            (phase("received"), when(Some(request.received_at))),
            (phase("taken_in_charge"), when(request.taken_in_charge_at)),
            (phase("answered"), when(request.answered_at)),
            (phase("closed"), when(request.closed_at)),
        ],
        stars: request.stars,
        erased: request.erased_at.is_some(),
    })
}

fn private(body: String) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

pub async fn confirmation(
    Desk { app, language }: Desk,
    Path(token): Path<String>,
) -> Result<Response> {
    let access = Access::Token(token.clone());
    let request = access.resolve(&app).await?;
    let summary = summary(&app, language, &access, &request).await?;
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
pub struct ShownEntry {
    text: String,
    at: String,
    datetime: String,
    /// What staff wrote to the citizen, or what the citizen wrote, opened for them.
    message: Option<String>,
    /// The other body to contact, on a redirection.
    body: Option<ExternalBody>,
    sequence: i64,
    /// Files attached to an answer or a reply: (index, name, size in kB).
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
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response> {
    show(&app, language, &headers, &Access::Token(token)).await
}

/// The request's page as the citizen first sees it.
pub async fn show(
    app: &AppState,
    language: sportello_domain::Language,
    headers: &HeaderMap,
    access: &Access,
) -> Result<Response> {
    let request = access.resolve(app).await?;
    let form = CitizenForm::default();
    let view = tracking_view(
        app,
        language,
        headers,
        access,
        &request,
        &form,
        &Errors::new(),
    )
    .await?;
    app.render(language, view)
}

/// What the citizen may do now.
#[derive(Serialize)]
struct Allowed {
    reply: bool,
    reopen: bool,
    rate: bool,
    reopen_until: Option<String>,
}

async fn allowed(
    app: &AppState,
    language: sportello_domain::Language,
    request: &TrackedRequest,
) -> Result<Allowed> {
    let erased = request.erased_at.is_some();
    let closed = request.status == sportello_domain::Status::Closed.code();
    let reopen_days = app.settings().await?.reopen_days;
    let reopen_until = request
        .closed_at
        .map(|at| at + chrono::Duration::days(i64::from(reopen_days)));
    let can_reopen =
        closed && !erased && reopen_until.is_some_and(|until| app.clock.now() <= until);
    Ok(Allowed {
        reply: !closed && !erased,
        reopen: can_reopen,
        rate: closed && !erased && request.stars.is_none(),
        reopen_until: reopen_until
            .filter(|_| can_reopen)
            .map(|until| i18n::date_time(language, until)),
    })
}

/// The request's page, with the citizen's forms (their errors and what was typed).
async fn tracking_view(
    app: &AppState,
    language: sportello_domain::Language,
    headers: &HeaderMap,
    access: &Access,
    request: &TrackedRequest,
    form: &CitizenForm,
    errors: &Errors,
) -> Result<View> {
    let summary = summary(app, language, access, request).await?;
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
    let base = access.base();
    let allowed = allowed(app, language, request).await?;
    Ok(View::new("tracking.html", base.clone(), "tracking.title")
        .public_form(&app.csrf_key(), headers)
        .with(context! {
            summary, base, history, attachments,
            errors => errors.shown(language), form, allowed,
            in_area => matches!(access, Access::Citizen(..)),
            waiting => request.status == sportello_domain::Status::WaitingForCitizen.code(),
            reply_min => DESCRIPTION_MIN, reply_max => DESCRIPTION_MAX,
            max_files => crate::files::MAX_FILES,
            positive_reasons => citizen_actions::POSITIVE_REASONS,
            negative_reasons => citizen_actions::NEGATIVE_REASONS,
        }))
}

/// The public history in words: each entry with its date, the department it went to or the
/// outcome, and its message opened with the request's key.
pub async fn shown_history(
    app: &AppState,
    language: sportello_domain::Language,
    aggregate_id: &str,
) -> Result<Vec<ShownEntry>> {
    let entries = citizen_status::history_of(&app.pool, aggregate_id).await?;
    // Every message of the request is sealed under its one key: opened with one query.
    let sealed: Vec<_> = entries.iter().filter_map(|e| e.message.clone()).collect();
    let mut opened_texts = personal::open_texts(&app.pool, &sealed).await?.into_iter();
    let mut opened = entries
        .iter()
        .map(|e| {
            if e.message.is_some() {
                opened_texts.next().flatten()
            } else {
                None
            }
        })
        .collect::<Vec<Option<String>>>()
        .into_iter();
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
        let named = match entry.entry.as_str() {
            "rated" => Some(detail.to_string()),
            "erased" => Some(i18n::text(language, &format!("erasure.{detail}"), &[])),
            "protocolled" => detail.split_once('|').map(|(number, date)| {
                let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .map(|d| i18n::long_date(language, d))
                    .unwrap_or_else(|_| date.to_string());
                i18n::text(
                    language,
                    "history.protocol_number",
                    &[("number", number), ("date", &date)],
                )
            }),
            _ => named,
        };
        let text = i18n::text(
            language,
            &format!("history.{}", entry.entry),
            &[("name", named.as_deref().unwrap_or(""))],
        );
        let message = opened.next().flatten();
        let body = (entry.entry == "redirected")
            .then(|| {
                bodies
                    .iter()
                    .find(|body| Some(body.id) == detail_id)
                    .cloned()
            })
            .flatten();
        let mut files = Vec::with_capacity(entry.files.len());
        for (index, file) in entry.files.iter().enumerate() {
            let name = file_name(app, &entry.entry, index, Some(file)).await?;
            files.push((index, name, file.size.div_ceil(1024)));
        }
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
    serve_file(&app, &Access::Token(token), position, false).await
}

pub async fn preview(
    State(app): State<AppState>,
    Path((token, position)): Path<(String, i32)>,
) -> Result<Response> {
    serve_file(&app, &Access::Token(token), position, true).await
}

/// Sends a stored file as a download with the type detected at upload, never inline.
pub async fn serve_file(
    app: &AppState,
    access: &Access,
    position: i32,
    thumbnail: bool,
) -> Result<Response> {
    let request = access.resolve(app).await?;
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
    let personal = personal::open(&app.pool, &request.personal).await?;
    let name = personal
        .and_then(|p| p.attachment_names.get(position as usize).cloned())
        .unwrap_or_else(|| fallback_name(&attachment));
    let name = if thumbnail {
        format!("anteprima-{name}.jpg")
    } else {
        name
    };
    stored_file(app, &file_id, &name).await
}

/// A file staff attached to an answer (or the citizen to a reply), as a download.
pub async fn answer_file(
    State(app): State<AppState>,
    Path((token, sequence, index)): Path<(String, i64, usize)>,
) -> Result<Response> {
    entry_file(&app, &Access::Token(token), sequence, index).await
}

pub async fn entry_file(
    app: &AppState,
    access: &Access,
    sequence: i64,
    index: usize,
) -> Result<Response> {
    let request = access.resolve(app).await?;
    let history = citizen_status::history_of(&app.pool, &request.aggregate_id).await?;
    let entry = history
        .into_iter()
        .find(|entry| entry.sequence == sequence)
        .ok_or(AppError::NotFound)?;
    let name = file_name(app, &entry.entry, index, entry.files.get(index)).await?;
    let file = entry
        .files
        .into_iter()
        .nth(index)
        .ok_or(AppError::NotFound)?;
    stored_file(app, &file.file_id, &name).await
}

/// An entry's file name: staff's documents have theirs (a library document's in clear, an
/// uploaded one's sealed with the request); a citizen's are numbered.
async fn file_name(
    app: &AppState,
    entry: &str,
    index: usize,
    file: Option<&sportello_domain::Attachment>,
) -> Result<String> {
    Ok(match (entry, file) {
        ("citizen_replied", Some(file)) => {
            format!("allegato-{}.{}", index + 1, extension(&file.content_type))
        }
        (_, Some(file)) => attachment_name(app, file, index).await?,
        _ => format!("documento-{}", index + 1),
    })
}

/// The name staff gave a file: in clear for library documents, sealed for uploads (gone with an
/// erasure, then "documento-N").
pub async fn attachment_name(
    app: &AppState,
    file: &sportello_domain::Attachment,
    index: usize,
) -> Result<String> {
    if let Some(name) = &file.name {
        return Ok(name.clone());
    }
    if let Some(sealed) = &file.sealed_name {
        if let Some(name) = personal::open_text(&app.pool, sealed).await? {
            return Ok(name);
        }
    }
    Ok(format!("documento-{}", index + 1))
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
    let name = crate::web::text::visible(name);
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

/// The private link's pages: the request, its confirmation, its files, and the citizen's
/// reply, reopening and rating.
pub fn routes() -> axum::Router<AppState> {
    use crate::web::upload::with_files;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/segui/{token}", get(page))
        .route("/segui/{token}/ricevuta", get(confirmation))
        .route(
            "/segui/{token}/risposte/{sequence}/{index}",
            get(answer_file),
        )
        .route("/segui/{token}/risposta", with_files(post(reply)))
        .route("/segui/{token}/riapri", post(reopen))
        .route("/segui/{token}/valuta", post(rate))
        .route("/segui/{token}/allegati/{position}", get(download))
        .route("/segui/{token}/allegati/{position}/anteprima", get(preview))
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
