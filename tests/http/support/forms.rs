//! Sending a page's form with the page's own CSRF token.

use axum::body::Body;
use axum::http::{header, Request};

use super::{TestApp, TestResponse};

impl TestApp {
    /// Opens `page`, then posts `fields` to `path` (URL-encoded) after the page's CSRF token.
    pub async fn post_with_token(
        &self,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let token = self
            .get(page)
            .await
            .input_value("csrf_token")
            .expect("the page has a CSRF token");
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_urlencoded(path, &all).await
    }

    /// Posts an encoded multipart body (see `Multipart::encode`) to `path`.
    pub async fn post_multipart(
        &self,
        path: &str,
        content_type: String,
        body: Vec<u8>,
    ) -> TestResponse {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }
}
