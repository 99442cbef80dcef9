//! A mail about a request is part of a conversation with the citizen: it answers the message
//! the request came from (`In-Reply-To`, `References`), says where a reply goes (`Reply-To`: the
//! request's reply address, when Sportello reads its mailbox), and leaves by PEC when the request
//! came by PEC and a PEC provider is configured.

use lettre::message::header::{InReplyTo, References, ReplyTo};
use lettre::message::Mailboxes;
use sportello_domain::Channel;

use crate::mail_in::reply;
use crate::state::AppState;

/// How mails about a request go.
pub struct Conversation {
    /// The citizen's first message, which every mail answers.
    pub thread: Option<String>,
    /// The request came by PEC: it is answered by PEC.
    pub by_pec: bool,
}

/// Reads the conversation of `request` and sets its headers on `message`.
pub async fn join(
    app: &AppState,
    request: &str,
    message: &mut lettre::Message,
) -> anyhow::Result<Conversation> {
    let thread: Option<String> =
        sqlx::query_scalar("SELECT message_id FROM mail_threads WHERE aggregate_id = ?")
            .bind(request)
            .fetch_optional(&app.pool)
            .await?;
    let channel: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT JSON_EXTRACT(payload, '$.RequestReceived.channel') FROM events
          WHERE aggregate_type = 'request' AND aggregate_id = ? AND sequence = 1",
    )
    .bind(request)
    .fetch_optional(&app.pool)
    .await?
    .flatten();
    let by_pec =
        channel.and_then(|c| serde_json::from_value::<Channel>(c).ok()) == Some(Channel::Pec);
    let headers = message.headers_mut();
    if let Some(id) = &thread {
        headers.set(InReplyTo::from(format!("<{id}>")));
        headers.set(References::from(format!("<{id}>")));
    }
    if app.config.mail_in.as_ref().is_some_and(|m| m.reads_mail()) {
        let token = reply::token(&app.reply_secret, request);
        let mut conn = app.pool.acquire().await?;
        reply::remember(&mut conn, &token, request).await?;
        let from = if by_pec {
            app.config
                .mail_in
                .as_ref()
                .and_then(|m| m.pec_from.clone())
                .unwrap_or_else(|| app.config.mail_from.clone())
        } else {
            app.config.mail_from.clone()
        };
        let address = reply::address(&from.email, &token);
        let mailbox = lettre::message::Mailbox::new(from.name.clone(), address);
        headers.set(ReplyTo::from(Mailboxes::from(mailbox)));
    }
    Ok(Conversation { thread, by_pec })
}
