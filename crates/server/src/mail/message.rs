//! The messages Sportello sends, rendered from templates in the citizen's language. Headers
//! carry only fixed text, the reference and an address validated at intake.

use lettre::message::{header::ContentType, MultiPart, SinglePart};
use lettre::Message;
use minijinja::{context, Value};
use serde::Serialize;
use sportello_domain::Language;

use crate::personal::PersonalData;
use crate::state::AppState;
use crate::web::i18n;

/// What the acknowledgement tells the citizen.
#[derive(Serialize)]
pub struct Acknowledgement<'a> {
    pub reference: &'a str,
    pub kind: String,
    pub topic: String,
    pub received: String,
    pub answer_due: String,
    pub tracking_link: String,
    pub personal: &'a PersonalData,
}

pub fn acknowledgement(
    app: &AppState,
    language: Language,
    ack: &Acknowledgement<'_>,
) -> anyhow::Result<Message> {
    let subject = i18n::text(
        language,
        "mail.ack.subject",
        &[("reference", ack.reference)],
    );
    let body = alternative(app, "acknowledgement", language, context! { ack })?;
    let to: lettre::Address = ack.personal.email.parse()?;
    Ok(Message::builder()
        .from(app.config.mail_from.clone())
        .to(lettre::message::Mailbox::new(None, to))
        .subject(subject)
        .multipart(body)?)
}

/// A mail's body from `mail/{name}.txt` and `mail/{name}.html`, rendered with the same values
/// in `language`: plain text and HTML, for the reader to choose.
pub(super) fn alternative(
    app: &AppState,
    name: &str,
    language: Language,
    values: Value,
) -> anyhow::Result<MultiPart> {
    let values =
        context! { lang => language.code(), organisation => app.organisation_name, ..values };
    let text = app
        .templates
        .render(&format!("mail/{name}.txt"), values.clone())?;
    let html = app.templates.render(&format!("mail/{name}.html"), values)?;
    Ok(MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html),
        ))
}
