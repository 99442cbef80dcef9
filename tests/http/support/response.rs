//! Checks on a response that many tests make the same way.

use axum::http::StatusCode;

use super::TestResponse;

impl TestResponse {
    /// Asserts the status, showing the page when it is another.
    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.text());
    }

    /// The CSRF token of the first form on the page, as written in the HTML, if there is a form.
    pub fn form_token(&self) -> Option<String> {
        self.text()
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .map(|after| after.split('"').next().unwrap().to_string())
    }

    /// The CSRF token of the first form on the page, as written in the HTML.
    pub fn csrf_token(&self) -> String {
        self.form_token().unwrap()
    }

    /// Asserts that this is a file to save, of `content_type`, with a content disposition starting
    /// with `disposition`.
    #[track_caller]
    pub fn assert_attachment(&self, content_type: &str, disposition: &str) {
        assert_eq!(self.header("content-type").as_deref(), Some(content_type));
        assert!(self
            .header("content-disposition")
            .unwrap()
            .starts_with(disposition));
    }
}
