//! Letters and replies read from a mailbox: a letter filed as a new request (alone, or with the
//! other letters of its batch in one transaction), a reply added to its request.

use sportello_domain::{Channel, FiledBy, Kind, Reference, RequestCommand, RequestError};
use uuid::Uuid;

use super::read::{Held, Letter};
use super::record::{hold, Identity, Which};
use crate::event_store;
use crate::files::{attachment_records, attachments, store_attachments, PreparedAttachment};
use crate::intake::{file_request, Submission, ValidRequest, SUBJECT_MAX};
use crate::state::AppState;
use crate::web::i18n;

/// Checks the message's files as the web form does; returns the accepted ones and a line
/// naming each refused one.
pub(crate) async fn prepare(
    files: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<(Vec<PreparedAttachment>, Vec<String>)> {
    let results = tokio::task::spawn_blocking(move || {
        files
            .into_iter()
            .enumerate()
            .map(|(index, (name, bytes))| {
                let result = if index >= attachments::MAX_FILES {
                    Err(None)
                } else {
                    attachments::prepare(&name, bytes).map_err(Some)
                };
                (attachments::safe_name(&name), result)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for (name, result) in results {
        match result {
            Ok(attachment) => accepted.push(attachment),
            Err(error) => refused.push((name, error)),
        }
    }
    let lines = refused
        .into_iter()
        .map(|(name, error)| {
            let why = match error {
                Some(error) => i18n::text(sportello_domain::Language::It, error.message_key(), &[]),
                None => i18n::text(
                    sportello_domain::Language::It,
                    "form.error.attachments_count",
                    &[],
                ),
            };
            format!("{name}: {why}")
        })
        .collect();
    Ok((accepted, lines))
}

/// A citizen's letter filed as a new request (channel e-mail or PEC), answered in its thread;
/// the message's identity is recorded in the filing's transaction.
async fn file(
    app: &AppState,
    identity: &Identity,
    letter: Letter,
    follows: Option<Reference>,
) -> anyhow::Result<()> {
    let also = record_as_request(identity, app.organisation_id);
    file_letter(app, letter, identity.origin(follows), also).await?;
    Ok(())
}

/// Where a letter comes from: its mailbox, the closed request it follows, who files it.
pub(crate) struct Origin {
    pub mailbox: Which,
    pub follows: Option<Reference>,
    pub actor: String,
}

impl Identity {
    /// A message read from its mailbox, filed by the mailbox.
    fn origin(&self, follows: Option<Reference>) -> Origin {
        Origin {
            mailbox: self.mailbox,
            follows,
            actor: format!("mail:{}", self.mailbox.code()),
        }
    }
}

/// Files `letter` as a new request (see `submission_of`).
pub(crate) async fn file_letter(
    app: &AppState,
    letter: Letter,
    origin: Origin,
    also: crate::intake::Also,
) -> anyhow::Result<crate::intake::Filed> {
    let submission = submission_of(app, letter, origin, also).await?;
    file_request(app, submission)
        .await
        .map_err(|error| anyhow::anyhow!("filing a mailed request: {error}"))
}

/// Letters read in one batch filed together, in one transaction; if that fails, one by one (so
/// one that cannot be filed does not hold back the others). Returns the ones that could not be
/// filed even alone, for the caller to keep in quarantine.
pub(crate) async fn file_letters(
    app: &AppState,
    letters: Vec<(Identity, Letter)>,
) -> anyhow::Result<Vec<Identity>> {
    if letters.is_empty() {
        return Ok(Vec::new());
    }
    // Prepared side by side (images are decoded and re-encoded), filed in their order.
    let mut preparing = tokio::task::JoinSet::new();
    for (index, (identity, letter)) in letters.iter().enumerate() {
        let (app, letter, origin) = (app.clone(), letter.clone(), identity.origin(None));
        let also = record_as_request(identity, app.organisation_id);
        preparing.spawn(async move {
            let submission = submission_of(&app, letter, origin, also).await;
            (index, submission)
        });
    }
    let mut prepared = Vec::with_capacity(letters.len());
    while let Some(done) = preparing.join_next().await {
        let (index, submission) = done?;
        prepared.push((index, submission?));
    }
    prepared.sort_by_key(|(index, _)| *index);
    let submissions = prepared.into_iter().map(|(_, s)| s).collect();
    let Err(error) = crate::intake::file_requests(app, submissions).await else {
        return Ok(Vec::new());
    };
    tracing::warn!(%error, letters = letters.len(), "filing a batch of letters; one by one");
    let mut not_filed = Vec::new();
    for (identity, letter) in letters {
        if let Err(error) = file(app, &identity, letter, None).await {
            tracing::error!(uid = identity.uid, %error, "letter not filed; kept in quarantine");
            not_filed.push(identity);
        }
    }
    Ok(not_filed)
}

/// Records a message's identity as the request it became, in the filing's transaction.
fn record_as_request(identity: &Identity, organisation: Uuid) -> crate::intake::Also {
    let record = identity.clone();
    Box::new(move |tx, aggregate_id| {
        let record = record.clone();
        Box::pin(async move {
            record
                .record(tx, organisation, "request", Some(aggregate_id), None)
                .await
        })
    })
}

/// A letter as a submission: kind "information" under the URP's own topic (staff reclassify by
/// forwarding), the web form's attachment rules, the refused files named in the description;
/// `also` writes in the filing's transaction. The acknowledgement answers the letter's
/// Message-ID.
async fn submission_of(
    app: &AppState,
    letter: Letter,
    origin: Origin,
    also: crate::intake::Also,
) -> anyhow::Result<Submission> {
    let Origin {
        mailbox,
        follows,
        actor,
    } = origin;
    let language = sportello_domain::Language::It;
    let (prepared, refused) = prepare(letter.files).await?;
    let description = what_it_says(&letter.text, &refused);
    let subject = match letter.subject.trim() {
        "" => i18n::text(language, "mail_in.no_subject", &[]),
        subject => subject.chars().take(SUBJECT_MAX).collect(),
    };
    let topics = crate::directory::active_topics(&app.pool, app.organisation_id).await?;
    let topic = topics
        .iter()
        .find(|t| t.code == "urp-altro")
        .or(topics.last())
        .map(|t| t.code.clone())
        .ok_or_else(|| anyhow::anyhow!("no active topic to file mail under"))?;
    let request = ValidRequest {
        kind: Kind::Information,
        topic,
        subject,
        description,
        place: None,
        first_name: letter.first_name.chars().take(100).collect(),
        last_name: letter.last_name.chars().take(100).collect(),
        email: letter.address.clone(),
        phone: None,
        coordinates: None,
    };
    let channel = if letter.pec {
        Channel::Pec
    } else {
        mailbox.channel()
    };
    // Only a Message-ID that can go back into a header as it is.
    let thread = letter.message_id.clone().filter(|id| {
        id.len() <= 250
            && id
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
    });
    let first: std::sync::Arc<crate::intake::AlsoFn> = std::sync::Arc::from(also);
    let also: crate::intake::Also = Box::new(move |tx, aggregate_id| {
        let (first, thread) = (first.clone(), thread.clone());
        Box::pin(async move {
            first(&mut *tx, aggregate_id).await?;
            if let Some(message_id) = thread {
                sqlx::query("INSERT INTO mail_threads (aggregate_id, message_id) VALUES (?, ?)")
                    .bind(aggregate_id)
                    .bind(message_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(())
        })
    });
    Ok(Submission {
        request,
        attachments: prepared,
        language,
        channel,
        actor,
        correlation_id: Uuid::new_v4().to_string(),
        filed_by: FiledBy {
            follows,
            ..FiledBy::default()
        },
        also: Some(also),
    })
}

/// A reply to one of our mails, added to its request: reopened first when it was closed and the
/// reopening period allows; filed as a new request that follows it otherwise.
pub(crate) async fn replied(
    app: &AppState,
    identity: &Identity,
    request: &str,
    letter: Letter,
    raw: &[u8],
    size: u64,
) -> anyhow::Result<()> {
    let events = event_store::recorded(&app.pool, request).await?;
    let Some(sportello_domain::RequestEvent::RequestReceived {
        personal,
        reference,
        ..
    }) = events.first().map(|r| r.event.clone())
    else {
        return hold(app, identity, Held::UnknownReply, raw, size, true).await;
    };
    let closed = event_store::fold(&events).status() == sportello_domain::Status::Closed;
    let settings = app.settings().await?;
    let (prepared, refused) = prepare(letter.files.clone()).await?;
    let text = what_it_says(&letter.text, &refused);
    let Some(message) = crate::personal::seal_text(&app.pool, personal.key_id, &text).await? else {
        // Erased: what the citizen writes now is a new matter.
        return file(app, identity, letter, None).await;
    };
    store_attachments(&app.pool, &prepared).await?;
    let reopen = closed.then(|| RequestCommand::ReopenByCitizen {
        at: identity.received_at,
        reason: message.clone(),
        reopen_days: settings.reopen_days,
    });
    let reply = RequestCommand::RecordCitizenReply {
        at: identity.received_at,
        message,
        attachments: attachment_records(&prepared),
        calendar: settings.calendar,
        channel: if letter.pec {
            Channel::Pec
        } else {
            identity.mailbox.channel()
        },
    };
    let metadata = identity.metadata();
    let organisation = app.organisation_id;
    let outcome = sportello_projections::retry("mail reply", || async {
        let mut tx = app.pool.begin().await?;
        for command in reopen.iter().chain([&reply]) {
            if let Err(rejected) =
                event_store::decide_in(&mut tx, request, command.clone(), &metadata).await?
            {
                return Ok::<_, sqlx::Error>(Err(rejected));
            }
        }
        identity
            .record(&mut tx, organisation, "reply", Some(request), None)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    })
    .await?;
    match outcome {
        Ok(()) => Ok(()),
        Err(RequestError::ReopeningPeriodOver | RequestError::Erased) => {
            file(app, identity, letter, Some(reference)).await
        }
        Err(other) => {
            tracing::warn!(aggregate_id = request, error = %other, "reply not recorded");
            hold(app, identity, Held::UnknownReply, raw, size, true).await
        }
    }
}

/// The text a message brings to its request, in Italian (the office's language): what the
/// citizen wrote ("(messaggio senza testo)" when nothing), then the files refused, each named
/// with why, so staff know what did not arrive.
pub(crate) fn what_it_says(text: &str, refused: &[String]) -> String {
    let language = sportello_domain::Language::It;
    let mut said = if text.trim().is_empty() {
        i18n::text(language, "mail_in.no_text", &[])
    } else {
        text.to_string()
    };
    if !refused.is_empty() {
        said.push_str("\n\n");
        said.push_str(&i18n::text(language, "mail_in.refused_files", &[]));
        for line in refused {
            said.push_str("\n- ");
            said.push_str(line);
        }
    }
    said
}
