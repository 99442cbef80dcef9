//! The pages administrators write: the privacy notice and the accessibility statement, in
//! Italian and English, linked from every page's footer. Stored as plain text with a tiny,
//! safe structure (blank lines separate paragraphs, "## " starts a heading, "- " a list item),
//! rendered by the auto-escaping templates: no HTML from the database ever reaches a page.
//! Until an administrator writes one, the catalogue's default text is shown.

use crate::state::Desk;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Serialize;
use sportello_domain::Language;

use crate::admin::{log, Admin};
use crate::staff::StaffBar;
use crate::state::AppState;
use crate::web::checked::CsrfForm;
use crate::web::{i18n, AppError, Page, Result};

/// The editable pages: (slug, path, title key, default sections).
const PAGES: [(&str, &str, &str, &[&str]); 2] = [
    (
        "privacy",
        "/privacy",
        "page.privacy.title",
        &["controller", "purpose", "data", "retention", "rights"],
    ),
    (
        "accessibility",
        "/accessibilita",
        "page.accessibility.title",
        &["status", "content", "feedback", "enforcement"],
    ),
];

const TITLE_MAX: usize = 200;
const BODY_MAX: usize = 100_000;

/// The catalogue's text for a page nobody has written yet.
fn default_page(language: Language, slug: &str) -> (String, String) {
    let (_, _, title_key, sections) = PAGES.iter().find(|p| p.0 == slug).expect("a known page");
    let body = sections
        .iter()
        .map(|part| {
            format!(
                "## {}\n\n{}",
                i18n::text(language, &format!("{slug}.{part}_title"), &[]),
                i18n::text(language, &format!("{slug}.{part}"), &[])
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    (i18n::text(language, title_key, &[]), body)
}

async fn load(app: &AppState, slug: &str, language: Language) -> Result<(String, String)> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT title, body FROM site_pages WHERE organisation_id = ? AND slug = ? AND language = ?",
    )
    .bind(app.organisation_id.to_string())
    .bind(slug)
    .bind(language.code())
    .fetch_optional(&app.pool)
    .await?;
    Ok(row.unwrap_or_else(|| default_page(language, slug)))
}

/// One block of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    pub kind: &'static str,
    pub text: String,
    pub items: Vec<String>,
}

/// Splits the stored text into headings, paragraphs and lists.
pub fn blocks(body: &str) -> Vec<Block> {
    let body = body.replace("\r\n", "\n");
    let mut blocks = Vec::new();
    for chunk in body.split("\n\n").map(str::trim).filter(|c| !c.is_empty()) {
        let lines: Vec<&str> = chunk.lines().map(str::trim).collect();
        if let Some(heading) = chunk.strip_prefix("## ") {
            blocks.push(Block {
                kind: "h2",
                text: heading.trim().to_string(),
                items: vec![],
            });
        } else if lines.iter().all(|line| line.starts_with("- ")) {
            blocks.push(Block {
                kind: "ul",
                text: String::new(),
                items: lines
                    .iter()
                    .map(|line| line[2..].trim().to_string())
                    .collect(),
            });
        } else {
            blocks.push(Block {
                kind: "p",
                text: lines.join(" "),
                items: vec![],
            });
        }
    }
    blocks
}

async fn show(app: &AppState, language: Language, slug: &str) -> Result<Html<String>> {
    let (_, path, title_key, _) = PAGES.iter().find(|p| p.0 == slug).expect("a known page");
    let (title, body) = load(app, slug, language).await?;
    let page = Page::new(language, path, &app.organisation_name, title_key);
    let body = app.templates.render(
        "site_page.html",
        context! { lang => page.lang, page, title, blocks => blocks(&body) },
    )?;
    Ok(Html(body))
}

pub async fn privacy(Desk { app, language }: Desk) -> Result<Html<String>> {
    show(&app, language, "privacy").await
}

pub async fn accessibility(Desk { app, language }: Desk) -> Result<Html<String>> {
    show(&app, language, "accessibility").await
}

#[derive(Serialize)]
struct Editable {
    slug: &'static str,
    language: &'static str,
    title: String,
    body: String,
    error: Option<String>,
    path: &'static str,
}

pub async fn edit(Desk { app, language }: Desk, admin: Admin) -> Result<Response> {
    render(&app, language, &admin, None, StatusCode::OK).await
}

async fn render(
    app: &AppState,
    language: Language,
    admin: &Admin,
    failed: Option<(&str, &str, String, String, String)>,
    status: StatusCode,
) -> Result<Response> {
    let mut pages = Vec::new();
    for (slug, path, _, _) in PAGES {
        for lang in [Language::It, Language::En] {
            let (title, body, error) = match &failed {
                Some((s, l, title, body, error)) if *s == slug && *l == lang.code() => {
                    (title.clone(), body.clone(), Some(error.clone()))
                }
                _ => {
                    let (title, body) = load(app, slug, lang).await?;
                    (title, body, None)
                }
            };
            pages.push(Editable {
                slug,
                language: lang.code(),
                title,
                body,
                error,
                path,
            });
        }
    }
    let page = Page::new(
        language,
        "/ufficio/amministrazione/pagine",
        &app.organisation_name,
        "admin.pages.title",
    );
    let body = app.templates.render(
        "admin/pages.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&admin.0.staff, &admin.0.csrf_token), pages,
        },
    )?;
    Ok((status, Html(body)).into_response())
}

/// A page's text as the administrator wrote it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PageText {
    title: String,
    body: String,
}

pub async fn save(
    Desk { app, language }: Desk,
    admin: Admin,
    Path((slug, lang)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<PageText>,
) -> Result<Response> {
    let slug = PAGES
        .iter()
        .map(|p| p.0)
        .find(|s| *s == slug)
        .ok_or(AppError::NotFound)?;
    let page_language = Language::parse(&lang).ok_or(AppError::NotFound)?;
    let title = form.title.trim().to_string();
    let body = form.body.trim().replace("\r\n", "\n");
    let error = if title.is_empty() || title.chars().count() > TITLE_MAX {
        Some("admin.error.page_title")
    } else if body.is_empty() || body.chars().count() > BODY_MAX {
        Some("admin.error.page_body")
    } else {
        None
    };
    if let Some(key) = error {
        let text = i18n::text(language, key, &[]);
        return render(
            &app,
            language,
            &admin,
            Some((slug, page_language.code(), title, body, text)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    sqlx::query(
        "INSERT INTO site_pages (organisation_id, slug, language, title, body, updated_at, updated_by)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE title = VALUES(title), body = VALUES(body),
             updated_at = VALUES(updated_at), updated_by = VALUES(updated_by)",
    )
    .bind(app.organisation_id.to_string())
    .bind(slug)
    .bind(page_language.code())
    .bind(&title)
    .bind(&body)
    .bind(app.clock.now())
    .bind(admin.0.staff.id.to_string())
    .execute(&app.pool)
    .await?;
    log(
        &app,
        &admin,
        &format!("page_saved:{slug}/{}", page_language.code()),
        None,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/ufficio/amministrazione/pagine#{slug}-{}",
        page_language.code()
    ))
    .into_response())
}

/// The privacy notice and the accessibility statement, and their editing.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/privacy", get(privacy))
        .route("/accessibilita", get(accessibility))
        .route("/ufficio/amministrazione/pagine", get(edit))
        .route("/ufficio/amministrazione/pagine/{slug}/{lang}", post(save))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_headings_paragraphs_and_lists() {
        let blocks = blocks("## Titolo\n\nUna riga\ne un'altra.\n\n- uno\n- <b>due</b>\n");
        assert_eq!(blocks.len(), 3);
        assert_eq!(
            blocks[0],
            Block {
                kind: "h2",
                text: "Titolo".into(),
                items: vec![]
            }
        );
        assert_eq!(blocks[1].text, "Una riga e un'altra.");
        assert_eq!(
            blocks[2].items,
            ["uno", "<b>due</b>"],
            "kept as text: the template escapes it"
        );
    }
}
