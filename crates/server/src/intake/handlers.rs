//! The form's two routes: showing it, and receiving it.

use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Serialize;
use sportello_domain::{Channel, FiledBy, Kind, Language};
use uuid::Uuid;

use super::form::{FieldError, NewRequestForm, DESCRIPTION_MAX, DESCRIPTION_MIN, SUBJECT_MAX};
use super::{file_request, Submission};
use crate::directory::active_topics;
use crate::files::{self, prepare_uploads, MAX_FILES, MAX_FILE_BYTES};
use crate::state::AppState;
use crate::web::upload::read_multipart;
use crate::web::{csrf, i18n, AppError, ClientIp, Lang, Page, Result};

#[derive(serde::Deserialize)]
pub struct DraftQuery {
    bozza: Option<String>,
}

/// The form; for a signed-in citizen, with their name and address filled in, or a draft of theirs.
pub async fn form(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Query(query): Query<DraftQuery>,
) -> Result<Response> {
    let citizen = crate::citizen_store::session::current(&app, &headers).await?;
    let mut form = NewRequestForm::default();
    let mut draft = None;
    if let (Some(signed_in), Some(id)) = (&citizen, &query.bozza) {
        form = crate::citizens::load_draft(&app, signed_in.citizen.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        draft = Some(id.clone());
    }
    if let Some(signed_in) = &citizen {
        fill_from_account(&mut form, &signed_in.citizen);
    }
    render(
        &app,
        language,
        &headers,
        &form,
        &[],
        &[],
        StatusCode::OK,
        citizen.is_some(),
        draft.as_deref(),
        None,
    )
    .await
}

/// A signed-in citizen's name and address, where the form has none yet.
fn fill_from_account(form: &mut NewRequestForm, citizen: &crate::citizen_store::Citizen) {
    let fill = |field: &mut String, value: &str| {
        if field.trim().is_empty() {
            *field = value.to_string();
        }
    };
    fill(&mut form.first_name, &citizen.first_name);
    fill(&mut form.last_name, &citizen.last_name);
    if let Some(email) = citizen.email.as_deref().filter(|_| citizen.email_verified) {
        fill(&mut form.email, email);
        fill(&mut form.email_confirmation, email);
    }
    if let Some(phone) = &citizen.phone {
        fill(&mut form.phone, phone);
    }
}

pub async fn submit(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response> {
    let received = read_multipart(multipart).await?;
    let mut form = NewRequestForm::default();
    for (name, value) in &received.fields {
        form.set(name, value.clone());
    }
    let field = |name: &str| {
        received
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let draft = field("bozza").filter(|id| !id.is_empty());
    let form_session = field("form_session").unwrap_or_default();
    let citizen = crate::citizen_store::session::current(&app, &headers).await?;
    let signed_in = citizen.is_some();
    let form = &form;
    let render = |app, language, headers, form, errors, chosen, status| {
        render(
            app,
            language,
            headers,
            form,
            errors,
            chosen,
            status,
            signed_in,
            draft.as_deref(),
            Some(form_session.as_str()),
        )
    };
    let chosen: Vec<String> = received
        .uploads
        .iter()
        .map(|upload| files::safe_name(&upload.name))
        .collect();
    if !csrf::verify_request(
        &app.csrf_secret,
        &headers,
        received.csrf_token.as_deref(),
        app.secure_cookies(),
    ) {
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
    if let (Some(signed_in), Some("draft")) = (&citizen, field("action").as_deref()) {
        crate::citizens::save_draft(&app, signed_in.citizen.id, draft.as_deref(), form).await?;
        return Ok(Redirect::to("/area?avviso=bozza").into_response());
    }
    let topics: Vec<String> = active_topics(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .map(|t| t.code)
        .collect();
    let own = crate::mail::OwnAddresses::load(&app).await?;
    let parsed = form.parse(&topics, &own);
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
                filed_by: FiledBy {
                    citizen: citizen.as_ref().map(|c| c.citizen.id),
                    ..FiledBy::default()
                },
            };
            let filed = file_request(&app, submission).await?;
            // The FAQ suggested while writing did not answer this one.
            crate::faq::deflection_submitted(&app, &form_session).await?;
            if let (Some(signed_in), Some(draft)) = (&citizen, &draft) {
                crate::citizens::remove_draft(&app, signed_in.citizen.id, draft).await?;
            }
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
#[allow(clippy::too_many_arguments)]
async fn render(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    form: &NewRequestForm,
    errors: &[FieldError],
    chosen: &[String],
    status: StatusCode,
    signed_in: bool,
    draft: Option<&str>,
    form_session: Option<&str>,
) -> Result<Response> {
    let (csrf_token, csrf_cookie) = csrf::issue(&app.csrf_secret, headers, app.secure_cookies());
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
            signed_in, draft, form_session => form_session.filter(|s| s.len() == 43).map(str::to_string).unwrap_or_else(crate::faq::new_deflection_session),
        },
    )?;
    let mut response = (status, Html(body)).into_response();
    if let Some(cookie) = csrf_cookie {
        response.headers_mut().insert(
            header::SET_COOKIE,
            cookie.parse().map_err(AppError::internal)?,
        );
    }
    Ok(response)
}
