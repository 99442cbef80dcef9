//! The e-mail that follows an event: to the citizen (a question, the answer, the body to turn to)
//! in their language, and to the department (a forwarding, a reminder) in Italian with a link
//! to the request in the back office. Headers carry only fixed text, the reference and
//! addresses that were validated when they were entered.

use lettre::message::{header::ContentType, Mailbox, MultiPart};
use minijinja::context;
use serde::Serialize;
use sportello_domain::{Language, ReminderLevel, RequestEvent};
use uuid::Uuid;

use sportello_projections::outbox::{LinkPurpose, Notice as NoticeKind};

use super::Plan;
use crate::directory;
use crate::event_store;
use crate::personal::{self, PersonalData};
use crate::staff;
use crate::state::AppState;
use crate::web::i18n;

#[derive(Serialize)]
struct Notice {
    greeting: String,
    lines: Vec<String>,
    message: Option<String>,
    details: Vec<(String, String)>,
    link: Option<String>,
    link_label: Option<String>,
    closing: String,
}

pub(super) async fn plan(
    app: &AppState,
    aggregate_id: &str,
    notice: NoticeKind,
    sequence: i64,
) -> anyhow::Result<Plan> {
    let kind = notice.code();
    let events = event_store::recorded(&app.pool, aggregate_id).await?;
    let Some(RequestEvent::RequestReceived {
        reference,
        kind: request_kind,
        topic,
        language,
        personal,
        answer_due,
        filed_by,
        ..
    }) = events.first().map(|r| r.event.clone())
    else {
        anyhow::bail!("outbox row names a request with no RequestReceived");
    };
    // A citizen who chose paper at the counter gets no e-mail; the office still does. Nor does
    // one whom staff switched to letters or the telephone (their address did not work).
    if filed_by.paper_only && notice.for_citizen() {
        return Ok(Plan::Close("paper"));
    }
    let switched = events.iter().rev().find_map(|r| match r.event {
        RequestEvent::ContactSwitched { to, .. } => Some(to),
        _ => None,
    });
    if let (Some(to), true) = (switched, notice.for_citizen()) {
        return Ok(Plan::Close(to.code()));
    }
    let Some(event) = events
        .iter()
        .find(|r| r.sequence == sequence)
        .map(|r| r.event.clone())
    else {
        anyhow::bail!("outbox row names an event that does not exist");
    };
    let reference = reference.to_string();
    let open = |sealed| async move { personal::open_text(&app.pool, &sealed).await };
    match notice {
        NoticeKind::Status => {
            return status_mail(app, &event, language, &personal, &reference).await
        }
        NoticeKind::HandedBack => {
            return handed_back_mail(app, aggregate_id, &event, &reference).await
        }
        _ => {}
    }
    match event.clone() {
        RequestEvent::InformationRequested { message, .. }
        | RequestEvent::RequestAnswered { message, .. }
        | RequestEvent::RequestRedirected { message, .. } => {
            let Some(citizen) = personal::open(&app.pool, &personal).await? else {
                return Ok(Plan::Close("cancelled"));
            };
            let text = open(message).await?;
            let t = |key: &str, args: &[(&str, &str)]| i18n::text(language, key, args);
            let mut details = vec![
                (t("mail.ack.reference", &[]), reference.clone()),
                (t("mail.ack.subject_label", &[]), citizen.subject.clone()),
            ];
            if let RequestEvent::RequestRedirected { external_body, .. } = &event {
                let bodies = directory::external_bodies(&app.pool, app.organisation_id).await?;
                if let Some(body) = bodies.into_iter().find(|b| b.id == *external_body) {
                    details.push((t("tracking.body_name", &[]), body.name));
                    for (label, value) in [
                        ("tracking.body_address", body.address),
                        ("tracking.body_phone", body.phone),
                        ("tracking.body_email", body.email),
                        ("tracking.body_website", body.website),
                        ("tracking.body_hours", body.hours),
                    ] {
                        if !value.is_empty() {
                            details.push((t(label, &[]), value));
                        }
                    }
                }
            }
            let notice = Notice {
                greeting: t("mail.ack.greeting", &[("name", &citizen.first_name)]),
                lines: vec![t(&format!("mail.notice.{kind}.body"), &[])],
                message: text,
                details,
                link: None,
                link_label: None,
                closing: t("mail.notice.follow", &[]),
            };
            let subject = t(
                &format!("mail.notice.{kind}.subject"),
                &[("reference", &reference)],
            );
            let to: Vec<String> = vec![citizen.email];
            let files = match &event {
                RequestEvent::RequestAnswered { attachments, .. } => {
                    files_of(app, attachments).await?
                }
                _ => Vec::new(),
            };
            Ok(Plan::Send(build(
                app, language, &subject, &to, &notice, files,
            )?))
        }
        RequestEvent::RequestForwarded {
            department, note, ..
        } => {
            let note = match note {
                Some(sealed) => open(sealed).await?,
                None => None,
            };
            let lines = vec![i18n::text(Language::It, "mail.notice.forwarded.body", &[])];
            let mail = ForDepartment {
                aggregate_id,
                reference: &reference,
                department,
                level: None,
                kind: &request_kind,
                topic: &topic,
                answer_due,
                lines,
                message: note,
            };
            department_mail(app, mail).await
        }
        RequestEvent::RequestReminded {
            department, level, ..
        } => {
            let lines = vec![i18n::text(
                Language::It,
                &format!("mail.notice.reminder.{}", level.code()),
                &[],
            )];
            let mail = ForDepartment {
                aggregate_id,
                reference: &reference,
                department,
                level: Some(level),
                kind: &request_kind,
                topic: &topic,
                answer_due,
                lines,
                message: None,
            };
            department_mail(app, mail).await
        }
        RequestEvent::RequestClosed { outcome, .. } => {
            let Some(citizen) = personal::open(&app.pool, &personal).await? else {
                return Ok(Plan::Close("cancelled"));
            };
            let t = |key: &str, args: &[(&str, &str)]| i18n::text(language, key, args);
            let outcome = t(&format!("outcome.{}", outcome.code()), &[]);
            let line = t("mail.notice.closed.body", &[("outcome", &outcome)]);
            let subject = t("mail.notice.closed.subject", &[("reference", &reference)]);
            short_note(app, language, citizen, &reference, line, &subject)
        }
        _ => Ok(Plan::Close("skipped")),
    }
}

/// What a department is told about a request: which, to whom, how urgently, and what.
struct ForDepartment<'a> {
    aggregate_id: &'a str,
    reference: &'a str,
    department: Uuid,
    /// `None` for a forwarding; the reminder's level otherwise.
    level: Option<ReminderLevel>,
    kind: &'a sportello_domain::Kind,
    topic: &'a str,
    answer_due: chrono::NaiveDate,
    lines: Vec<String>,
    message: Option<String>,
}

/// Mail to a department's address and referents (and, on escalation, its head).
async fn department_mail(app: &AppState, mail: ForDepartment<'_>) -> anyhow::Result<Plan> {
    let ForDepartment {
        aggregate_id,
        reference,
        department,
        level,
        kind,
        topic,
        answer_due,
        lines,
        message,
    } = mail;
    let language = Language::It;
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let Some(department) = departments.into_iter().find(|d| d.id == department) else {
        return Ok(Plan::Close("skipped"));
    };
    let mut to = staff::referent_emails(&app.pool, department.id).await?;
    to.push(department.email.clone());
    if level == Some(ReminderLevel::Head) {
        to.extend(department.head_email.clone());
    }
    to.retain(|address| crate::mail::is_email(address));
    to.sort();
    to.dedup();
    if to.is_empty() {
        return Ok(Plan::Close("skipped"));
    }
    let t = |key: &str, args: &[(&str, &str)]| i18n::text(language, key, args);
    let notice = Notice {
        greeting: t(
            "mail.notice.department_greeting",
            &[("department", &department.name)],
        ),
        lines,
        message,
        details: vec![
            (t("mail.ack.reference", &[]), reference.to_string()),
            (
                t("mail.ack.kind", &[]),
                t(&format!("kind.{}", kind.code()), &[]),
            ),
            (
                t("mail.ack.topic", &[]),
                topic_name(app, topic, language).await?,
            ),
            (
                t("mail.ack.deadline", &[]),
                i18n::long_date(language, answer_due),
            ),
        ],
        link: Some(format!(
            "{}/ufficio/richieste/{aggregate_id}",
            app.config.public_url
        )),
        link_label: Some(t("mail.notice.open", &[])),
        closing: t("mail.notice.staff_closing", &[]),
    };
    let key = if level.is_some() {
        "mail.notice.reminder.subject"
    } else {
        "mail.notice.forwarded.subject"
    };
    let subject = t(key, &[("reference", reference)]);
    send(app, language, &subject, &to, &notice)
}

/// A short note to the citizen that their request moved on (forwarded, taken in charge, reopened).
async fn status_mail(
    app: &AppState,
    event: &RequestEvent,
    language: Language,
    personal: &sportello_domain::Sealed,
    reference: &str,
) -> anyhow::Result<Plan> {
    let Some(citizen) = personal::open(&app.pool, personal).await? else {
        return Ok(Plan::Close("cancelled"));
    };
    let t = |key: &str, args: &[(&str, &str)]| i18n::text(language, key, args);
    let department_name = |id: &Uuid| {
        let id = *id;
        async move {
            Ok::<String, anyhow::Error>(
                directory::department_names(&app.pool, app.organisation_id)
                    .await?
                    .get(&id)
                    .cloned()
                    .unwrap_or_default(),
            )
        }
    };
    let line = match event {
        RequestEvent::RequestForwarded { department, .. } => t(
            "mail.notice.status.forwarded",
            &[("name", &department_name(department).await?)],
        ),
        RequestEvent::RequestTakenInCharge { department, .. } => t(
            "mail.notice.status.taken_in_charge",
            &[("name", &department_name(department).await?)],
        ),
        RequestEvent::RequestReopened { .. } => t("mail.notice.status.reopened", &[]),
        _ => return Ok(Plan::Close("skipped")),
    };
    let subject = t("mail.notice.status.subject", &[("reference", reference)]);
    short_note(app, language, citizen, reference, line, &subject)
}

/// A short note to the citizen: `line`, then the request's reference and subject.
fn short_note(
    app: &AppState,
    language: Language,
    citizen: PersonalData,
    reference: &str,
    line: String,
    subject: &str,
) -> anyhow::Result<Plan> {
    let t = |key: &str, args: &[(&str, &str)]| i18n::text(language, key, args);
    let notice = Notice {
        greeting: t("mail.ack.greeting", &[("name", &citizen.first_name)]),
        lines: vec![line],
        message: None,
        details: vec![
            (t("mail.ack.reference", &[]), reference.to_string()),
            (t("mail.ack.subject_label", &[]), citizen.subject),
        ],
        link: None,
        link_label: None,
        closing: t("mail.notice.follow", &[]),
    };
    send(app, language, subject, &[citizen.email], &notice)
}

/// The URP learns that a department handed a request back, and why (in Italian).
async fn handed_back_mail(
    app: &AppState,
    aggregate_id: &str,
    event: &RequestEvent,
    reference: &str,
) -> anyhow::Result<Plan> {
    let RequestEvent::RequestHandedBack {
        department, note, ..
    } = event
    else {
        return Ok(Plan::Close("skipped"));
    };
    let language = Language::It;
    let to: Vec<String> = staff::urp_emails(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .filter(|address| crate::mail::is_email(address))
        .collect();
    if to.is_empty() {
        return Ok(Plan::Close("skipped"));
    }
    let t = |key: &str, args: &[(&str, &str)]| i18n::text(language, key, args);
    let name = directory::department_names(&app.pool, app.organisation_id)
        .await?
        .get(department)
        .cloned()
        .unwrap_or_default();
    let notice = Notice {
        greeting: t("mail.notice.urp_greeting", &[]),
        lines: vec![t("mail.notice.handed_back.body", &[("name", &name)])],
        message: personal::open_text(&app.pool, note).await?,
        details: vec![(t("mail.ack.reference", &[]), reference.to_string())],
        link: Some(format!(
            "{}/ufficio/richieste/{aggregate_id}",
            app.config.public_url
        )),
        link_label: Some(t("mail.notice.open", &[])),
        closing: t("mail.notice.staff_closing", &[]),
    };
    let subject = t(
        "mail.notice.handed_back.subject",
        &[("reference", reference)],
    );
    send(app, language, &subject, &to, &notice)
}

/// The stored files of an answer, to attach to its e-mail: (name, type, bytes).
async fn files_of(
    app: &AppState,
    attachments: &[sportello_domain::Attachment],
) -> anyhow::Result<Vec<(String, String, Vec<u8>)>> {
    let mut files = Vec::with_capacity(attachments.len());
    for (index, attachment) in attachments.iter().enumerate() {
        let bytes: Vec<u8> = sqlx::query_scalar("SELECT bytes FROM files WHERE id = ?")
            .bind(&attachment.file_id)
            .fetch_one(&app.pool)
            .await?;
        let name = match (&attachment.name, &attachment.sealed_name) {
            (Some(name), _) => name.clone(),
            (None, Some(sealed)) => personal::open_text(&app.pool, sealed)
                .await?
                .unwrap_or_else(|| format!("documento-{}", index + 1)),
            (None, None) => format!("documento-{}", index + 1),
        };
        files.push((name, attachment.content_type.clone(), bytes));
    }
    Ok(files)
}

/// A message to staff with the notice layout: a greeting, lines, details, an optional link and
/// files attached (the monthly reports).
pub(crate) fn office_mail(
    app: &AppState,
    subject: &str,
    to: &[String],
    lines: Vec<String>,
    details: Vec<(String, String)>,
    link: Option<(String, String)>,
    files: Vec<(String, String, Vec<u8>)>,
) -> anyhow::Result<lettre::Message> {
    let language = Language::It;
    let t = |key: &str| i18n::text(language, key, &[]);
    let notice = Notice {
        greeting: t("mail.office.greeting"),
        lines,
        message: None,
        details,
        link: link.as_ref().map(|(url, _)| url.clone()),
        link_label: link.map(|(_, label)| label),
        closing: t("mail.notice.staff_closing"),
    };
    build(app, language, subject, to, &notice, files)
}

/// The plan to send a notice without files.
fn send(
    app: &AppState,
    language: Language,
    subject: &str,
    to: &[String],
    notice: &Notice,
) -> anyhow::Result<Plan> {
    Ok(Plan::Send(build(
        app,
        language,
        subject,
        to,
        notice,
        Vec::new(),
    )?))
}

fn build(
    app: &AppState,
    language: Language,
    subject: &str,
    to: &[String],
    notice: &Notice,
    files: Vec<(String, String, Vec<u8>)>,
) -> anyhow::Result<lettre::Message> {
    let body = super::message::alternative(app, "notice", language, context! { notice, subject })?;
    let mut builder = lettre::Message::builder()
        .from(app.config.mail_from.clone())
        .subject(subject);
    for address in to {
        builder = builder.to(Mailbox::new(None, address.parse()?));
    }
    if files.is_empty() {
        return Ok(builder.multipart(body)?);
    }
    let mut mixed = MultiPart::mixed().multipart(body);
    for (name, content_type, bytes) in files {
        // The name was cleaned at upload; lettre encodes it for the header.
        mixed = mixed.singlepart(
            lettre::message::Attachment::new(name).body(bytes, ContentType::parse(&content_type)?),
        );
    }
    Ok(builder.multipart(mixed)?)
}

/// The invitation to set a password, sent to the new member of staff (in Italian, plain text).
pub(super) async fn invitation(app: &AppState, id: Uuid, token: &str) -> anyhow::Result<Plan> {
    let Some(person) = staff::find(&app.pool, id).await? else {
        return Ok(Plan::Close("cancelled"));
    };
    let language = Language::It;
    let link = format!("{}/ufficio/invito/{token}", app.config.public_url);
    let text = app.templates.render(
        "mail/invitation.txt",
        context! { lang => language.code(), name => person.name, link, organisation => app.organisation_name },
    )?;
    let message = lettre::Message::builder()
        .from(app.config.mail_from.clone())
        .to(Mailbox::new(None, person.email.parse()?))
        .subject(i18n::text(language, "mail.invitation.subject", &[]))
        .header(ContentType::TEXT_PLAIN)
        .body(text)?;
    Ok(Plan::Send(message))
}

/// A link for a citizen's account: confirm the address, reset the password, confirm a new
/// address (sent to that new address).
pub(super) async fn citizen_link(
    app: &AppState,
    id: Uuid,
    purpose: LinkPurpose,
    token: &str,
) -> anyhow::Result<Plan> {
    if token.is_empty() {
        // Erased with the account before the mail left.
        return Ok(Plan::Close("cancelled"));
    }
    let kind = purpose.code();
    let Some(citizen) = crate::citizen_store::find(&app.pool, id).await? else {
        return Ok(Plan::Close("cancelled"));
    };
    let (path, to) = match purpose {
        LinkPurpose::Verify => ("conferma", citizen.email.clone()),
        LinkPurpose::Reset => ("password", citizen.email.clone()),
        LinkPurpose::NewEmail => (
            "nuova-email",
            crate::citizen_store::link_address(&app.pool, token).await?,
        ),
    };
    let Some(to) = to else {
        return Ok(Plan::Close("skipped"));
    };
    let language = Language::parse(&citizen.language).unwrap_or(Language::It);
    let link = format!("{}/area/{path}/{token}", app.config.public_url);
    let text = app.templates.render(
        "mail/citizen_link.txt",
        context! {
            // Only a proven account is greeted by name: names typed with an unconfirmed
            // registration or sent to a new address are nobody's word yet.
            lang => language.code(),
            name => (purpose == LinkPurpose::Reset && citizen.email_verified).then(|| format!("{} {}", citizen.first_name, citizen.last_name)),
            link, kind, organisation => app.organisation_name,
        },
    )?;
    let message = lettre::Message::builder()
        .from(app.config.mail_from.clone())
        .to(Mailbox::new(None, to.parse()?))
        .subject(i18n::text(language, &format!("mail.{kind}.subject"), &[]))
        .header(ContentType::TEXT_PLAIN)
        .body(text)?;
    Ok(Plan::Send(message))
}

/// A topic's name in `language` (its code when it is gone).
pub(super) async fn topic_name(
    app: &AppState,
    code: &str,
    language: Language,
) -> anyhow::Result<String> {
    let column = if language == Language::En {
        "name_en"
    } else {
        "name_it"
    };
    let name: Option<String> = sqlx::query_scalar(&format!(
        "SELECT {column} FROM topics WHERE organisation_id = ? AND code = ?"
    ))
    .bind(app.organisation_id.to_string())
    .bind(code)
    .fetch_optional(&app.pool)
    .await?;
    Ok(name.unwrap_or_else(|| code.to_string()))
}
