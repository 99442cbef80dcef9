//! Intake: the citizen's new-request form, its validation, the attachments, and the transaction
//! that files the request and allocates its reference.

mod filing;
mod form;
mod handlers;
mod topics;

pub use filing::{file_request, token_hash, Filed, Submission};
pub use form::{
    is_email, FieldError, NewRequestForm, ValidRequest, DESCRIPTION_MAX, DESCRIPTION_MIN,
    SUBJECT_MAX,
};
pub use handlers::{form, submit};
pub use topics::{
    active_topics, all_topics, save_topic, topic_choices, topic_name, Topic, TopicSetting,
};
