//! The form's two routes: showing it, and receiving it.

use crate::state::Desk;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::{Channel, FiledBy, Kind, Language};
use uuid::Uuid;

use super::form::{FieldError, NewRequestForm, DESCRIPTION_MAX, DESCRIPTION_MIN, SUBJECT_MAX};
use super::{file_request, Submission};
use crate::directory::{active_topic_codes, active_topics};
use crate::files::{self, prepare_uploads, MAX_FILES, MAX_FILE_BYTES};
use crate::state::AppState;
use crate::web::checked::{self, SubmittedFiles};
use crate::web::{i18n, AppError, ClientIp, Result, View};

#[derive(serde::Deserialize)]
pub struct DraftQuery {
    bozza: Option<String>,
}

/// The form; for a signed-in citizen, with their name and address filled in, or a draft of theirs.
pub async fn form(
    Desk { app, language }: Desk,
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
    let shown = Shown {
        signed_in: citizen.is_some(),
        draft,
        form_session: None,
        chosen: Vec::new(),
    };
    let view = form_view(&app, language, &headers, &form, &[], &shown).await?;
    app.render(language, view)
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

/// What the form sends: the request as typed, a draft it continues, the anonymous session the
/// FAQ's suggestions were counted under, and whether it is only saved as a draft.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Sending {
    #[serde(flatten)]
    request: NewRequestForm,
    bozza: String,
    form_session: String,
    action: String,
}

pub async fn submit(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    submitted: SubmittedFiles<Sending>,
) -> Result<Response> {
    let (sent, forged) = checked::typed(submitted)?;
    let Sending {
        request: form,
        bozza,
        form_session,
        action,
    } = sent.form;
    let draft = Some(bozza).filter(|id| !id.is_empty());
    let citizen = crate::citizen_store::session::current(&app, &headers).await?;
    let shown = Shown {
        signed_in: citizen.is_some(),
        draft: draft.clone(),
        form_session: Some(form_session.clone()),
        chosen: sent
            .uploads
            .iter()
            .map(|upload| files::safe_name(&upload.name))
            .collect(),
    };
    let again = |errors: Vec<FieldError>, status| {
        let (form, shown) = (&form, &shown);
        let app = &app;
        let headers = &headers;
        async move {
            app.render(
                language,
                form_view(app, language, headers, form, &errors, shown)
                    .await?
                    .status(status),
            )
        }
    };
    if forged {
        return again(
            vec![general_error("form.error.csrf")],
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if !app.submissions.allow(client) {
        return again(
            vec![general_error("form.error.too_many")],
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    if let (Some(signed_in), "draft") = (&citizen, action.as_str()) {
        crate::citizens::save_draft(&app, signed_in.citizen.id, draft.as_deref(), &form).await?;
        return Ok(Redirect::to("/area?avviso=bozza").into_response());
    }
    let topics = active_topic_codes(&app.pool, app.organisation_id).await?;
    let own = crate::mail::OwnAddresses::load(&app).await?;
    let parsed = form.parse(&topics, &own);
    let (prepared, mut errors) = prepare_uploads(sent.uploads, sent.too_large).await?;
    let request = match parsed {
        Ok(request) if errors.is_empty() => request,
        parsed => {
            let mut all = parsed.err().unwrap_or_default();
            all.append(&mut errors);
            return again(all, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
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
        also: None,
    };
    let filed = file_request(&app, submission).await?;
    // The FAQ suggested while writing did not answer this one.
    crate::faq::deflection_submitted(&app, &form_session).await?;
    if let (Some(signed_in), Some(draft)) = (&citizen, &draft) {
        crate::citizens::remove_draft(&app, signed_in.citizen.id, draft).await?;
    }
    Ok(Redirect::to(&format!("/segui/{}/ricevuta", filed.token)).into_response())
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

/// What the page shows besides the form: whether someone is signed in (a draft can be saved),
/// the draft being continued, the FAQ's anonymous session, the files to choose again.
struct Shown {
    signed_in: bool,
    draft: Option<String>,
    form_session: Option<String>,
    chosen: Vec<String>,
}

/// The form, keeping `form` as typed, with `errors`.
async fn form_view(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    form: &NewRequestForm,
    errors: &[FieldError],
    shown: &Shown,
) -> Result<View> {
    let topics: Vec<Choice> = active_topics(&app.pool, app.organisation_id)
        .await?
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
    let shown_errors: Vec<ShownError> = errors
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
    let form_session = shown
        .form_session
        .clone()
        .filter(|s| s.len() == 43)
        .unwrap_or_else(crate::faq::new_deflection_session);
    Ok(View::new("new_request.html", "/segnalazioni/nuova", "form.title")
        .public_form(&app.csrf_key(), headers)
        .with(context! {
            form, errors => shown_errors, kinds, topics,
            chosen => if errors.is_empty() { Vec::new() } else { shown.chosen.clone() },
            description_min => DESCRIPTION_MIN, description_max => DESCRIPTION_MAX, subject_max => SUBJECT_MAX,
            max_files => MAX_FILES, max_file_mb => MAX_FILE_BYTES / (1024 * 1024),
            signed_in => shown.signed_in, draft => shown.draft, form_session,
        }))
}
