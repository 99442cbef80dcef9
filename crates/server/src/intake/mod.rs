//! Intake: the citizen's new-request form, its validation, the attachments, and the transaction
//! that files the request and allocates its reference.

pub mod attachments;
mod filing;
mod form;
mod handlers;
mod topics;
mod upload;

pub use attachments::{
    prepare, AttachmentError, PreparedAttachment, PreparedFile, MAX_FILES, MAX_FILE_BYTES,
};
pub use filing::{
    attachment_records, file_request, store_attachments, token_hash, Filed, Submission,
};
pub use form::{
    is_email, FieldError, NewRequestForm, ValidRequest, DESCRIPTION_MAX, DESCRIPTION_MIN,
    SUBJECT_MAX,
};
pub use handlers::{form, submit, MAX_ACCEPTED_BYTES, MAX_BODY_BYTES};
pub use topics::{
    active_topics, all_topics, save_topic, topic_choices, topic_name, Topic, TopicSetting,
};
pub use upload::{prepare_uploads, read_multipart, Received, Upload};
