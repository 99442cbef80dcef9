//! A citizen's record at the counter: their requests (only theirs, as they would see them
//! through their link), one request's public history, and their erasure when they ask for it.
//! Every opening is logged.

use crate::state::Desk;
use crate::web::params::Notice;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_projections::citizen_status::{self, Owner};
use uuid::Uuid;

use super::desk;
use crate::citizen_store::{self as store, Citizen};
use crate::staff::{Role, SignedIn};
use crate::state::AppState;
use crate::web::checked::CsrfForm;
use crate::web::{i18n, AppError, Result, View};

/// The citizen of this organisation with this id, for a member of staff at the front office.
pub(super) async fn citizen_at_desk(
    app: &AppState,
    signed_in: &SignedIn,
    id: &str,
) -> Result<Citizen> {
    desk(signed_in)?;
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

/// The erasure's confirmation box.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Erasure {
    confirm: String,
}

/// Erases a citizen who asks at the counter (someone registered there has no account to delete
/// themselves): the same erasure as an account's deletion, started by the operator.
pub async fn erase(
    State(app): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<Erasure>,
) -> Result<Response> {
    let citizen = citizen_at_desk(&app, &signed_in, &id).await?;
    if form.confirm != "yes" {
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

pub async fn citizen(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Response> {
    let citizen = citizen_at_desk(&app, &signed_in, &id).await?;
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
    let view = View::new(
        "frontoffice/citizen.html",
        format!("/ufficio/sportello/cittadini/{id}"),
        "front.citizen.title",
    )
    .with(context! {
        staff => signed_in.bar(), citizen, requests => listed,
        confirm_erasure => notice.avviso.as_deref() == Some("conferma"),
    });
    app.render(language, view)
}

/// A request as the counter shows it to the citizen it belongs to: status, phases, the public
/// history with the answers (what the citizen would see through their link). Only the requests
/// of the citizen being served.
pub async fn request(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Path((citizen_id, id)): Path<(String, String)>,
) -> Result<Response> {
    let citizen = citizen_at_desk(&app, &signed_in, &citizen_id).await?;
    let owner = owner_of(&app, &citizen).await?;
    crate::citizens::read_own_writes(&app).await?;
    let tracked = citizen_status::request_of(&app.pool, &owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    log_opening(&app, &signed_in, &id).await?;
    let history = crate::tracking::shown_history(&app, language, &tracked.aggregate_id).await?;
    let personal = crate::personal::open(&app.pool, &tracked.personal).await?;
    let view = View::new(
        "frontoffice/request.html",
        format!("/ufficio/sportello/richieste/{id}"),
        "front.request.title",
    )
    .with(context! {
        staff => signed_in.bar(), reference => tracked.reference, id, citizen_id,
        status => i18n::text(language, &format!("status.{}", tracked.status), &[]),
        received => i18n::date_time(language, tracked.received_at),
        answer_due => i18n::long_date(language, tracked.answer_due),
        subject => personal.map(|p| p.subject), history,
    });
    app.render(language, view)
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
