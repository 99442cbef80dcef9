//! The front office (sportello fisico): an operator finds a citizen by name, e-mail, phone or
//! fiscal code, or registers them; enters a request on their behalf — channel, identity checked
//! at the counter, e-mail or paper — with the same rules, reference sequence and
//! acknowledgement as the web; prints the receipt (page and PDF, with the tracking link and its
//! QR code); and shows the citizen their requests' state and answers.

mod qr;
mod receipt;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::{Channel, FiledBy, Kind, Language};
use sportello_projections::citizen_status::{self, Owner};
use std::collections::BTreeMap;
use uuid::Uuid;

pub use receipt::{receipt_page, receipt_pdf};

use crate::citizen_store::{self as store, Citizen, NewCitizen};
use crate::directory::active_topics;
use crate::files::prepare_uploads;
use crate::intake::{
    file_request, NewRequestForm, Submission, DESCRIPTION_MAX, DESCRIPTION_MIN, SUBJECT_MAX,
};
use crate::mail::is_email;
use crate::staff::SignedIn;
use crate::staff::StaffBar;
use crate::staff::{Role, Staff};
use crate::state::AppState;
use crate::web::form::Errors;
use crate::web::upload::read_multipart;
use crate::web::{i18n, AppError, Lang, Page, Result};

/// The channels a request can reach the counter's operator by.
const CHANNELS: [Channel; 5] = [
    Channel::Counter,
    Channel::Phone,
    Channel::Letter,
    Channel::Email,
    Channel::Pec,
];

fn may_use(staff: &Staff) -> bool {
    staff.has(Role::FrontOffice) || staff.is_urp() || staff.has(Role::Administrator)
}

/// A member of staff at the front office.
fn desk(signed_in: &SignedIn) -> Result<()> {
    if may_use(&signed_in.staff) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Where `/ufficio` takes someone: the inbox, or the front office for the counter's staff.
pub async fn landing(signed_in: SignedIn) -> Redirect {
    let staff = &signed_in.staff;
    if staff.may_use_back_office() || staff.has(Role::Administrator) {
        Redirect::to("/ufficio/richieste")
    } else if staff.has(Role::FrontOffice) {
        Redirect::to("/ufficio/sportello")
    } else {
        Redirect::to("/ufficio/revisione")
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
    avviso: Option<String>,
}

pub async fn home(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Query(search): Query<Search>,
) -> Result<Response> {
    desk(&signed_in)?;
    let query = search.q.unwrap_or_default();
    let found = store::search(&app.pool, app.organisation_id, &query).await?;
    let erased = search.avviso.as_deref() == Some("cancellato");
    render_home(
        &app,
        language,
        &signed_in,
        &query,
        &found,
        &BTreeMap::new(),
        &Errors::new(),
        StatusCode::OK,
        erased,
    )
}

#[allow(clippy::too_many_arguments)]
fn render_home(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    query: &str,
    found: &[Citizen],
    form: &BTreeMap<String, String>,
    errors: &Errors,
    status: StatusCode,
    erased: bool,
) -> Result<Response> {
    let page = Page::new(
        language,
        "/ufficio/sportello",
        &app.organisation_name,
        "front.title",
    );
    let body = app.templates.render(
        "frontoffice/home.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&signed_in.staff, &signed_in.csrf_token),
            query, found, searched => query.trim().chars().count() >= 3, erased, form, errors => errors.shown(language),
        },
    )?;
    Ok(html(status, body))
}

/// Registers someone at the counter (no password: they may register online later with the same
/// address, or sign in with SPID/CIE).
pub async fn create_citizen(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response> {
    desk(&signed_in)?;
    let value = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    if !signed_in.csrf_ok(value("csrf_token")) {
        return Err(AppError::Csrf);
    }
    let mut errors = Errors::new();
    let (first, last, email, phone, fiscal) = (
        value("first_name"),
        value("last_name"),
        value("email"),
        value("phone"),
        value("fiscal_code").to_uppercase(),
    );
    if first.is_empty() || first.chars().count() > 100 {
        errors.add("first_name", "form.error.first_name");
    }
    if last.is_empty() || last.chars().count() > 100 {
        errors.add("last_name", "form.error.last_name");
    }
    if !email.is_empty() && !is_email(email) {
        errors.add("email", "form.error.email");
    } else if !email.is_empty() && crate::mail::OwnAddresses::load(&app).await?.contains(email) {
        errors.add("email", "form.error.own_address");
    }
    if !phone.is_empty()
        && (phone.chars().count() > 40
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-./()".contains(c)))
    {
        errors.add("phone", "form.error.phone");
    }
    if !fiscal.is_empty() && !is_fiscal_code(&fiscal) {
        errors.add("fiscal_code", "front.error.fiscal_code");
    }
    if errors.is_empty()
        && !email.is_empty()
        && store::find_by_email(&app.pool, app.organisation_id, email)
            .await?
            .is_some()
    {
        // Staff may know: they are looking the citizen up, not guessing addresses.
        errors.add("email", "front.error.email_known");
    }
    if !errors.is_empty() {
        return render_home(
            &app,
            language,
            &signed_in,
            "",
            &[],
            &form,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        );
    }
    let mut conn = app.pool.acquire().await?;
    let id = store::insert(
        &mut conn,
        app.organisation_id,
        &NewCitizen {
            first_name: first,
            last_name: last,
            email: Some(email).filter(|e| !e.is_empty()),
            password_hash: None,
            fiscal_code: Some(fiscal.as_str()).filter(|f| !f.is_empty()),
            phone: Some(phone).filter(|p| !p.is_empty()),
            created_by: Some(signed_in.staff.id),
            language,
        },
        app.clock.now(),
    )
    .await?;
    tracing::info!(citizen_id = %id, staff_id = %signed_in.staff.id, "citizen registered at the front office");
    Ok(Redirect::to(&format!("/ufficio/sportello/cittadini/{id}")).into_response())
}

/// An Italian fiscal code's shape: 16 characters (letters and digits, omocodia included).
fn is_fiscal_code(code: &str) -> bool {
    code.len() == 16 && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

async fn citizen_by_id(app: &AppState, id: &str) -> Result<Citizen> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let organisation: Option<String> =
        sqlx::query_scalar("SELECT organisation_id FROM citizens WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&app.pool)
            .await?;
    if organisation != Some(app.organisation_id.to_string()) {
        return Err(AppError::NotFound);
    }
    store::find(&app.pool, id).await?.ok_or(AppError::NotFound)
}

/// Erases a citizen who asks at the counter (someone registered there has no account to delete
/// themselves): the same erasure as an account's deletion, started by the operator.
pub async fn erase(
    State(app): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response> {
    desk(&signed_in)?;
    if !signed_in.csrf_ok(form.get("csrf_token").map(String::as_str).unwrap_or("")) {
        return Err(AppError::Csrf);
    }
    let citizen = citizen_by_id(&app, &id).await?;
    if form.get("confirm").map(String::as_str) != Some("yes") {
        return Ok(Redirect::to(&format!(
            "/ufficio/sportello/cittadini/{id}?avviso=conferma"
        ))
        .into_response());
    }
    let erased =
        crate::citizens::erase_citizen(&app, &citizen, &format!("staff:{}", signed_in.staff.id))
            .await?;
    tracing::info!(staff_id = %signed_in.staff.id, requests = erased, "citizen erased at the front office");
    Ok(Redirect::to("/ufficio/sportello?avviso=cancellato").into_response())
}

/// The requests the counter may show this citizen: those linked to their record, and those
/// filed with their address once they have proven it.
async fn owner_of(app: &AppState, citizen: &Citizen) -> Result<Owner> {
    Ok(store::owner(&app.pool, citizen).await?)
}

#[derive(Serialize)]
struct Listed {
    id: String,
    reference: String,
    status: String,
    received: String,
    answer_due: String,
    receipt: bool,
}

#[derive(Deserialize)]
pub struct Notice {
    avviso: Option<String>,
}

pub async fn citizen(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Response> {
    desk(&signed_in)?;
    let citizen = citizen_by_id(&app, &id).await?;
    let owner = owner_of(&app, &citizen).await?;
    crate::citizens::read_own_writes(&app).await?;
    let requests = citizen_status::requests_of(&app.pool, &owner).await?;
    let receipts: Vec<String> = if requests.is_empty() {
        Vec::new()
    } else {
        let mut query = sqlx::QueryBuilder::new(
            "SELECT aggregate_id FROM front_office_receipts WHERE aggregate_id IN (",
        );
        let mut ids = query.separated(", ");
        for request in &requests {
            ids.push_bind(&request.aggregate_id);
        }
        // Reprints for the operator who filed it, or the URP (the receipt holds the link).
        let staff = &signed_in.staff;
        if !staff.is_urp() && !staff.has(Role::Administrator) {
            query.push(") AND operator_id = ");
            query.push_bind(staff.id.to_string());
        } else {
            query.push(")");
        }
        query.build_query_scalar().fetch_all(&app.pool).await?
    };
    let listed: Vec<Listed> = requests
        .iter()
        .map(|r| Listed {
            id: r.aggregate_id.clone(),
            reference: r.reference.clone(),
            status: i18n::text(language, &format!("status.{}", r.status), &[]),
            received: i18n::date(language, r.received_at),
            answer_due: i18n::long_date(language, r.answer_due),
            receipt: receipts.contains(&r.aggregate_id),
        })
        .collect();
    tracing::info!(staff_id = %signed_in.staff.id, citizen_id = %citizen.id, "citizen opened at the front office");
    let page = Page::new(
        language,
        &format!("/ufficio/sportello/cittadini/{id}"),
        &app.organisation_name,
        "front.citizen.title",
    );
    let body = app.templates.render(
        "frontoffice/citizen.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&signed_in.staff, &signed_in.csrf_token),
            citizen, requests => listed, confirm_erasure => notice.avviso.as_deref() == Some("conferma"),
        },
    )?;
    Ok(html(StatusCode::OK, body))
}

/// The entry form as typed.
#[derive(Debug, Clone, Default, Serialize)]
struct Entry {
    channel: String,
    identity_checked: bool,
    contact: String,
    request: NewRequestForm,
}

pub async fn entry_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response> {
    desk(&signed_in)?;
    let citizen = citizen_by_id(&app, &id).await?;
    let entry = Entry {
        channel: "counter".into(),
        contact: if citizen.email.is_some() {
            "email"
        } else {
            "paper"
        }
        .into(),
        ..Entry::default()
    };
    render_entry(
        &app,
        language,
        &signed_in,
        &citizen,
        &entry,
        &Errors::new(),
        StatusCode::OK,
    )
    .await
}

async fn render_entry(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    citizen: &Citizen,
    entry: &Entry,
    errors: &Errors,
    status: StatusCode,
) -> Result<Response> {
    let topics = crate::directory::topic_choices(&app.pool, app.organisation_id, language).await?;
    let kinds: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_string(),
                i18n::text(language, &format!("kind.{}", k.code()), &[]),
            )
        })
        .collect();
    let channels: Vec<(String, String)> = CHANNELS
        .iter()
        .map(|c| {
            (
                c.code().to_string(),
                i18n::text(language, &format!("channel.{}", c.code()), &[]),
            )
        })
        .collect();
    let page = Page::new(
        language,
        &format!("/ufficio/sportello/cittadini/{}/nuova", citizen.id),
        &app.organisation_name,
        "front.entry.title",
    );
    let body = app.templates.render(
        "frontoffice/entry.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&signed_in.staff, &signed_in.csrf_token),
            citizen, entry, form => entry.request, errors => errors.shown(language), topics, kinds, channels,
            description_min => DESCRIPTION_MIN, description_max => DESCRIPTION_MAX, subject_max => SUBJECT_MAX,
            max_files => crate::files::MAX_FILES,
        },
    )?;
    Ok(html(status, body))
}

/// Files the request for the citizen: their name and contacts come from their record.
pub async fn enter(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response> {
    desk(&signed_in)?;
    let citizen = citizen_by_id(&app, &id).await?;
    let received = read_multipart(multipart).await?;
    let value = |name: &str| {
        received
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut entry = Entry {
        channel: value("channel"),
        identity_checked: value("identity_checked") == "yes",
        contact: value("contact"),
        request: NewRequestForm::default(),
    };
    for (name, field) in &received.fields {
        if ["kind", "topic", "subject", "description", "place"].contains(&name.as_str()) {
            entry.request.set(name, field.clone());
        }
    }
    let mut errors = Errors::new();
    if !signed_in.csrf_ok(received.csrf_token.as_deref().unwrap_or("")) {
        return Err(AppError::Csrf);
    }
    let channel = CHANNELS.into_iter().find(|c| c.code() == entry.channel);
    if channel.is_none() {
        errors.add("channel", "front.error.channel");
    }
    let paper = match entry.contact.as_str() {
        "paper" => true,
        "email" if citizen.email.is_some() => false,
        "email" => {
            errors.add("contact-email", "front.error.no_email");
            false
        }
        _ => {
            errors.add("contact-email", "front.error.contact");
            false
        }
    };
    // The citizen's record supplies who they are; the privacy notice is given at the counter.
    let mut form = entry.request.clone();
    form.first_name = citizen.first_name.clone();
    form.last_name = citizen.last_name.clone();
    form.email = citizen.email.clone().unwrap_or_default();
    form.email_confirmation = form.email.clone();
    form.phone = citizen.phone.clone().unwrap_or_default();
    form.privacy = "accepted".into();
    let topics: Vec<String> = active_topics(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .map(|t| t.code)
        .collect();
    let own = crate::mail::OwnAddresses::load(&app).await?;
    let parsed = form.parse_with(&topics, &own, true);
    if let Err(field_errors) = &parsed {
        for error in field_errors {
            let field = if error.field == "kind" {
                "kind-information"
            } else {
                error.field
            };
            errors.add(field, error.message);
        }
    }
    let (prepared, file_errors) = prepare_uploads(received.uploads, received.too_large).await?;
    for error in &file_errors {
        errors.add("attachments", error.message);
    }
    let (Ok(request), Some(channel), true) = (parsed, channel, errors.is_empty()) else {
        return render_entry(
            &app,
            language,
            &signed_in,
            &citizen,
            &entry,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let submission = Submission {
        request,
        attachments: prepared,
        language,
        channel,
        actor: format!("staff:{}", signed_in.staff.id),
        correlation_id: Uuid::new_v4().to_string(),
        filed_by: FiledBy {
            citizen: Some(citizen.id),
            operator: Some(signed_in.staff.id),
            identity_checked: entry.identity_checked,
            paper_only: paper,
        },
    };
    let filed = file_request(&app, submission).await?;
    Ok(Redirect::to(&format!(
        "/ufficio/sportello/ricevute/{}",
        filed.aggregate_id
    ))
    .into_response())
}

/// A request as the counter shows it to the citizen it belongs to: status, phases, the public
/// history with the answers (what the citizen would see through their link). Only the requests
/// of the citizen being served.
pub async fn request(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: SignedIn,
    Path((citizen_id, id)): Path<(String, String)>,
) -> Result<Response> {
    desk(&signed_in)?;
    let citizen = citizen_by_id(&app, &citizen_id).await?;
    let owner = owner_of(&app, &citizen).await?;
    crate::citizens::read_own_writes(&app).await?;
    let tracked = citizen_status::request_of(&app.pool, &owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    log_opening(&app, &signed_in, &id).await?;
    let history = crate::tracking::shown_history(&app, language, &tracked.aggregate_id).await?;
    let personal = crate::personal::open(&app.pool, &tracked.personal).await?;
    let page = Page::new(
        language,
        &format!("/ufficio/sportello/richieste/{id}"),
        &app.organisation_name,
        "front.request.title",
    );
    let body = app.templates.render(
        "frontoffice/request.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&signed_in.staff, &signed_in.csrf_token),
            reference => tracked.reference, id, citizen_id,
            status => i18n::text(language, &format!("status.{}", tracked.status), &[]),
            received => i18n::date_time(language, tracked.received_at),
            answer_due => i18n::long_date(language, tracked.answer_due),
            subject => personal.map(|p| p.subject), history,
        },
    )?;
    Ok(html(StatusCode::OK, body))
}

/// Staff opening a request's data at the counter is logged, as in the back office.
pub(crate) async fn log_opening(
    app: &AppState,
    signed_in: &SignedIn,
    aggregate_id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO staff_access_log (staff_id, aggregate_id, viewed_at) VALUES (?, ?, ?)",
    )
    .bind(signed_in.staff.id.to_string())
    .bind(aggregate_id)
    .bind(app.clock.now())
    .execute(&app.pool)
    .await?;
    Ok(())
}

/// The counter: `/ufficio` (which sends each person to their desk), citizens found or
/// registered, requests entered for them, receipts.
pub fn routes() -> axum::Router<AppState> {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/ufficio", get(landing))
        .route("/ufficio/sportello", get(home))
        .route("/ufficio/sportello/cittadini", post(create_citizen))
        .route("/ufficio/sportello/cittadini/{id}", get(citizen))
        .route(
            "/ufficio/sportello/cittadini/{id}/nuova",
            get(entry_form)
                .post(enter)
                .layer(DefaultBodyLimit::max(crate::web::upload::MAX_BODY_BYTES)),
        )
        .route(
            "/ufficio/sportello/cittadini/{citizen}/richieste/{id}",
            get(request),
        )
        .route("/ufficio/sportello/cittadini/{id}/cancella", post(erase))
        .route("/ufficio/sportello/ricevute/{id}", get(receipt_page))
        .route("/ufficio/sportello/ricevute/{id}/pdf", get(receipt_pdf))
}
