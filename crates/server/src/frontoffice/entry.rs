//! Entering a request on a citizen's behalf: the channel it came by, the identity checked, the
//! answers by e-mail or on paper, and the request filed through intake with the same rules,
//! references and acknowledgement as the web.

use crate::state::Desk;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::{FiledBy, Kind, Language};
use uuid::Uuid;

use super::record::citizen_at_desk;
use super::CHANNELS;
use crate::citizen_store::Citizen;
use crate::directory::active_topic_codes;
use crate::files::prepare_uploads;
use crate::intake::{
    file_request, NewRequestForm, Submission, DESCRIPTION_MAX, DESCRIPTION_MIN, SUBJECT_MAX,
};
use crate::staff::SignedIn;
use crate::state::AppState;
use crate::web::checked::CsrfMultipart;
use crate::web::form::Errors;
use crate::web::{i18n, Result, View};

/// The entry form as typed: how the request came, whether the identity was checked, how the
/// citizen wants the answers, and the request itself (their name and contacts come from their
/// record).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Entry {
    channel: String,
    identity_checked: String,
    contact: String,
    kind: String,
    topic: String,
    subject: String,
    description: String,
    place: String,
}

impl Entry {
    /// The request as the intake form would have it, for the same parsing.
    fn request(&self) -> NewRequestForm {
        NewRequestForm {
            kind: self.kind.clone(),
            topic: self.topic.clone(),
            subject: self.subject.clone(),
            description: self.description.clone(),
            place: self.place.clone(),
            ..NewRequestForm::default()
        }
    }
}

pub async fn entry_form(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response> {
    let citizen = citizen_at_desk(&app, &signed_in, &id).await?;
    let entry = Entry {
        channel: "counter".into(),
        contact: if citizen.email.is_some() {
            "email"
        } else {
            "paper"
        }
        .into(),
        ..Entry::default()
    };
    let view = entry_view(&app, language, &signed_in, &citizen, &entry, &Errors::new()).await?;
    app.render(language, view)
}

async fn entry_view(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    citizen: &Citizen,
    entry: &Entry,
    errors: &Errors,
) -> Result<View> {
    let topics = crate::directory::topic_choices(&app.pool, app.organisation_id, language).await?;
    let kinds: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_string(),
                i18n::text(language, &format!("kind.{}", k.code()), &[]),
            )
        })
        .collect();
    let channels: Vec<(String, String)> = CHANNELS
        .iter()
        .map(|c| {
            (
                c.code().to_string(),
                i18n::text(language, &format!("channel.{}", c.code()), &[]),
            )
        })
        .collect();
    Ok(View::new(
        "frontoffice/entry.html",
        format!("/ufficio/sportello/cittadini/{}/nuova", citizen.id),
        "front.entry.title",
    )
    .with(context! {
        staff => signed_in.bar(), citizen, entry, form => entry, errors => errors.shown(language),
        topics, kinds, channels,
        description_min => DESCRIPTION_MIN, description_max => DESCRIPTION_MAX, subject_max => SUBJECT_MAX,
        max_files => crate::files::MAX_FILES,
    }))
}

/// Files the request for the citizen: their name and contacts come from their record.
pub async fn enter(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Path(id): Path<String>,
    sent: CsrfMultipart<Entry>,
) -> Result<Response> {
    let citizen = citizen_at_desk(&app, &signed_in, &id).await?;
    let entry = sent.form;
    let mut errors = Errors::new();
    let channel = CHANNELS.into_iter().find(|c| c.code() == entry.channel);
    if channel.is_none() {
        errors.add("channel", "front.error.channel");
    }
    let paper = match entry.contact.as_str() {
        "paper" => true,
        "email" if citizen.email.is_some() => false,
        "email" => {
            errors.add("contact-email", "front.error.no_email");
            false
        }
        _ => {
            errors.add("contact-email", "front.error.contact");
            false
        }
    };
    // The citizen's record supplies who they are; the privacy notice is given at the counter.
    let mut form = entry.request();
    form.first_name = citizen.first_name.clone();
    form.last_name = citizen.last_name.clone();
    form.email = citizen.email.clone().unwrap_or_default();
    form.email_confirmation = form.email.clone();
    form.phone = citizen.phone.clone().unwrap_or_default();
    form.privacy = "accepted".into();
    let topics = active_topic_codes(&app.pool, app.organisation_id).await?;
    let own = crate::mail::OwnAddresses::load(&app).await?;
    let parsed = form.parse_with(&topics, &own, true);
    if let Err(field_errors) = &parsed {
        for error in field_errors {
            let field = if error.field == "kind" {
                "kind-information"
            } else {
                error.field
            };
            errors.add(field, error.message);
        }
    }
    let (prepared, file_errors) = prepare_uploads(sent.uploads, sent.too_large).await?;
    for error in &file_errors {
        errors.add("attachments", error.message);
    }
    let (Ok(request), Some(channel), true) = (parsed, channel, errors.is_empty()) else {
        let view = entry_view(&app, language, &signed_in, &citizen, &entry, &errors).await?;
        return app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY));
    };
    let submission = Submission {
        request,
        attachments: prepared,
        language,
        channel,
        actor: format!("staff:{}", signed_in.staff.id),
        correlation_id: Uuid::new_v4().to_string(),
        filed_by: FiledBy {
            citizen: Some(citizen.id),
            operator: Some(signed_in.staff.id),
            identity_checked: entry.identity_checked == "yes",
            paper_only: paper,
            follows: None,
        },
        also: None,
    };
    let filed = file_request(&app, submission).await?;
    Ok(Redirect::to(&format!(
        "/ufficio/sportello/ricevute/{}",
        filed.aggregate_id
    ))
    .into_response())
}
