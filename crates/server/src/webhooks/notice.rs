//! The mail an administrator gets when an endpoint is disabled after a day of failures.

use lettre::message::{header::ContentType, Mailbox};
use minijinja::context;
use sportello_domain::Language;
use uuid::Uuid;

use crate::mail::Plan;
use crate::staff;
use crate::state::AppState;
use crate::web::i18n;

/// An administrator is told that a webhook endpoint was disabled after a day of failures.
pub(crate) async fn disabled_notice(
    app: &AppState,
    staff_id: Uuid,
    endpoint: Uuid,
) -> anyhow::Result<Plan> {
    let (Some(person), Some(endpoint)) = (
        staff::find(&app.pool, staff_id).await?,
        super::store::find(&app.pool, app.organisation_id, &endpoint.to_string()).await?,
    ) else {
        return Ok(Plan::Close("cancelled"));
    };
    let language = Language::It;
    let link = format!(
        "{}/ufficio/amministrazione/webhook/{}",
        app.config.public_url, endpoint.id
    );
    let text = app.templates.render(
        "mail/webhook_disabled.txt",
        context! {
            lang => language.code(), name => person.name, url => endpoint.url,
            reason => endpoint.disabled_reason.map(|code| super::failure_text(language, &code)), link, organisation => app.organisation_name,
        },
    )?;
    let message = lettre::Message::builder()
        .from(app.config.mail_from.clone())
        .to(Mailbox::new(None, person.email.parse()?))
        .subject(i18n::text(language, "mail.webhook_disabled.subject", &[]))
        .header(ContentType::TEXT_PLAIN)
        .body(text)?;
    Ok(Plan::Send(message))
}
