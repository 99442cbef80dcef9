//! The page responder: a template with its values, rendered inside the layout in the visitor's
//! language, with the status and the cookies it needs. Handlers build a `View` and return
//! `app.render(language, view)`, instead of passing ten arguments to a render function.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Value};
use sportello_domain::Language;

use super::checked::CsrfKey;
use super::{csrf, AppError, Page, Result, Templates};

/// A page to render.
pub struct View {
    template: &'static str,
    path: String,
    title_key: &'static str,
    values: Vec<Value>,
    status: StatusCode,
    cookies: Vec<String>,
    private: bool,
}

impl View {
    /// `template` at `path` (where the language switch comes back to), titled `title_key`.
    pub fn new(template: &'static str, path: impl Into<String>, title_key: &'static str) -> View {
        View {
            template,
            path: path.into(),
            title_key,
            values: Vec::new(),
            status: StatusCode::OK,
            cookies: Vec::new(),
            private: false,
        }
    }

    /// Values the template reads (`context! { … }`); later ones win.
    pub fn with(mut self, values: Value) -> View {
        self.values.push(values);
        self
    }

    pub fn status(mut self, status: StatusCode) -> View {
        self.status = status;
        self
    }

    /// The page carries a form without a session: its `csrf_token` is this browser's, and the
    /// cookie that token belongs to is set if the browser has none yet.
    pub fn public_form(mut self, key: &CsrfKey, headers: &HeaderMap) -> View {
        let (token, cookie) = csrf::issue(&key.secret, headers, key.secure);
        self.cookies.extend(cookie);
        self.with(context! { csrf_token => token })
    }

    /// Never kept by a cache (someone's own page).
    pub fn private(mut self) -> View {
        self.private = true;
        self
    }

    /// Also sets this cookie.
    pub fn cookie(mut self, cookie: String) -> View {
        self.cookies.push(cookie);
        self
    }

    /// The page inside the layout, in `language`, for `organisation`.
    pub fn render(
        self,
        templates: &Templates,
        organisation: &str,
        language: Language,
    ) -> Result<Response> {
        let page = Page::new(language, &self.path, organisation, self.title_key);
        let mut values = context! { lang => page.lang, page };
        for more in self.values {
            values = context! { ..more, ..values };
        }
        let body = templates.render(self.template, values)?;
        let mut response = (self.status, Html(body)).into_response();
        let headers = response.headers_mut();
        if self.private {
            headers.insert(header::CACHE_CONTROL, "no-store".parse().expect("a header"));
        }
        for cookie in self.cookies {
            headers.append(
                header::SET_COOKIE,
                cookie.parse().map_err(AppError::internal)?,
            );
        }
        Ok(response)
    }
}
