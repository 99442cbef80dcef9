//! The public FAQ: index by topic, topic pages, question pages with "Was this useful?", search
//! (works without JavaScript; with it, results update as you type), suggestions shown while a
//! citizen writes a request, and the record of a suggestion opened (deflection).

use crate::state::Desk;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::Language;

use super::store::{self, Faq};
use crate::directory::active_topics;
use crate::search::{self, Piece};
use crate::state::AppState;
use crate::web::checked::{self, CsrfForm, Submitted};
use crate::web::View;
use crate::web::{markup, AppError, ClientIp, Page, Result};

/// Results per search page, and suggestions shown at once.
const RESULTS: u32 = 20;
const SUGGESTIONS: u32 = 5;
pub const COMMENT_MAX: usize = 1000;

use crate::directory::topic_name;

#[derive(Serialize)]
struct Listed {
    id: String,
    question: String,
    /// Set when the question is shown in the other language (it exists only in that one).
    lang: Option<&'static str>,
}

fn listed(faq: &Faq, language: Language) -> Option<Listed> {
    let (text, shown) = faq.text_in(language)?;
    Some(Listed {
        id: faq.id.to_string(),
        question: text.question.clone(),
        lang: (shown != language).then_some(shown.code()),
    })
}

#[derive(Serialize)]
struct TopicGroup {
    code: String,
    name: String,
    faqs: Vec<Listed>,
}

async fn groups(
    app: &AppState,
    language: Language,
    topic: Option<&str>,
) -> Result<Vec<TopicGroup>> {
    let topics = active_topics(&app.pool, app.organisation_id).await?;
    let faqs = store::list(&app.pool, app.organisation_id, true, topic).await?;
    let mut groups: Vec<TopicGroup> = Vec::new();
    for faq in &faqs {
        let Some(item) = listed(faq, language) else {
            continue;
        };
        match groups.iter_mut().find(|g| g.code == faq.topic_code) {
            Some(group) => group.faqs.push(item),
            None => groups.push(TopicGroup {
                code: faq.topic_code.clone(),
                name: topic_name(&topics, &faq.topic_code, language),
                faqs: vec![item],
            }),
        }
    }
    // In the topics' configured order.
    groups.sort_by_key(|g| {
        topics
            .iter()
            .position(|t| t.code == g.code)
            .unwrap_or(usize::MAX)
    });
    Ok(groups)
}

pub async fn index(Desk { app, language }: Desk) -> Result<Html<String>> {
    let page = Page::new(language, "/faq", &app.organisation_name, "faq.title");
    let groups = groups(&app, language, None).await?;
    let body = app.templates.render(
        "faq/index.html",
        context! { lang => page.lang, page, groups, query => "" },
    )?;
    Ok(Html(body))
}

pub async fn topic(Desk { app, language }: Desk, Path(code): Path<String>) -> Result<Html<String>> {
    let groups = groups(&app, language, Some(&code)).await?;
    let group = groups.into_iter().next().ok_or(AppError::NotFound)?;
    let page = Page::new(
        language,
        &format!("/faq/argomenti/{code}"),
        &app.organisation_name,
        "faq.title",
    );
    let body = app.templates.render(
        "faq/topic.html",
        context! { lang => page.lang, page, group },
    )?;
    Ok(Html(body))
}

#[derive(Deserialize)]
pub struct Voted {
    grazie: Option<String>,
}

pub async fn question(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(voted): Query<Voted>,
) -> Result<Response> {
    let view = show_question(&app, language, &headers, &id, voted.grazie.is_some(), None).await?;
    app.render(language, view)
}

/// A question's page with its vote form: thanks after a vote, or the vote's error and what was
/// typed in the comment.
async fn show_question(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    id: &str,
    thanks: bool,
    error: Option<(&str, String)>,
) -> Result<View> {
    let faq = store::find(&app.pool, app.organisation_id, id)
        .await?
        .filter(|faq| faq.published)
        .ok_or(AppError::NotFound)?;
    let (text, shown) = faq.text_in(language).ok_or(AppError::NotFound)?;
    let topics = active_topics(&app.pool, app.organisation_id).await?;
    let (error_key, comment) = error
        .map(|(k, c)| (Some(k), c))
        .unwrap_or((None, String::new()));
    Ok(View::new("faq/question.html", format!("/faq/{id}"), "faq.title")
        .public_form(&app.csrf_key(), headers)
        .with(context! {
            id, question => text.question, answer => markup::parse(&text.answer),
            text_lang => (shown != language).then_some(shown.code()),
            topic_code => faq.topic_code, topic => topic_name(&topics, &faq.topic_code, language),
            thanks, error => error_key, comment, comment_max => COMMENT_MAX,
        }))
}

/// "Was this useful?" as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Vote {
    useful: String,
    comment: String,
}

/// "Was this useful?": yes or no, and an optional comment. Anonymous, rate-limited.
pub async fn vote(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
    submitted: Submitted<Vote>,
) -> Result<Response> {
    let (form, forged) = checked::typed(submitted)?;
    let comment = form.comment.trim().to_string();
    let refuse = |key: &'static str, status: StatusCode| {
        let (app, headers, id, comment) = (&app, &headers, &id, comment.clone());
        async move {
            let view =
                show_question(app, language, headers, id, false, Some((key, comment))).await?;
            app.render(language, view.status(status))
        }
    };
    if forged {
        return refuse("form.error.csrf", StatusCode::FORBIDDEN).await;
    }
    let useful = match form.useful.as_str() {
        "yes" => true,
        "no" => false,
        _ => return refuse("faq.vote.error.choice", StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    if comment.chars().count() > COMMENT_MAX {
        return refuse("faq.vote.error.long", StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if !app.submissions.allow(client) {
        return refuse("form.error.too_many", StatusCode::TOO_MANY_REQUESTS).await;
    }
    let faq = store::find(&app.pool, app.organisation_id, &id)
        .await?
        .filter(|faq| faq.published)
        .ok_or(AppError::NotFound)?;
    store::vote(
        &app.pool,
        &faq.id.to_string(),
        useful,
        Some(comment.as_str()).filter(|c| !c.is_empty()),
        app.clock.now(),
    )
    .await?;
    Ok(Redirect::to(&format!("/faq/{id}?grazie=1#vote-title")).into_response())
}

/// A result: the question and an excerpt of the answer, with the query's words marked.
#[derive(Serialize)]
pub struct Found {
    id: String,
    question: Vec<Piece>,
    excerpt: Vec<Piece>,
    lang: Option<&'static str>,
}

pub async fn found(
    app: &AppState,
    language: Language,
    query: &str,
    limit: u32,
) -> Result<Vec<Found>> {
    let index = app
        .faq_index
        .current(&app.pool, app.organisation_id)
        .await?;
    Ok(index
        .search(language, query, limit as usize)
        .into_iter()
        .map(|(doc, _)| Found {
            question: search::highlight(doc.language, &doc.question, query),
            excerpt: search::excerpt(doc.language, &doc.answer, query, 220),
            lang: (doc.language != language).then_some(doc.language.code()),
            id: doc.faq_id.clone(),
        })
        .collect())
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    /// Set by the page's script: only the results, to put in place.
    frammento: Option<String>,
}

pub async fn search_page(
    Desk { app, language }: Desk,
    Query(query): Query<SearchQuery>,
) -> Result<Response> {
    let q: String = query.q.unwrap_or_default().chars().take(200).collect();
    let results = found(&app, language, &q, RESULTS).await?;
    let page = Page::new(
        language,
        "/faq/cerca",
        &app.organisation_name,
        "faq.search.title",
    );
    let searched = !q.trim().is_empty();
    let template = if query.frammento.is_some() {
        "faq/results.html"
    } else {
        "faq/search.html"
    };
    let body = app.templates.render(
        template,
        context! { lang => page.lang, page, query => q, results, searched },
    )?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(body)).into_response())
}

#[derive(Deserialize)]
pub struct SuggestQuery {
    q: Option<String>,
}

/// The FAQs most like what the citizen is writing (an HTML fragment for the form's script).
pub async fn suggestions(
    Desk { app, language }: Desk,
    Query(query): Query<SuggestQuery>,
) -> Result<Response> {
    let q: String = query.q.unwrap_or_default().chars().take(500).collect();
    let results = found(&app, language, &q, SUGGESTIONS).await?;
    let body = app.templates.render(
        "faq/suggestions.html",
        context! { lang => language.code(), results },
    )?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(body)).into_response())
}

/// A suggestion opened from the new-request form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Opened {
    form_session: String,
    faq: String,
}

/// The form's script reports a suggestion opened (a POST with the form's token): counted by the
/// form's anonymous session, so a form sent afterwards does not count as answered by the FAQ.
pub async fn opened(
    State(app): State<AppState>,
    CsrfForm(form): CsrfForm<Opened>,
) -> Result<StatusCode> {
    let (session, faq) = (form.form_session.as_str(), form.faq.as_str());
    if session.len() != 43 || uuid::Uuid::parse_str(faq).is_err() {
        return Err(AppError::BadRequest);
    }
    // Only a FAQ a citizen can open is counted.
    store::find(&app.pool, app.organisation_id, faq)
        .await?
        .filter(|found| found.published)
        .ok_or(AppError::NotFound)?;
    super::deflection::opened(&app, session, faq).await?;
    Ok(StatusCode::NO_CONTENT)
}
