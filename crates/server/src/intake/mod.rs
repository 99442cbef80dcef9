//! Intake: the citizen's new-request form, its validation, the attachments, and the transaction
//! that files the request and allocates its reference.

mod attachments;
mod filing;
mod form;
mod handlers;
mod topics;

pub use attachments::{
    prepare, AttachmentError, PreparedAttachment, PreparedFile, MAX_FILES, MAX_FILE_BYTES,
};
pub use filing::{file_request, token_hash, Filed, Submission};
pub use form::{is_email, FieldError, NewRequestForm, ValidRequest};
pub use handlers::{form, submit, MAX_BODY_BYTES};
pub use topics::{active_topics, Topic};
