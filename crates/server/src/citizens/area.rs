//! "My area": every request of the signed-in citizen, newest first, with status in words and
//! phases, and each request's page with the same actions as the tracking link. A request that is
//! not theirs is a 404 on every URL.

use crate::state::Desk;
use crate::web::params::Notice;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use sportello_projections::citizen_status;

use super::drafts;
use crate::citizen_store as store;
use crate::citizen_store::session::CitizenSignedIn;
use crate::state::AppState;
use crate::tracking::{self, Access};
use crate::tracking::{RatingForm, ReopenForm, ReplyForm, Sent};
use crate::web::checked::{Submitted, SubmittedFiles};
use crate::web::View;
use crate::web::{i18n, ClientIp, Result};

#[derive(Serialize)]
struct Listed {
    id: String,
    reference: String,
    subject: Option<String>,
    status: String,
    kind: String,
    received: String,
    answer_due: String,
    phases: Vec<(String, Option<String>)>,
}

pub async fn home(
    Desk { app, language }: Desk,
    signed_in: CitizenSignedIn,
    Query(notice): Query<Notice>,
) -> Result<Response> {
    let owner = store::owner(&app.pool, &signed_in.citizen).await?;
    read_own_writes(&app).await?;
    let requests = citizen_status::requests_of(&app.pool, &owner).await?;
    // Subjects are sealed per request: opened here for this citizen's own list only.
    let keys: Vec<_> = requests.iter().map(|r| r.personal.clone()).collect();
    let opened = crate::personal::open_many(&app.pool, &keys).await?;
    let when = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| i18n::date(language, at));
    let phase = |key: &str| i18n::text(language, &format!("phase.{key}"), &[]);
    let listed: Vec<Listed> = requests
        .iter()
        .zip(opened)
        .map(|(request, personal)| Listed {
            id: request.aggregate_id.clone(),
            reference: request.reference.clone(),
            subject: personal.map(|p| p.subject),
            status: i18n::text(language, &format!("status.{}", request.status), &[]),
            kind: i18n::text(language, &format!("kind.{}", request.kind), &[]),
            received: i18n::date(language, request.received_at),
            answer_due: i18n::long_date(language, request.answer_due),
            phases: vec![
                (phase("received"), when(Some(request.received_at))),
                (phase("taken_in_charge"), when(request.taken_in_charge_at)),
                (phase("answered"), when(request.answered_at)),
                (phase("closed"), when(request.closed_at)),
            ],
        })
        .collect();
    let drafts = drafts::list(&app, language, signed_in.citizen.id).await?;
    let notice = match notice.avviso.as_deref() {
        Some("password") => Some("area.notice.password_changed"),
        Some("bozza") => Some("area.notice.draft_saved"),
        _ => None,
    };
    let view = View::new("area/home.html", "/area", "area.title").with(context! {
        citizen => signed_in.citizen, requests => listed, drafts,
        csrf_token => signed_in.csrf_token, notice,
    });
    app.render(language, view)
}

/// Right after filing, the status view may lag behind: catch up once so the list has it.
pub async fn read_own_writes(app: &AppState) -> Result<()> {
    if sportello_projections::is_behind(&app.pool, citizen_status::NAME).await? {
        sportello_projections::catch_up(&app.pool, &citizen_status::CitizenStatus).await?;
    }
    Ok(())
}

async fn access(app: &AppState, signed_in: &CitizenSignedIn, id: String) -> Result<Access> {
    let owner = store::owner(&app.pool, &signed_in.citizen).await?;
    Ok(Access::Citizen(owner, id))
}

pub async fn request(
    Desk { app, language }: Desk,
    signed_in: CitizenSignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let access = access(&app, &signed_in, id).await?;
    tracking::show(&app, language, &headers, &access).await
}

pub async fn reply(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    signed_in: CitizenSignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    submitted: SubmittedFiles<ReplyForm>,
) -> Result<Response> {
    let access = access(&app, &signed_in, id).await?;
    tracking::reply_with(&app, language, client, &headers, &access, submitted).await
}

pub async fn reopen(
    Desk { app, language }: Desk,
    signed_in: CitizenSignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    submitted: Submitted<ReopenForm>,
) -> Result<Response> {
    let access = access(&app, &signed_in, id).await?;
    tracking::reopen_with(&app, language, &headers, &access, Sent::of(submitted)?).await
}

pub async fn rate(
    Desk { app, language }: Desk,
    signed_in: CitizenSignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    submitted: Submitted<RatingForm>,
) -> Result<Response> {
    let access = access(&app, &signed_in, id).await?;
    tracking::rate_with(&app, language, &headers, &access, Sent::of(submitted)?).await
}

pub async fn download(
    State(app): State<AppState>,
    signed_in: CitizenSignedIn,
    Path((id, position)): Path<(String, i32)>,
) -> Result<Response> {
    let access = access(&app, &signed_in, id).await?;
    tracking::serve_file(&app, &access, position, false).await
}

pub async fn preview(
    State(app): State<AppState>,
    signed_in: CitizenSignedIn,
    Path((id, position)): Path<(String, i32)>,
) -> Result<Response> {
    let access = access(&app, &signed_in, id).await?;
    tracking::serve_file(&app, &access, position, true).await
}

pub async fn entry_file(
    State(app): State<AppState>,
    signed_in: CitizenSignedIn,
    Path((id, sequence, index)): Path<(String, i64, usize)>,
) -> Result<Response> {
    let access = access(&app, &signed_in, id).await?;
    tracking::entry_file(&app, &access, sequence, index).await
}
