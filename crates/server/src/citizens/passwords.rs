//! Passwords in the citizen area: a new one's rules, hashing off the async workers, and the
//! current one checked under the login throttle.

use crate::citizen_store as store;
use crate::staff::{password, throttle};
use crate::state::AppState;
use crate::web::form::Errors;
use crate::web::{AppError, Result};

/// Checks a new password and its confirmation into `errors`.
pub(super) fn check_new(new: &str, confirmation: &str, errors: &mut Errors) {
    if password::check_strength(new).is_err() {
        errors.add("password", "area.error.weak_password");
    } else if confirmation != new {
        errors.add("password_confirmation", "area.error.password_mismatch");
    }
}

/// Argon2 off the async workers (it takes tens of milliseconds of CPU).
pub(super) async fn hash(password: &str) -> Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(AppError::internal)
}

/// Checks the current password, throttled like a login (a stolen session cannot guess it).
pub(super) async fn current_ok(
    app: &AppState,
    client: std::net::IpAddr,
    citizen_id: uuid::Uuid,
    given: &str,
) -> Result<bool> {
    let now = app.clock.now();
    let account = format!("citizen-current:{citizen_id}");
    if !throttle::attempt(&app.pool, &account, &client.to_string(), now).await? {
        return Ok(false);
    }
    let hash = store::password_hash(&app.pool, citizen_id).await?;
    let ok = password::verify_off_thread(given, hash).await?;
    if ok {
        throttle::succeeded(&app.pool, &account, &client.to_string()).await?;
    }
    Ok(ok)
}
