//! Administration: the organisation's settings, departments, other bodies, topics and staff.
//! Only administrators reach these pages (others get a 404); every change is logged.

mod api_clients_page;
mod directory_pages;
mod reports_page;
mod settings_page;
mod status_page;
mod users;

pub use directory_pages::{save_answer, save_body, save_department, save_topic};
pub use reports_page::{reports, save_reports};
pub use settings_page::{save_settings, settings};
pub use users::{accept_invitation, add_user, invitation, save_user, users};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::Response;
use uuid::Uuid;

use crate::staff::Role;
use crate::staff::SignedIn;
use crate::state::AppState;

/// A signed-in administrator.
pub struct Admin(pub SignedIn);

impl<S: Send + Sync> FromRequestParts<S> for Admin
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Admin, Response> {
        SignedIn::only(parts, state, |staff| staff.has(Role::Administrator))
            .await
            .map(Admin)
    }
}

/// Records who changed what.
pub async fn log(
    app: &AppState,
    admin: &Admin,
    action: &str,
    subject: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO admin_log (staff_id, action, subject_id, at) VALUES (?, ?, ?, ?)")
        .bind(admin.0.staff.id.to_string())
        .bind(action)
        .bind(subject.map(|id| id.to_string()))
        .bind(app.clock.now())
        .execute(&app.pool)
        .await?;
    Ok(())
}

/// The administration, and the invitation's page where a new member of staff sets a password.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/ufficio/amministrazione",
            get(|| async { axum::response::Redirect::to("/ufficio/amministrazione/impostazioni") }),
        )
        .route(
            "/ufficio/amministrazione/impostazioni",
            get(settings).post(save_settings),
        )
        .merge(directory_pages::routes())
        .route(
            "/ufficio/amministrazione/personale",
            get(users).post(add_user),
        )
        .route("/ufficio/amministrazione/personale/{id}", post(save_user))
        .route(
            "/ufficio/amministrazione/rapporti",
            get(reports).post(save_reports),
        )
        .route(status_page::PAGE, get(status_page::status))
        .route(
            api_clients_page::PAGE,
            get(api_clients_page::page).post(api_clients_page::create),
        )
        .route(
            "/ufficio/amministrazione/api/{id}/revoca",
            post(api_clients_page::revoke),
        )
        .route(
            "/ufficio/invito/{token}",
            get(invitation).post(accept_invitation),
        )
}
