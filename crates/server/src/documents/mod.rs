//! The documents library (modulistica): forms and guides the Comune already has, with title,
//! description, topic and language. A public list with search and safe downloads; staff upload
//! and edit them and attach them to answers, so "send the form" is two clicks.

use crate::state::Desk;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sportello_domain::{Attachment, Language};
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

use crate::directory::{active_topic_codes, active_topics};
use crate::files::attachments;
use crate::search;
use crate::staff::{SignedIn, Urp};
use crate::state::AppState;
use crate::web::checked::{CsrfForm, CsrfMultipart};
use crate::web::form::Errors;
use crate::web::{AppError, Page, Result, View};

/// The largest document accepted.
pub const MAX_BYTES: usize = attachments::MAX_FILE_BYTES;
const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 2000;

#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub id: String,
    pub title: String,
    pub description: String,
    pub topic_code: String,
    pub language: String,
    pub file_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub size_kb: i64,
    pub published: bool,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, title, description, topic_code, language, file_id, file_name, content_type, size, published, updated_at";

fn from_row(row: sqlx::mysql::MySqlRow) -> std::result::Result<Document, sqlx::Error> {
    let size: i32 = row.try_get("size")?;
    Ok(Document {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        topic_code: row.try_get("topic_code")?,
        language: row.try_get("language")?,
        file_id: row.try_get("file_id")?,
        file_name: row.try_get("file_name")?,
        content_type: row.try_get("content_type")?,
        size: i64::from(size),
        size_kb: (i64::from(size) + 1023) / 1024,
        published: row.try_get("published")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Published documents (or all, for staff), optionally matching a search, best match first.
pub async fn list(
    pool: &MySqlPool,
    organisation_id: Uuid,
    only_published: bool,
    query: &str,
) -> std::result::Result<Vec<Document>, sqlx::Error> {
    let boolean = search::boolean_query(Language::It, query)
        .into_iter()
        .chain(search::boolean_query(Language::En, query))
        .collect::<Vec<_>>()
        .join(" ");
    let rows = if boolean.is_empty() {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM documents WHERE organisation_id = ? AND (published OR NOT ?)
              ORDER BY topic_code, title LIMIT 500"
        ))
        .bind(organisation_id.to_string())
        .bind(only_published)
        .fetch_all(pool)
        .await?
    } else {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM documents WHERE organisation_id = ? AND (published OR NOT ?)
                AND MATCH (search_text) AGAINST (? IN BOOLEAN MODE)
              ORDER BY MATCH (search_text) AGAINST (? IN BOOLEAN MODE) DESC, title LIMIT 100"
        ))
        .bind(organisation_id.to_string())
        .bind(only_published)
        .bind(&boolean)
        .bind(&boolean)
        .fetch_all(pool)
        .await?
    };
    rows.into_iter().map(from_row).collect()
}

pub async fn find(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id: &str,
) -> std::result::Result<Option<Document>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM documents WHERE id = ? AND organisation_id = ?");
    crate::db::find_in_organisation(pool, &sql, id, organisation_id, from_row).await
}

/// Published documents chosen for an answer, as the answer's attachments (with their names).
pub async fn as_attachments(
    pool: &MySqlPool,
    organisation_id: Uuid,
    ids: &[String],
) -> std::result::Result<Vec<Attachment>, sqlx::Error> {
    let mut chosen = Vec::new();
    for id in ids.iter().take(10) {
        if let Some(document) = find(pool, organisation_id, id)
            .await?
            .filter(|d| d.published)
        {
            chosen.push(Attachment {
                file_id: document.file_id,
                thumbnail_id: None,
                content_type: document.content_type,
                size: document.size as u64,
                name: Some(document.file_name),
                sealed_name: None,
            });
        }
    }
    Ok(chosen)
}

fn search_text(title: &str, description: &str) -> String {
    let text = format!("{title} {description}");
    let mut stems = search::stems(Language::It, &text);
    stems.extend(search::stems(Language::En, &text));
    stems.join(" ")
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
}

#[derive(Serialize)]
struct Group {
    topic: String,
    documents: Vec<Document>,
}

fn grouped(
    documents: Vec<Document>,
    topics: &[crate::directory::Topic],
    language: Language,
) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for document in documents {
        let name = crate::directory::topic_name(topics, &document.topic_code, language);
        match groups.iter_mut().find(|g| g.topic == name) {
            Some(group) => group.documents.push(document),
            None => groups.push(Group {
                topic: name,
                documents: vec![document],
            }),
        }
    }
    groups
}

pub async fn public_list(
    Desk { app, language }: Desk,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>> {
    let q: String = query.q.unwrap_or_default().chars().take(200).collect();
    let documents = list(&app.pool, app.organisation_id, true, &q).await?;
    let topics = active_topics(&app.pool, app.organisation_id).await?;
    let searched = !q.trim().is_empty();
    let count = documents.len();
    let groups = grouped(documents, &topics, language);
    let page = Page::new(
        language,
        "/documenti",
        &app.organisation_name,
        "documents.title",
    );
    let body = app.templates.render(
        "documents/list.html",
        context! { lang => page.lang, page, groups, query => q, searched, count },
    )?;
    Ok(Html(body))
}

/// A document as a download, with the type detected at upload; never inline.
pub async fn download(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let document = find(&app.pool, app.organisation_id, &id)
        .await?
        .filter(|d| d.published)
        .ok_or(AppError::NotFound)?;
    crate::tracking::stored_file(&app, &document.file_id, &document.file_name).await
}

/// The URP may download unpublished documents too.
pub async fn staff_download(
    State(app): State<AppState>,
    _: Urp,
    Path(id): Path<String>,
) -> Result<Response> {
    let document = find(&app.pool, app.organisation_id, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::tracking::stored_file(&app, &document.file_id, &document.file_name).await
}

/// A document's description as typed (its file comes beside it on upload).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Fields {
    title: String,
    description: String,
    topic: String,
    language: String,
    /// "1" when ticked.
    published: String,
}

impl Fields {
    fn trimmed(self) -> Fields {
        Fields {
            title: self.title.trim().to_string(),
            description: self.description.trim().to_string(),
            topic: self.topic.trim().to_string(),
            language: self.language.trim().to_string(),
            published: self.published,
        }
    }

    fn published(&self) -> bool {
        self.published == "1"
    }
}

/// The library as staff see it: every document, and the form that adds one.
async fn staff_view(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    form: &Fields,
    errors: &Errors,
) -> Result<View> {
    let documents = list(&app.pool, app.organisation_id, false, "").await?;
    let topics = crate::directory::topic_choices(&app.pool, app.organisation_id, language).await?;
    Ok(View::new(
        "documents/staff.html",
        "/ufficio/documenti",
        "documents.staff.title",
    )
    .with(context! {
        staff => signed_in.bar(), documents, topics, form, errors => errors.shown(language),
        max_mb => MAX_BYTES / (1024 * 1024),
    }))
}

pub async fn staff_list(Desk { app, language }: Desk, Urp(signed_in): Urp) -> Result<Response> {
    let form = Fields {
        language: language.code().into(),
        published: "1".into(),
        ..Fields::default()
    };
    let view = staff_view(&app, language, &signed_in, &form, &Errors::new()).await?;
    app.render(language, view)
}

/// What is wrong with a document's fields as typed (its topic must be an active one).
async fn check(app: &AppState, fields: &Fields) -> Result<Errors> {
    let topics = active_topic_codes(&app.pool, app.organisation_id).await?;
    let mut errors = Errors::new();
    if fields.title.is_empty() || fields.title.chars().count() > TITLE_MAX {
        errors.add("title", "documents.error.title");
    }
    if fields.description.chars().count() > DESCRIPTION_MAX {
        errors.add("description", "documents.error.description");
    }
    if !topics.contains(&fields.topic) {
        errors.add("topic", "faq.error.topic");
    }
    if Language::parse(&fields.language).is_none() {
        errors.add("language", "documents.error.language");
    }
    Ok(errors)
}

/// Uploads a document: accepted by its content (PDF, OpenDocument, Office), stored under a name
/// derived from its bytes, listed under the title staff give it.
pub async fn upload(
    Desk { app, language }: Desk,
    Urp(signed_in): Urp,
    sent: CsrfMultipart<Fields>,
) -> Result<Response> {
    let fields = sent.form.trimmed();
    let mut errors = check(&app, &fields).await?;
    let upload = sent.uploads.into_iter().next();
    let file = match upload {
        None => {
            errors.add("file", "documents.error.file");
            None
        }
        Some(upload) if upload.oversized || sent.too_large || upload.bytes.len() > MAX_BYTES => {
            errors.add("file", "documents.error.too_large");
            None
        }
        Some(upload) => {
            match attachments::detect(&upload.bytes).filter(|t| !t.starts_with("image/")) {
                Some(content_type) => Some((upload.name, content_type, upload.bytes)),
                None => {
                    errors.add("file", "documents.error.type");
                    None
                }
            }
        }
    };
    let Some((name, content_type, bytes)) = file.filter(|_| errors.is_empty()) else {
        let view = staff_view(&app, language, &signed_in, &fields, &errors).await?;
        return app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY));
    };
    let file_id = hex::encode(Sha256::digest(&bytes));
    crate::files::store_bytes(&app.pool, &file_id, content_type, &bytes).await?;
    let now = app.clock.now();
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO documents (id, organisation_id, title, description, topic_code, language, file_id,
             file_name, content_type, size, published, search_text, created_at, updated_at, updated_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(app.organisation_id.to_string())
    .bind(&fields.title)
    .bind(&fields.description)
    .bind(&fields.topic)
    .bind(&fields.language)
    .bind(&file_id)
    .bind(attachments::safe_name(&name))
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(fields.published())
    .bind(search_text(&fields.title, &fields.description))
    .bind(now)
    .bind(now)
    .bind(signed_in.staff.id.to_string())
    .execute(&app.pool)
    .await?;
    tracing::info!(document_id = %id, staff_id = %signed_in.staff.id, "document added to the library");
    Ok(Redirect::to("/ufficio/documenti").into_response())
}

/// Changes a document's title, description, topic, language or publication.
pub async fn update(
    Desk { app, language }: Desk,
    Urp(signed_in): Urp,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<Fields>,
) -> Result<Response> {
    find(&app.pool, app.organisation_id, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let fields = form.trimmed();
    let errors = check(&app, &fields).await?;
    if !errors.is_empty() {
        let view = staff_view(&app, language, &signed_in, &fields, &errors).await?;
        return app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY));
    }
    sqlx::query(
        "UPDATE documents SET title = ?, description = ?, topic_code = ?, language = ?, published = ?,
                search_text = ?, updated_at = ?, updated_by = ? WHERE id = ? AND organisation_id = ?",
    )
    .bind(&fields.title)
    .bind(&fields.description)
    .bind(&fields.topic)
    .bind(&fields.language)
    .bind(fields.published())
    .bind(search_text(&fields.title, &fields.description))
    .bind(app.clock.now())
    .bind(signed_in.staff.id.to_string())
    .bind(&id)
    .bind(app.organisation_id.to_string())
    .execute(&app.pool)
    .await?;
    Ok(Redirect::to("/ufficio/documenti").into_response())
}

/// The library's documents offered on the answer form: the request's topic first.
pub async fn for_answer(
    pool: &MySqlPool,
    organisation_id: Uuid,
    topic: &str,
    language: Language,
) -> std::result::Result<Vec<(String, String)>, sqlx::Error> {
    let mut documents = list(pool, organisation_id, true, "").await?;
    documents.sort_by_key(|d| {
        (
            d.topic_code != topic,
            d.language != language.code(),
            d.title.clone(),
        )
    });
    Ok(documents
        .into_iter()
        .take(60)
        .map(|d| {
            (
                d.id,
                format!("{} ({}, {} kB)", d.title, d.file_name, d.size_kb),
            )
        })
        .collect())
}

/// The documents library: the public list and downloads, and the URP's uploads.
pub fn routes() -> axum::Router<AppState> {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/documenti", get(public_list))
        .route("/documenti/{id}/scarica", get(download))
        .route(
            "/ufficio/documenti",
            get(staff_list)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_BYTES + 2 * 1024 * 1024)),
        )
        .route("/ufficio/documenti/{id}", post(update))
        .route("/ufficio/documenti/{id}/scarica", get(staff_download))
}
