//! The form's two routes: showing it, and receiving it.

use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Serialize;
use sportello_domain::{Channel, Kind, Language};
use uuid::Uuid;

use super::attachments::{self, PreparedAttachment, MAX_FILES, MAX_FILE_BYTES};
use super::form::{FieldError, NewRequestForm, DESCRIPTION_MAX, DESCRIPTION_MIN, SUBJECT_MAX};
use super::{active_topics, file_request, Submission};
use crate::app::AppState;
use crate::web::{cookies, csrf, i18n, AppError, ClientIp, Lang, Page, Result};

/// What the form accepts in all: five files of 10 MB and the text fields, with room for the
/// multipart framing. Bodies up to twice as large are still read (and their files refused with a
/// clear message, the typed fields kept); beyond `MAX_BODY_BYTES` the server stops reading.
const MAX_ACCEPTED_BYTES: usize = MAX_FILES * MAX_FILE_BYTES + 2 * 1024 * 1024;
pub const MAX_BODY_BYTES: usize = 2 * MAX_ACCEPTED_BYTES;
const CSRF_COOKIE_SECONDS: u64 = 7 * 24 * 3600;

pub async fn form(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
) -> Result<Response> {
    render(
        &app,
        language,
        &headers,
        &NewRequestForm::default(),
        &[],
        &[],
        StatusCode::OK,
    )
    .await
}

pub async fn submit(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response> {
    let received = read_multipart(multipart).await?;
    let form = &received.form;
    let chosen: Vec<String> = received
        .uploads
        .iter()
        .map(|upload| attachments::safe_name(&upload.name))
        .collect();
    let nonce = cookies::get(&headers, csrf::COOKIE);
    if !csrf::verify(&app.csrf_secret, nonce, received.csrf_token.as_deref()) {
        let errors = [general_error("form.error.csrf")];
        return render(
            &app,
            language,
            &headers,
            form,
            &errors,
            &chosen,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if !app.submissions.allow(client) {
        let errors = [general_error("form.error.too_many")];
        return render(
            &app,
            language,
            &headers,
            form,
            &errors,
            &chosen,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let topics: Vec<String> = active_topics(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .map(|t| t.code)
        .collect();
    let parsed = form.parse(&topics);
    let (prepared, mut errors) = prepare_uploads(received.uploads, received.too_large).await?;
    match parsed {
        Ok(request) if errors.is_empty() => {
            let submission = Submission {
                request,
                attachments: prepared,
                language,
                channel: Channel::Web,
                actor: "citizen".into(),
                correlation_id: Uuid::new_v4().to_string(),
            };
            let filed = file_request(&app, submission).await?;
            Ok(Redirect::to(&format!("/segui/{}/ricevuta", filed.token)).into_response())
        }
        parsed => {
            let mut all = parsed.err().unwrap_or_default();
            all.append(&mut errors);
            render(
                &app,
                language,
                &headers,
                form,
                &all,
                &chosen,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// One file as sent; `oversized` files are not kept in memory past the limit.
struct Upload {
    name: String,
    bytes: Vec<u8>,
    oversized: bool,
}

/// What the multipart body held: the typed fields, the uploads, the CSRF token.
struct Received {
    form: NewRequestForm,
    uploads: Vec<Upload>,
    csrf_token: Option<String>,
    /// The body went over what the form accepts; the fields read so far are kept.
    too_large: bool,
}

async fn read_multipart(mut multipart: Multipart) -> Result<Received> {
    let mut received = Received {
        form: NewRequestForm::default(),
        uploads: Vec::new(),
        csrf_token: None,
        too_large: false,
    };
    let mut total = 0usize;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                received.too_large = true;
                break;
            }
            Err(_) => return Err(AppError::BadRequest),
        };
        let name = field.name().unwrap_or_default().to_string();
        let is_file = name == "attachments";
        let mut upload = Upload {
            name: field.file_name().unwrap_or_default().to_string(),
            bytes: Vec::new(),
            oversized: false,
        };
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    received.too_large = true;
                    break;
                }
                Err(_) => return Err(AppError::BadRequest),
            };
            total += chunk.len();
            let limit = if is_file { MAX_FILE_BYTES } else { 64 * 1024 };
            if upload.bytes.len() + chunk.len() > limit {
                upload.oversized = true;
                upload.bytes = Vec::new();
            } else if !upload.oversized {
                upload.bytes.extend_from_slice(&chunk);
            }
        }
        if total > MAX_ACCEPTED_BYTES {
            received.too_large = true;
        }
        if is_file {
            if !(upload.name.is_empty() && upload.bytes.is_empty() && !upload.oversized) {
                received.uploads.push(upload);
            }
        } else if upload.oversized {
            return Err(AppError::PayloadTooLarge);
        } else {
            let value = String::from_utf8(upload.bytes).map_err(|_| AppError::BadRequest)?;
            if name == "csrf_token" {
                received.csrf_token = Some(value);
            } else {
                received.form.set(&name, value);
            }
        }
        if received.too_large {
            break;
        }
    }
    Ok(received)
}

/// Checks every upload (in a blocking task: images are decoded and re-encoded).
async fn prepare_uploads(
    uploads: Vec<Upload>,
    too_large: bool,
) -> Result<(Vec<PreparedAttachment>, Vec<FieldError>)> {
    let mut errors = Vec::new();
    if too_large {
        errors.push(FieldError {
            field: "attachments",
            message: "form.error.attachments_total",
            detail: None,
        });
        return Ok((Vec::new(), errors));
    }
    if uploads.len() > MAX_FILES {
        errors.push(FieldError {
            field: "attachments",
            message: "form.error.attachments_count",
            detail: None,
        });
        return Ok((Vec::new(), errors));
    }
    let results = tokio::task::spawn_blocking(move || {
        uploads
            .into_iter()
            .map(|upload| {
                let result = if upload.oversized {
                    Err(attachments::AttachmentError::TooLarge)
                } else {
                    attachments::prepare(&upload.name, upload.bytes)
                };
                (attachments::safe_name(&upload.name), result)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(AppError::internal)?;
    let mut prepared = Vec::new();
    for (name, result) in results {
        match result {
            Ok(attachment) => prepared.push(attachment),
            Err(error) => errors.push(FieldError {
                field: "attachments",
                message: error.message_key(),
                detail: Some(name),
            }),
        }
    }
    Ok((prepared, errors))
}

fn general_error(message: &'static str) -> FieldError {
    FieldError {
        field: "general",
        message,
        detail: None,
    }
}

/// An error as the page shows it: the field it belongs to and the translated text.
#[derive(Serialize)]
struct ShownError {
    field: &'static str,
    /// The element id the field's `aria-describedby` points at.
    id: String,
    text: String,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

/// Renders the form, keeping `form` as typed. `chosen` names files that must be chosen again.
async fn render(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    form: &NewRequestForm,
    errors: &[FieldError],
    chosen: &[String],
    status: StatusCode,
) -> Result<Response> {
    let existing = cookies::get(headers, csrf::COOKIE)
        .filter(|nonce| nonce.len() == 43)
        .map(str::to_string);
    let nonce = existing.clone().unwrap_or_else(csrf::new_nonce);
    let csrf_token = csrf::token_for(&app.csrf_secret, &nonce);
    let topics = active_topics(&app.pool, app.organisation_id).await?;
    let topics: Vec<Choice> = topics
        .into_iter()
        .map(|topic| Choice {
            label: if language == Language::En {
                topic.name_en
            } else {
                topic.name_it
            },
            value: topic.code,
        })
        .collect();
    let kinds: Vec<Choice> = Kind::ALL
        .iter()
        .map(|kind| Choice {
            value: kind.code().into(),
            label: i18n::text(language, &format!("kind.{}", kind.code()), &[]),
        })
        .collect();
    let shown: Vec<ShownError> = errors
        .iter()
        .enumerate()
        .map(|(index, error)| ShownError {
            field: error.field,
            id: format!("{}-error-{}", error.field, index + 1),
            text: i18n::text(
                language,
                error.message,
                &[("name", error.detail.as_deref().unwrap_or(""))],
            ),
        })
        .collect();
    let page = Page::new(
        language,
        "/segnalazioni/nuova",
        &app.organisation_name,
        "form.title",
    );
    let body = app.templates.render(
        "new_request.html",
        context! {
            lang => page.lang, page, form, errors => shown, kinds, topics, csrf_token,
            chosen => if errors.is_empty() { &[][..] } else { chosen },
            description_min => DESCRIPTION_MIN, description_max => DESCRIPTION_MAX, subject_max => SUBJECT_MAX,
            max_files => MAX_FILES, max_file_mb => MAX_FILE_BYTES / (1024 * 1024),
        },
    )?;
    let mut response = (status, Html(body)).into_response();
    if existing.is_none() {
        let cookie = cookies::set(
            csrf::COOKIE,
            &nonce,
            CSRF_COOKIE_SECONDS,
            app.secure_cookies(),
        );
        response.headers_mut().insert(
            header::SET_COOKIE,
            cookie.parse().map_err(AppError::internal)?,
        );
    }
    Ok(response)
}
