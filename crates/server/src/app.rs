//! The router: each feature's routes, composed, under the middleware every response passes
//! through (errors as pages, the same-origin check, the security headers and the request log).

use axum::extract::FromRef;
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::{middleware, Router};

pub use crate::state::{AppState, DEFAULT_ORGANISATION};
use crate::{
    admin, api, audit, backoffice, citizens, documents, faq, frontoffice, intake, log_page,
    mail_in, open311, pages, site_pages, statistics, tracking, web, webhooks,
};

pub fn router(app: AppState) -> Router {
    let mut router = Router::new()
        .merge(pages::routes())
        .merge(intake::routes())
        .merge(tracking::routes())
        .merge(citizens::routes())
        .merge(frontoffice::routes())
        .merge(backoffice::routes())
        .merge(admin::routes())
        .merge(faq::routes())
        .merge(documents::routes())
        .merge(statistics::routes())
        .merge(audit::routes())
        .merge(site_pages::routes())
        .merge(mail_in::routes())
        .merge(webhooks::routes())
        .merge(log_page::routes())
        .route("/assets/{version}/{*path}", get(web::assets::serve))
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(
            app.config.clone(),
            web::origin::same_origin_only,
        ))
        .layer(middleware::from_fn_with_state(
            web::error::ErrorPages::from_ref(&app),
            web::error::render_errors,
        ))
        // The API has its own errors (problem documents) and no cookies, hence no CSRF: it
        // joins after the pages' layers, under the security headers every answer carries.
        .merge(api::routes(&app))
        .merge(open311::routes())
        .layer(middleware::from_fn(web::security::headers));
    if app.secure_cookies() {
        router = router.layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(web::security::HSTS),
            ),
        );
    }
    router.with_state(app)
}
