//! The request page for staff: what the citizen sent, their contacts, the attachments, the
//! deadlines, the full timeline (every event, who and when) and the actions this person may take
//! now. Each opening is logged (who, when).

use crate::state::Desk;
use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use sportello_domain::{Action, Language, Request, RequestEvent, Sealed, Status};
use uuid::Uuid;

use crate::directory;
use crate::event_store::{self, Recorded};
use crate::personal::{self, PersonalData};
use crate::staff::SignedIn;
use crate::staff::{self, Staff};
use crate::state::AppState;
use crate::web::{i18n, AppError, Result, View};

/// A request as staff may see it: its events and its state now.
pub struct Visible {
    pub aggregate_id: String,
    pub events: Vec<Recorded>,
    pub state: Request,
    pub received: RequestEvent,
}

impl Visible {
    /// The request's data key, under which staff text is sealed.
    pub fn key_id(&self) -> Uuid {
        match &self.received {
            RequestEvent::RequestReceived { personal, .. } => personal.key_id,
            _ => Uuid::nil(),
        }
    }
}

/// The request if this person may see it; otherwise 404 (never 403: existence is not revealed).
/// Decided on the events themselves, so a forwarding just made is already in force.
pub async fn visible_to(app: &AppState, staff: &Staff, aggregate_id: &str) -> Result<Visible> {
    visible_within(
        app,
        staff.organisation_id,
        |d| staff.may_see(d),
        aggregate_id,
    )
    .await
}

/// The request if it is the organisation's and `may_see` its department (staff and API clients
/// alike); otherwise 404. Decided on the request's own events.
pub async fn visible_within(
    app: &AppState,
    organisation: Uuid,
    may_see: impl Fn(Option<Uuid>) -> bool,
    aggregate_id: &str,
) -> Result<Visible> {
    if Uuid::parse_str(aggregate_id).is_err() {
        return Err(AppError::NotFound);
    }
    let events = event_store::recorded(&app.pool, aggregate_id)
        .await
        .map_err(AppError::internal)?;
    let Some(received) = events.first().map(|r| r.event.clone()) else {
        return Err(AppError::NotFound);
    };
    let RequestEvent::RequestReceived {
        organisation_id, ..
    } = &received
    else {
        return Err(AppError::NotFound);
    };
    let state = event_store::fold(&events);
    if *organisation_id != organisation || !may_see(state.department()) {
        return Err(AppError::NotFound);
    }
    Ok(Visible {
        aggregate_id: aggregate_id.to_string(),
        events,
        state,
        received,
    })
}

/// The actions this person may take on the request now, as the aggregate decides them
/// (`Request::allowed_actions`), by their codes in the URLs.
pub fn actions_for(staff: &Staff, state: &Request) -> Vec<&'static str> {
    state
        .allowed_actions(&staff.capacity())
        .into_iter()
        .map(path_code)
        .collect()
}

/// An action's code in the back office's URLs (`/ufficio/richieste/{id}/{code}`).
pub fn path_code(action: Action) -> &'static str {
    match action {
        Action::TakeIntoEvaluation => "valuta",
        Action::AskForInformation => "chiedi",
        Action::Answer => "rispondi",
        Action::Forward => "inoltra",
        Action::Redirect => "reindirizza",
        Action::TakeCharge => "prendi",
        Action::HandBack => "restituisci",
        Action::Close => "chiudi",
        Action::Reopen => "riapri",
        Action::SwitchContact => "contatto",
        Action::AddNote => "nota",
        Action::RecordProtocol => "protocollo",
    }
}

/// The action with this code in the URLs.
pub fn action_of(code: &str) -> Option<Action> {
    Action::ALL
        .into_iter()
        .find(|action| path_code(*action) == code)
}

#[derive(Serialize)]
struct Entry {
    sequence: i64,
    /// Files attached to an answer: (index, name).
    files: Vec<(usize, String)>,
    text: String,
    who: String,
    at: String,
    datetime: String,
    message: Option<String>,
    internal: bool,
}

#[derive(Serialize)]
struct ShownAttachment {
    position: usize,
    name: String,
    size_kb: u64,
    has_preview: bool,
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    /// A canned answer to start the answer from.
    modello: Option<String>,
}

pub async fn page(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> Result<Response> {
    let visible = visible_to(&app, &signed_in.staff, &id).await?;
    sqlx::query(
        "INSERT INTO staff_access_log (staff_id, aggregate_id, viewed_at) VALUES (?, ?, ?)",
    )
    .bind(signed_in.staff.id.to_string())
    .bind(&visible.aggregate_id)
    .bind(app.clock.now())
    .execute(&app.pool)
    .await?;
    render(
        &app,
        language,
        &signed_in,
        &visible,
        None,
        query.modello.as_deref(),
    )
    .await
}

/// Renders the request page; `notice` is a message key shown on top (e.g. "changed, reload").
pub async fn render(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    visible: &Visible,
    notice: Option<&str>,
    canned_id: Option<&str>,
) -> Result<Response> {
    let RequestEvent::RequestReceived {
        reference,
        kind,
        topic,
        channel,
        personal,
        attachments,
        received_at,
        language: request_language,
        location,
        ..
    } = &visible.received
    else {
        return Err(AppError::NotFound);
    };
    let citizen: Option<PersonalData> = personal::open(&app.pool, personal).await?;
    let map = super::place::map(app, location.as_ref()).await?;
    let timeline = timeline(app, language, &visible.events).await?;
    let names = citizen
        .as_ref()
        .map(|c| c.attachment_names.clone())
        .unwrap_or_default();
    let files: Vec<ShownAttachment> = attachments
        .iter()
        .enumerate()
        .map(|(position, a)| ShownAttachment {
            position,
            name: names
                .get(position)
                .cloned()
                .unwrap_or_else(|| format!("allegato-{}", position + 1)),
            size_kb: a.size.div_ceil(1024),
            has_preview: a.thumbnail_id.is_some(),
        })
        .collect();
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let bodies = directory::external_bodies(&app.pool, app.organisation_id).await?;
    let department = visible
        .state
        .department()
        .and_then(|d| departments.iter().find(|x| x.id == d))
        .map(|d| d.name.clone());
    let status = visible.state.status();
    let today = sportello_domain::rome_date(app.clock.now());
    let due = visible.state.answer_due();
    // The topic's default office is offered first when forwarding.
    let suggested_department = crate::directory::all_topics(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .find(|t| &t.code == topic)
        .and_then(|t| t.default_department)
        .unwrap_or_default();
    let canned =
        directory::canned::suitable(&app.pool, app.organisation_id, kind.code(), topic).await?;
    let prefill = canned_id
        .and_then(|id| canned.iter().find(|a| a.id == id))
        .map(|answer| {
            let body = if *request_language == Language::En {
                &answer.body_en
            } else {
                &answer.body_it
            };
            let (first, last, subject) = citizen
                .as_ref()
                .map(|c| {
                    (
                        c.first_name.as_str(),
                        c.last_name.as_str(),
                        c.subject.as_str(),
                    )
                })
                .unwrap_or(("", "", ""));
            directory::canned::fill(body, first, last, &reference.to_string(), subject)
        });
    let canned: Vec<(String, String)> = canned.into_iter().map(|a| (a.id, a.title)).collect();
    let library =
        crate::documents::for_answer(&app.pool, app.organisation_id, topic, *request_language)
            .await?;
    let answered = visible
        .events
        .iter()
        .any(|r| matches!(r.event, RequestEvent::RequestAnswered { .. }));
    let path = format!("/ufficio/richieste/{}", visible.aggregate_id);
    let view = View::new("backoffice/request.html", path, "request.title").with(context! {
        staff => signed_in.bar(),
        id => visible.aggregate_id, reference => reference.to_string(), canned, prefill, suggested_department,
        library, can_make_faq => answered && signed_in.staff.is_urp(),
        canned_id => canned_id.unwrap_or_default(),
        kind => i18n::text(language, &format!("kind.{}", kind.code()), &[]),
        channel => i18n::text(language, &format!("channel.{}", channel.code()), &[]),
        topic, citizen, files, timeline, department, notice, map,
        status => i18n::text(language, &format!("staff_status.{}", status.code()), &[]),
        received => i18n::date_time(language, *received_at),
        due => due.map(|d| i18n::long_date(language, d)),
        overdue => due.is_some_and(|d| d < today) && status.awaits_answer(),
        paused => status == Status::WaitingForCitizen,
        actions => actions_for(&signed_in.staff, &visible.state),
        version => visible.events.len(),
        departments => departments.iter().filter(|d| d.active).map(|d| (d.id.to_string(), d.name.clone())).collect::<Vec<_>>(),
        bodies => bodies.iter().filter(|b| b.active).map(|b| (b.id.to_string(), b.name.clone())).collect::<Vec<_>>(),
        outcomes => ["answered", "withdrawn", "duplicate"].iter().map(|o| (o.to_string(), i18n::text(language, &format!("outcome.{o}"), &[]))).collect::<Vec<_>>(),
    });
    app.render(language, view.private())
}

/// Every event in words: who did it and when, with staff text opened.
async fn timeline(app: &AppState, language: Language, events: &[Recorded]) -> Result<Vec<Entry>> {
    let staff_names: HashMap<Uuid, String> = staff::names(&app.pool, app.organisation_id).await?;
    let departments = directory::department_names(&app.pool, app.organisation_id).await?;
    let bodies: HashMap<Uuid, String> = directory::external_bodies(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .map(|b| (b.id, b.name))
        .collect();
    let mut entries = Vec::with_capacity(events.len());
    for recorded in events {
        use RequestEvent as E;
        let name_of = |id: &Uuid| {
            staff_names
                .get(id)
                .cloned()
                .unwrap_or_else(|| i18n::text(language, "request.who_unknown", &[]))
        };
        let department = |id: &Uuid| departments.get(id).cloned().unwrap_or_default();
        let (by, detail, sealed, internal): (Option<String>, String, Option<&Sealed>, bool) =
            match &recorded.event {
                E::RequestReceived { filed_by, .. } => (
                    None,
                    filed_by
                        .follows
                        .as_ref()
                        .map(|reference| {
                            let follows = i18n::text(
                                language,
                                "request.follows",
                                &[("reference", &reference.to_string())],
                            );
                            format!(" — {follows}")
                        })
                        .unwrap_or_default(),
                    None,
                    false,
                ),
                E::RequestAcknowledged { .. } => (None, String::new(), None, false),
                E::DeliveryFailed { reason, .. } => (None, reason.clone(), None, true),
                E::ContactSwitched { by, to, .. } => (
                    Some(name_of(by)),
                    i18n::text(language, &format!("contact.{}", to.code()), &[]),
                    None,
                    false,
                ),
                E::PecReceiptRecorded {
                    receipt, evidence, ..
                } => (
                    None,
                    i18n::text(language, &format!("pec_receipt.{}", receipt.code()), &[]),
                    evidence.as_ref(),
                    false,
                ),
                E::AcknowledgementFailed { reason, .. } => (None, reason.clone(), None, true),
                E::RequestTakenIntoEvaluation { by, .. } => {
                    (Some(name_of(by)), String::new(), None, false)
                }
                E::InformationRequested { by, message, .. } => {
                    (Some(name_of(by)), String::new(), Some(message), false)
                }
                E::CitizenReplied {
                    message, channel, ..
                } => (
                    None,
                    i18n::text(language, &format!("channel.{}", channel.code()), &[]),
                    Some(message),
                    false,
                ),
                E::RequestRedirected {
                    by,
                    external_body,
                    message,
                    ..
                } => (
                    Some(name_of(by)),
                    bodies.get(external_body).cloned().unwrap_or_default(),
                    Some(message),
                    false,
                ),
                E::RequestForwarded {
                    by,
                    department: d,
                    note,
                    ..
                } => (Some(name_of(by)), department(d), note.as_ref(), true),
                E::RequestTakenInCharge {
                    by, department: d, ..
                } => (Some(name_of(by)), department(d), None, false),
                E::RequestHandedBack {
                    by,
                    department: d,
                    note,
                    ..
                } => (Some(name_of(by)), department(d), Some(note), true),
                E::RequestAnswered { by, message, .. } => {
                    (Some(name_of(by)), String::new(), Some(message), false)
                }
                E::InternalNoteAdded { by, note, .. } => {
                    (Some(name_of(by)), String::new(), Some(note), true)
                }
                E::RequestProtocolled {
                    by,
                    number,
                    date,
                    register,
                    ..
                } => (
                    Some(name_of(by)),
                    i18n::text(
                        language,
                        "request.protocol_entry",
                        &[
                            ("number", number),
                            ("date", &i18n::long_date(language, *date)),
                            ("register", register),
                        ],
                    ),
                    None,
                    false,
                ),
                E::RequestClosed { by, outcome, .. } => (
                    Some(name_of(by)),
                    i18n::text(language, &format!("outcome.{}", outcome.code()), &[]),
                    None,
                    false,
                ),
                E::RequestReopened { by, reason, .. } => (
                    by.as_ref().map(name_of),
                    String::new(),
                    reason.as_ref(),
                    false,
                ),
                E::RequestRated {
                    stars,
                    reasons,
                    comment,
                    ..
                } => (
                    None,
                    format!(
                        "{stars}/5{}",
                        reasons
                            .iter()
                            .map(|r| format!(
                                " · {}",
                                i18n::text(language, &format!("rating.reason.{r}"), &[])
                            ))
                            .collect::<String>()
                    ),
                    comment.as_ref(),
                    false,
                ),
                E::PersonalDataErased { reason, .. } => (
                    None,
                    i18n::text(language, &format!("erasure.{}", reason.code()), &[]),
                    None,
                    false,
                ),
                E::RequestReminded {
                    department: d,
                    level,
                    ..
                } => (
                    None,
                    format!(
                        "{} · {}",
                        department(d),
                        i18n::text(language, &format!("reminder.{}", level.code()), &[])
                    ),
                    None,
                    true,
                ),
            };
        let who = by.unwrap_or_else(|| {
            let actor = recorded
                .metadata
                .get("actor")
                .map(String::as_str)
                .unwrap_or("system");
            // An API client acts as itself: staff read its name.
            if let Some(client) = actor
                .strip_prefix("api:")
                .and_then(|id| Uuid::parse_str(id).ok())
            {
                return name_of(&client);
            }
            // A signed-in citizen's actor carries their account id: staff read "the citizen".
            let actor = if actor.starts_with("citizen:") {
                "citizen"
            } else {
                actor
            };
            i18n::text(language, &format!("actor.{}", actor.replace(':', "_")), &[])
        });
        let message = match sealed {
            Some(sealed) => personal::open_text(&app.pool, sealed).await?,
            None => None,
        };
        let mut files = Vec::new();
        if let E::RequestAnswered { attachments, .. } | E::CitizenReplied { attachments, .. } =
            &recorded.event
        {
            for (index, a) in attachments.iter().enumerate() {
                files.push((
                    index,
                    crate::tracking::attachment_name(app, a, index).await?,
                ));
            }
        }
        entries.push(Entry {
            sequence: recorded.sequence,
            files,
            text: i18n::text(
                language,
                &format!("event.{}", recorded.event.name()),
                &[("detail", &detail)],
            ),
            who,
            at: i18n::date_time(language, recorded.recorded_at),
            datetime: recorded.recorded_at.to_rfc3339(),
            message,
            internal,
        });
    }
    Ok(entries)
}

/// An attachment of the request, as a download, for staff who may see it.
pub async fn download(
    State(app): State<AppState>,
    signed_in: SignedIn,
    Path((id, position)): Path<(String, usize)>,
) -> Result<Response> {
    serve_attachment(&app, &signed_in, &id, position, false).await
}

/// The thumbnail of an image the citizen sent.
pub async fn preview(
    State(app): State<AppState>,
    signed_in: SignedIn,
    Path((id, position)): Path<(String, usize)>,
) -> Result<Response> {
    serve_attachment(&app, &signed_in, &id, position, true).await
}

async fn serve_attachment(
    app: &AppState,
    signed_in: &SignedIn,
    id: &str,
    position: usize,
    thumbnail: bool,
) -> Result<Response> {
    let visible = visible_to(app, &signed_in.staff, id).await?;
    let RequestEvent::RequestReceived {
        attachments,
        personal,
        ..
    } = &visible.received
    else {
        return Err(AppError::NotFound);
    };
    let attachment = attachments.get(position).ok_or(AppError::NotFound)?;
    let file_id = if thumbnail {
        attachment.thumbnail_id.as_ref().ok_or(AppError::NotFound)?
    } else {
        &attachment.file_id
    };
    let name = personal::open(&app.pool, personal)
        .await?
        .and_then(|p| p.attachment_names.get(position).cloned())
        .unwrap_or_else(|| format!("allegato-{}", position + 1));
    let name = if thumbnail {
        format!("anteprima-{name}.jpg")
    } else {
        name
    };
    crate::tracking::stored_file(app, file_id, &name).await
}

/// A file attached to an answer, for staff who may see the request.
pub async fn answer_file(
    State(app): State<AppState>,
    signed_in: SignedIn,
    Path((id, sequence, index)): Path<(String, i64, usize)>,
) -> Result<Response> {
    let visible = visible_to(&app, &signed_in.staff, &id).await?;
    let file = visible
        .events
        .iter()
        .find(|recorded| recorded.sequence == sequence)
        .and_then(|recorded| match &recorded.event {
            RequestEvent::RequestAnswered { attachments, .. }
            | RequestEvent::CitizenReplied { attachments, .. } => attachments.get(index).cloned(),
            _ => None,
        })
        .ok_or(AppError::NotFound)?;
    let name = crate::tracking::attachment_name(&app, &file, index).await?;
    crate::tracking::stored_file(&app, &file.file_id, &name).await
}
