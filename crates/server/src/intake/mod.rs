//! Intake: the citizen's new-request form, its validation, the attachments, and the transaction
//! that files the request and allocates its reference.

mod filing;
mod form;
mod handlers;

pub use filing::{
    file_request, file_requests, new_token, token_hash, Also, AlsoFn, Filed, Submission,
};
pub use form::{
    FieldError, NewRequestForm, ValidRequest, DESCRIPTION_MAX, DESCRIPTION_MIN, SUBJECT_MAX,
};
pub use handlers::{form, submit};

/// The new-request form and its submission.
pub fn routes() -> axum::Router<crate::state::AppState> {
    use crate::web::upload::with_files;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/segnalazioni/nuova", get(form))
        .route("/segnalazioni", with_files(post(submit)))
}
