//! FAQ editing for the URP (operators and managers): the list with votes and questions answered,
//! the editor (both languages, topic, order, published), the history of every version, a draft
//! FAQ from an answered request with the citizen's personal data taken out, and the "missing
//! FAQs" view.

use crate::state::Desk;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::Language;
use uuid::Uuid;

use super::deflection;
use super::store::{self, Draft, Faq, Text};
use crate::directory::{active_topic_codes, active_topics};
use crate::staff::{SignedIn, Urp};
use crate::state::AppState;
use crate::web::checked::CsrfForm;
use crate::web::form::Errors;
use crate::web::{i18n, AppError, Result, View};

pub(super) const QUESTION_MAX: usize = 300;
const ANSWER_MAX: usize = 20_000;

#[derive(Serialize)]
struct Row {
    id: String,
    question: String,
    topic: String,
    position: i32,
    published: bool,
    useful: i64,
    not_useful: i64,
    answered: i64,
}

pub async fn list(Desk { app, language }: Desk, Urp(signed_in): Urp) -> Result<Response> {
    let faqs = store::list(&app.pool, app.organisation_id, false, None).await?;
    let votes = store::vote_counts(&app.pool, app.organisation_id).await?;
    let since = app.clock.now() - Duration::days(30);
    let answered = deflection::answered_per_faq(&app, since).await?;
    let total_answered = deflection::answered_since(&app, since).await?;
    let topics = active_topics(&app.pool, app.organisation_id).await?;
    let rows: Vec<Row> = faqs
        .iter()
        .map(|faq| {
            let id = faq.id.to_string();
            let (useful, not_useful) = votes.get(&id).copied().unwrap_or((0, 0));
            Row {
                question: faq
                    .text_in(language)
                    .map(|(t, _)| t.question.clone())
                    .unwrap_or_default(),
                topic: crate::directory::topic_name(&topics, &faq.topic_code, language),
                position: faq.position,
                published: faq.published,
                useful,
                not_useful,
                answered: answered.get(&id).copied().unwrap_or(0),
                id,
            }
        })
        .collect();
    let view = View::new("faq/staff_list.html", "/ufficio/faq", "faq.staff.title")
        .with(context! { staff => signed_in.bar(), rows, total_answered });
    app.render(language, view)
}

/// The editor's fields, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Fields {
    topic: String,
    position: String,
    /// "1" when ticked.
    published: String,
    question_it: String,
    answer_it: String,
    question_en: String,
    answer_en: String,
    revision: String,
}

impl Fields {
    fn from_faq(faq: &Faq) -> Fields {
        let text = |t: &Option<Text>| t.clone().unwrap_or_default();
        Fields {
            topic: faq.topic_code.clone(),
            position: faq.position.to_string(),
            published: if faq.published {
                "1".into()
            } else {
                String::new()
            },
            question_it: text(&faq.it).question,
            answer_it: text(&faq.it).answer,
            question_en: text(&faq.en).question,
            answer_en: text(&faq.en).answer,
            revision: faq.revision.to_string(),
        }
    }

    /// As typed, trimmed, line ends as `\n`.
    fn normalised(self) -> Fields {
        let clean = |text: String| text.trim().replace("\r\n", "\n");
        Fields {
            topic: clean(self.topic),
            position: clean(self.position),
            published: self.published,
            question_it: clean(self.question_it),
            answer_it: clean(self.answer_it),
            question_en: clean(self.question_en),
            answer_en: clean(self.answer_en),
            revision: clean(self.revision),
        }
    }

    /// The draft, or the errors.
    fn parse(&self, topics: &[String]) -> std::result::Result<Draft, Errors> {
        let mut errors = Errors::new();
        if !topics.contains(&self.topic) {
            errors.add("topic", "faq.error.topic");
        }
        let position = self
            .position
            .parse::<i32>()
            .ok()
            .filter(|p| (0..=10_000).contains(p));
        if position.is_none() {
            errors.add("position", "faq.error.position");
        }
        let mut text = |lang: &str, question: &str, answer: &str| -> Option<Text> {
            match (question.is_empty(), answer.is_empty()) {
                (true, true) => None,
                (false, true) => {
                    errors.add(&format!("answer_{lang}"), "faq.error.answer");
                    None
                }
                (true, false) => {
                    errors.add(&format!("question_{lang}"), "faq.error.question");
                    None
                }
                _ => {
                    if question.chars().count() > QUESTION_MAX {
                        errors.add(&format!("question_{lang}"), "faq.error.question_long");
                    }
                    if answer.chars().count() > ANSWER_MAX {
                        errors.add(&format!("answer_{lang}"), "faq.error.answer_long");
                    }
                    Some(Text {
                        question: question.to_string(),
                        answer: answer.to_string(),
                    })
                }
            }
        };
        let it = text("it", &self.question_it, &self.answer_it);
        let en = text("en", &self.question_en, &self.answer_en);
        if it.is_none() && en.is_none() && errors.is_empty() {
            errors.add("question_it", "faq.error.one_language");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Draft {
            topic_code: self.topic.clone(),
            position: position.unwrap_or(0),
            published: self.published == "1",
            it,
            en,
            source_request: None,
        })
    }
}

/// The editor, for a new FAQ or the one with `id`, with what was typed and its errors.
async fn editor_view(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    id: Option<&str>,
    fields: &Fields,
    errors: &Errors,
) -> Result<View> {
    let topics = crate::directory::topic_choices(&app.pool, app.organisation_id, language).await?;
    let path = id
        .map(|id| format!("/ufficio/faq/{id}"))
        .unwrap_or_else(|| "/ufficio/faq/nuova".into());
    Ok(
        View::new("faq/staff_edit.html", path, "faq.staff.edit").with(context! {
            staff => signed_in.bar(), id, form => fields, errors => errors.shown(language), topics,
            question_max => QUESTION_MAX, answer_max => ANSWER_MAX,
        }),
    )
}

/// The FAQ with this id, or the page that is not there.
async fn existing(app: &AppState, id: &str) -> Result<store::Faq> {
    store::find(&app.pool, app.organisation_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn new_form(Desk { app, language }: Desk, Urp(signed_in): Urp) -> Result<Response> {
    let fields = Fields {
        position: "0".into(),
        ..Fields::default()
    };
    let view = editor_view(&app, language, &signed_in, None, &fields, &Errors::new()).await?;
    app.render(language, view)
}

pub async fn edit_form(
    Desk { app, language }: Desk,
    Urp(signed_in): Urp,
    Path(id): Path<String>,
) -> Result<Response> {
    let faq = existing(&app, &id).await?;
    let notice = faq
        .published
        .then_some(())
        .is_none()
        .then_some("faq.staff.draft_notice");
    let fields = Fields::from_faq(&faq);
    let view = editor_view(
        &app,
        language,
        &signed_in,
        Some(&id),
        &fields,
        &Errors::new(),
    )
    .await?;
    app.render(language, view.with(context! { notice }))
}

/// Saves a new FAQ (`/ufficio/faq`) or the one at `/ufficio/faq/{id}`.
pub async fn save(
    Desk { app, language }: Desk,
    Urp(signed_in): Urp,
    id: Option<Path<String>>,
    CsrfForm(form): CsrfForm<Fields>,
) -> Result<Response> {
    let id = id.map(|Path(id)| id);
    let fields = form.normalised();
    let refuse = |errors: Errors, status: StatusCode| {
        let (app, signed_in, id, fields) = (&app, &signed_in, &id, &fields);
        async move {
            let view =
                editor_view(app, language, signed_in, id.as_deref(), fields, &errors).await?;
            app.render(language, view.status(status))
        }
    };
    let existing = match &id {
        Some(id) => Some(existing(&app, id).await?),
        None => None,
    };
    let topics = active_topic_codes(&app.pool, app.organisation_id).await?;
    let draft = match fields.parse(&topics) {
        Ok(draft) => draft,
        Err(errors) => return refuse(errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    if let Some(existing) = &existing {
        // Someone else saved in between: show their version instead of overwriting it.
        if fields.revision != existing.revision.to_string() {
            let mut errors = Errors::new();
            errors.add("general", "faq.error.changed");
            return refuse(errors, StatusCode::CONFLICT).await;
        }
    }
    let saved = match store::save_over(
        &app.pool,
        app.organisation_id,
        existing.as_ref().map(|f| f.id),
        existing.as_ref().map(|f| f.revision),
        &draft,
        signed_in.staff.id,
        app.clock.now(),
    )
    .await
    {
        Ok(saved) => saved,
        Err(store::SaveError::Stale) => {
            let mut errors = Errors::new();
            errors.add("general", "faq.error.changed");
            return refuse(errors, StatusCode::CONFLICT).await;
        }
        Err(store::SaveError::Database(error)) => return Err(error.into()),
    };
    tracing::info!(faq_id = %saved, staff_id = %signed_in.staff.id, published = draft.published, "FAQ saved");
    Ok(Redirect::to("/ufficio/faq").into_response())
}

#[derive(Serialize)]
struct ShownRevision {
    revision: i32,
    who: String,
    at: String,
    published: bool,
    topic: String,
    position: i32,
    it: Option<Text>,
    en: Option<Text>,
}

pub async fn history(
    Desk { app, language }: Desk,
    Urp(signed_in): Urp,
    Path(id): Path<String>,
) -> Result<Response> {
    let faq = existing(&app, &id).await?;
    let names = crate::staff::names(&app.pool, app.organisation_id).await?;
    let revisions: Vec<ShownRevision> = store::revisions(&app.pool, &id)
        .await?
        .into_iter()
        .map(|r| ShownRevision {
            who: r
                .staff_id
                .as_deref()
                .and_then(|s| Uuid::parse_str(s).ok())
                .and_then(|s| names.get(&s).cloned())
                .unwrap_or_else(|| i18n::text(language, "request.who_unknown", &[])),
            at: i18n::date_time(language, r.at),
            revision: r.revision,
            published: r.published,
            topic: r.topic_code,
            position: r.position,
            it: r.it,
            en: r.en,
        })
        .collect();
    let comments: Vec<(bool, String, String)> = store::comments(&app.pool, &id)
        .await?
        .into_iter()
        .map(|(useful, comment, at)| (useful, comment, i18n::date_time(language, at)))
        .collect();
    let view = View::new(
        "faq/staff_history.html",
        format!("/ufficio/faq/{id}/storia"),
        "faq.staff.history",
    )
    .with(context! {
        staff => signed_in.bar(),
        id, question => faq.text_in(language).map(|(t, _)| t.question.clone()), revisions, comments,
    });
    app.render(language, view)
}
