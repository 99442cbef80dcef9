//! FAQ editing for the URP (operators and managers): the list with votes and questions answered,
//! the editor (both languages, topic, order, published), the history of every version, a draft
//! FAQ from an answered request with the citizen's personal data taken out, and the "missing
//! FAQs" view.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Duration;
use minijinja::context;
use serde::Serialize;
use sportello_domain::{Language, RequestEvent};
use std::collections::HashMap;
use uuid::Uuid;

use super::deflection;
use super::store::{self, Draft, Faq, Text};
use crate::backoffice::visible_to;
use crate::directory::active_topics;
use crate::personal;
use crate::search;
use crate::staff::SignedIn;
use crate::staff::StaffBar;
use crate::state::AppState;
use crate::web::form::Errors;
use crate::web::{i18n, AppError, Lang, Page, Result};

const QUESTION_MAX: usize = 300;
const ANSWER_MAX: usize = 20_000;

fn urp(signed_in: &SignedIn) -> Result<()> {
    if signed_in.staff.is_urp() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

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

pub async fn list(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
) -> Result<Response> {
    urp(&signed_in)?;
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
    let page = Page::new(
        language,
        "/ufficio/faq",
        &app.organisation_name,
        "faq.staff.title",
    );
    let body = app.templates.render(
        "faq/staff_list.html",
        context! { lang => page.lang, page, staff => StaffBar::new(&signed_in.staff, &signed_in.csrf_token), rows, total_answered },
    )?;
    Ok(Html(body).into_response())
}

/// The editor's fields, as typed.
#[derive(Debug, Clone, Default, Serialize)]
struct Fields {
    topic: String,
    position: String,
    published: bool,
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
            published: faq.published,
            question_it: text(&faq.it).question,
            answer_it: text(&faq.it).answer,
            question_en: text(&faq.en).question,
            answer_en: text(&faq.en).answer,
            revision: faq.revision.to_string(),
        }
    }

    fn from_form(form: &HashMap<String, String>) -> Fields {
        let get = |name: &str| {
            form.get(name)
                .map(|v| v.trim().replace("\r\n", "\n"))
                .unwrap_or_default()
        };
        Fields {
            topic: get("topic"),
            position: get("position"),
            published: form.get("published").is_some_and(|v| v == "1"),
            question_it: get("question_it"),
            answer_it: get("answer_it"),
            question_en: get("question_en"),
            answer_en: get("answer_en"),
            revision: get("revision"),
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
            published: self.published,
            it,
            en,
            source_request: None,
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_editor(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    id: Option<&str>,
    fields: &Fields,
    errors: &Errors,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response> {
    let topics = crate::directory::topic_choices(&app.pool, app.organisation_id, language).await?;
    let path = id
        .map(|id| format!("/ufficio/faq/{id}"))
        .unwrap_or_else(|| "/ufficio/faq/nuova".into());
    let page = Page::new(language, &path, &app.organisation_name, "faq.staff.edit");
    let body = app.templates.render(
        "faq/staff_edit.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&signed_in.staff, &signed_in.csrf_token),
            id, form => fields, errors => errors.shown(language), topics, notice,
            question_max => QUESTION_MAX, answer_max => ANSWER_MAX,
        },
    )?;
    Ok((status, Html(body)).into_response())
}

pub async fn new_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
) -> Result<Response> {
    urp(&signed_in)?;
    let fields = Fields {
        position: "0".into(),
        ..Fields::default()
    };
    render_editor(
        &app,
        language,
        &signed_in,
        None,
        &fields,
        &Errors::new(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn edit_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response> {
    urp(&signed_in)?;
    let faq = store::find(&app.pool, app.organisation_id, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let notice = faq
        .published
        .then_some(())
        .is_none()
        .then_some("faq.staff.draft_notice");
    render_editor(
        &app,
        language,
        &signed_in,
        Some(&id),
        &Fields::from_faq(&faq),
        &Errors::new(),
        notice,
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response> {
    save(app, language, signed_in, None, form).await
}

pub async fn update(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response> {
    save(app, language, signed_in, Some(id), form).await
}

async fn save(
    app: AppState,
    language: Language,
    signed_in: SignedIn,
    id: Option<String>,
    form: HashMap<String, String>,
) -> Result<Response> {
    urp(&signed_in)?;
    if !signed_in.csrf_ok(form.get("csrf_token").map(String::as_str).unwrap_or("")) {
        return Err(AppError::Csrf);
    }
    let fields = Fields::from_form(&form);
    let existing = match &id {
        Some(id) => Some(
            store::find(&app.pool, app.organisation_id, id)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let topics: Vec<String> = active_topics(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .map(|t| t.code)
        .collect();
    let draft = match fields.parse(&topics) {
        Ok(draft) => draft,
        Err(errors) => {
            return render_editor(
                &app,
                language,
                &signed_in,
                id.as_deref(),
                &fields,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    if let Some(existing) = &existing {
        // Someone else saved in between: show their version instead of overwriting it.
        if fields.revision != existing.revision.to_string() {
            let mut errors = Errors::new();
            errors.add("general", "faq.error.changed");
            return render_editor(
                &app,
                language,
                &signed_in,
                id.as_deref(),
                &fields,
                &errors,
                None,
                StatusCode::CONFLICT,
            )
            .await;
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
            return render_editor(
                &app,
                language,
                &signed_in,
                id.as_deref(),
                &fields,
                &errors,
                None,
                StatusCode::CONFLICT,
            )
            .await;
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
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response> {
    urp(&signed_in)?;
    let faq = store::find(&app.pool, app.organisation_id, &id)
        .await?
        .ok_or(AppError::NotFound)?;
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
    let page = Page::new(
        language,
        &format!("/ufficio/faq/{id}/storia"),
        &app.organisation_name,
        "faq.staff.history",
    );
    let body = app.templates.render(
        "faq/staff_history.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&signed_in.staff, &signed_in.csrf_token),
            id, question => faq.text_in(language).map(|(t, _)| t.question.clone()), revisions, comments,
        },
    )?;
    Ok(Html(body).into_response())
}

/// Replaces the citizen's personal data in a text staff wrote for them: their names, e-mail
/// and phone, and anything shaped like an e-mail address, a phone number or a fiscal code.
pub fn depersonalise(text: &str, known: &[&str]) -> String {
    let mut out = text.to_string();
    let mut known: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| k.trim().chars().count() >= 2)
        .collect();
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    for value in known {
        out = replace_case_insensitive(&out, value.trim(), "[…]");
    }
    out.split_inclusive(char::is_whitespace)
        .map(|token| {
            let word = token.trim_end();
            let bare = word.trim_matches(|c: char| ",.;:()[]<>\"'".contains(c));
            let digits = bare.chars().filter(char::is_ascii_digit).count();
            let is_email = bare.contains('@') && bare.contains('.');
            let is_phone = digits >= 6
                && bare
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+-./".contains(c));
            let is_fiscal =
                bare.len() == 16 && bare.chars().all(|c| c.is_ascii_alphanumeric()) && digits >= 5;
            if is_email || is_phone || is_fiscal {
                format!("{}{}", word.replace(bare, "[…]"), &token[word.len()..])
            } else {
                token.to_string()
            }
        })
        .collect()
}

fn replace_case_insensitive(text: &str, needle: &str, with: &str) -> String {
    let lower = text.to_lowercase();
    let needle_lower = needle.to_lowercase();
    if needle_lower.is_empty() || lower.len() != text.len() {
        return text.replace(needle, with);
    }
    let mut out = String::new();
    let mut last = 0;
    for (index, _) in lower.match_indices(&needle_lower) {
        out.push_str(&text[last..index]);
        out.push_str(with);
        last = index + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

/// One click on an answered request: a draft FAQ (unpublished) from its subject and answer, with
/// the citizen's personal data taken out, opened in the editor for review.
pub async fn from_request(
    State(app): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response> {
    urp(&signed_in)?;
    if !signed_in.csrf_ok(form.get("csrf_token").map(String::as_str).unwrap_or("")) {
        return Err(AppError::Csrf);
    }
    let visible = visible_to(&app, &signed_in.staff, &id).await?;
    let RequestEvent::RequestReceived {
        topic,
        language,
        personal: sealed,
        ..
    } = &visible.received
    else {
        return Err(AppError::NotFound);
    };
    let answer = visible.events.iter().rev().find_map(|r| match &r.event {
        RequestEvent::RequestAnswered { message, .. } => Some(message.clone()),
        _ => None,
    });
    let Some(answer) = answer else {
        return Err(AppError::NotFound);
    };
    let answer = personal::open_text(&app.pool, &answer)
        .await?
        .ok_or(AppError::Gone)?;
    let citizen = personal::open(&app.pool, sealed)
        .await?
        .ok_or(AppError::Gone)?;
    let full_name = format!("{} {}", citizen.first_name, citizen.last_name);
    let known = [
        full_name.as_str(),
        citizen.first_name.as_str(),
        citizen.last_name.as_str(),
        citizen.email.as_str(),
        citizen.phone.as_deref().unwrap_or(""),
    ];
    let text = Text {
        question: depersonalise(&citizen.subject, &known)
            .chars()
            .take(QUESTION_MAX)
            .collect(),
        answer: depersonalise(&answer, &known),
    };
    let draft = Draft {
        topic_code: topic.clone(),
        position: 0,
        published: false,
        it: (*language == Language::It).then(|| text.clone()),
        en: (*language == Language::En).then_some(text),
        source_request: Some(id.clone()),
    };
    let faq = store::save(
        &app.pool,
        app.organisation_id,
        None,
        &draft,
        signed_in.staff.id,
        app.clock.now(),
    )
    .await?;
    tracing::info!(faq_id = %faq, aggregate_id = %id, "draft FAQ made from a request");
    Ok(Redirect::to(&format!("/ufficio/faq/{faq}")).into_response())
}

#[derive(Serialize)]
struct TopicGap {
    topic: String,
    requests: i64,
    faqs: i64,
}

/// What recent requests ask that no published FAQ answers: topics with many requests and few
/// FAQs, and the frequent words of recent subjects that no published FAQ contains.
pub async fn missing(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
) -> Result<Response> {
    urp(&signed_in)?;
    let since = app.clock.now() - Duration::days(90);
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT q.topic_code, COUNT(*) AS requests,
                (SELECT COUNT(*) FROM faqs f WHERE f.organisation_id = q.organisation_id
                    AND f.topic_code = q.topic_code AND f.published) AS faqs
           FROM queue_requests q WHERE q.organisation_id = ? AND q.received_at >= ?
          GROUP BY q.topic_code ORDER BY requests DESC",
    )
    .bind(app.organisation_id.to_string())
    .bind(since)
    .fetch_all(&app.pool)
    .await?;
    let topics = active_topics(&app.pool, app.organisation_id).await?;
    let gaps: Vec<TopicGap> = rows
        .into_iter()
        .map(|(code, requests, faqs)| TopicGap {
            topic: crate::directory::topic_name(&topics, &code, language),
            requests,
            faqs,
        })
        .collect();
    let subjects: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT subject FROM queue_requests WHERE organisation_id = ? AND received_at >= ?
          ORDER BY received_at DESC LIMIT 2000",
    )
    .bind(app.organisation_id.to_string())
    .bind(since)
    .fetch_all(&app.pool)
    .await?;
    let covered: Vec<String> = sqlx::query_scalar(
        "SELECT CONCAT(search_question, ' ', search_answer) FROM faq_texts WHERE organisation_id = ? AND published AND language = 'it'",
    )
    .bind(app.organisation_id.to_string())
    .fetch_all(&app.pool)
    .await?;
    let covered: std::collections::HashSet<String> = covered
        .iter()
        .flat_map(|t| t.split(' ').map(str::to_string))
        .collect();
    // Count stems of subjects; show each with a word as citizens wrote it.
    let mut counts: HashMap<String, (i64, String)> = HashMap::new();
    for subject in subjects.into_iter().flatten() {
        let mut seen = std::collections::HashSet::new();
        for word in search::words(&subject) {
            let stems = search::stems(Language::It, &word);
            let Some(stem) = stems.first() else { continue };
            if word.chars().count() < 4 || covered.contains(stem) || !seen.insert(stem.clone()) {
                continue;
            }
            counts.entry(stem.clone()).or_insert((0, word.clone())).0 += 1;
        }
    }
    let mut words: Vec<(String, i64)> = counts
        .into_values()
        .map(|(n, word)| (word, n))
        .filter(|(_, n)| *n >= 2)
        .collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    words.truncate(30);
    let page = Page::new(
        language,
        "/ufficio/faq/mancanti",
        &app.organisation_name,
        "faq.staff.missing",
    );
    let body = app.templates.render(
        "faq/staff_missing.html",
        context! { lang => page.lang, page, staff => StaffBar::new(&signed_in.staff, &signed_in.csrf_token), gaps, words },
    )?;
    Ok(Html(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::depersonalise;

    #[test]
    fn personal_data_is_taken_out() {
        let text = "Gentile Maria Rossi, la chiameremo al 333 1234567 o scriva a maria.rossi@example.it (RSSMRA80A41H501Z).";
        let out = depersonalise(
            text,
            &[
                "Maria Rossi",
                "Maria",
                "Rossi",
                "maria.rossi@example.it",
                "333 1234567",
            ],
        );
        assert!(
            !out.contains("Maria") && !out.contains("Rossi") && !out.contains("333"),
            "{out}"
        );
        assert!(!out.contains("RSSMRA"), "{out}");
        assert!(out.starts_with("Gentile […],"), "{out}");
    }
}
