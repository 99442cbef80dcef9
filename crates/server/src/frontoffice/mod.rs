//! The front office (sportello fisico): an operator finds a citizen by name, e-mail, phone or
//! fiscal code, or registers them; enters a request on their behalf — channel, identity checked
//! at the counter, e-mail or paper — with the same rules, reference sequence and
//! acknowledgement as the web; prints the receipt (page and PDF, with the tracking link and its
//! QR code); and shows the citizen their requests' state and answers.

mod entry;
mod qr;
mod receipt;
mod record;

use crate::state::Desk;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::Channel;

pub use entry::{enter, entry_form};
pub use receipt::{receipt_page, receipt_pdf};
pub use record::{citizen, erase, request};

use crate::citizen_store::{self as store, Citizen, NewCitizen};
use crate::mail::is_email;
use crate::staff::{Role, SignedIn, Staff};
use crate::state::AppState;
use crate::web::checked::CsrfForm;
use crate::web::form::Errors;
use crate::web::{AppError, Result, View};

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

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
    avviso: Option<String>,
}

pub async fn home(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Query(search): Query<Search>,
) -> Result<Response> {
    desk(&signed_in)?;
    let query = search.q.unwrap_or_default();
    let found = store::search(&app.pool, app.organisation_id, &query).await?;
    let erased = search.avviso.as_deref() == Some("cancellato");
    let view = home_view(&signed_in, &query, &found, &NewRecord::default())
        .with(context! { erased, errors => Errors::new().shown(language) });
    app.render(language, view)
}

/// The counter's home: the search, what it found, and the form that registers someone.
fn home_view(signed_in: &SignedIn, query: &str, found: &[Citizen], form: &NewRecord) -> View {
    View::new("frontoffice/home.html", "/ufficio/sportello", "front.title").with(context! {
        staff => signed_in.bar(), query, found, searched => query.trim().chars().count() >= 3,
        form,
    })
}

/// Someone registered at the counter, as typed.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewRecord {
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    fiscal_code: String,
}

/// Registers someone at the counter (no password: they may register online later with the same
/// address, or sign in with SPID/CIE).
pub async fn create_citizen(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    CsrfForm(form): CsrfForm<NewRecord>,
) -> Result<Response> {
    desk(&signed_in)?;
    let mut errors = Errors::new();
    let (first, last, email, phone, fiscal) = (
        form.first_name.trim(),
        form.last_name.trim(),
        form.email.trim(),
        form.phone.trim(),
        form.fiscal_code.trim().to_uppercase(),
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
        let view = home_view(&signed_in, "", &[], &form)
            .with(context! { erased => false, errors => errors.shown(language) })
            .status(StatusCode::UNPROCESSABLE_ENTITY);
        return app.render(language, view);
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

/// The counter: `/ufficio` (which sends each person to their desk), citizens found or
/// registered, requests entered for them, receipts.
pub fn routes() -> axum::Router<AppState> {
    use crate::web::upload::with_files;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/ufficio", get(landing))
        .route("/ufficio/sportello", get(home))
        .route("/ufficio/sportello/cittadini", post(create_citizen))
        .route("/ufficio/sportello/cittadini/{id}", get(citizen))
        .route(
            "/ufficio/sportello/cittadini/{id}/nuova",
            with_files(get(entry_form).post(enter)),
        )
        .route(
            "/ufficio/sportello/cittadini/{citizen}/richieste/{id}",
            get(request),
        )
        .route("/ufficio/sportello/cittadini/{id}/cancella", post(erase))
        .route("/ufficio/sportello/ricevute/{id}", get(receipt_page))
        .route("/ufficio/sportello/ricevute/{id}/pdf", get(receipt_pdf))
}
