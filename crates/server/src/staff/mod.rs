//! Staff: accounts with roles and departments, passwords, server-side sessions, login
//! throttling. Who may do what is decided here (`Staff::may_*`), from the database on every
//! request, so a role change takes effect at once on existing sessions.

mod bar;
pub mod password;
pub mod sessions;
mod signed_in;
pub mod throttle;
pub mod totp;

pub use bar::StaffBar;
pub use signed_in::{SignedIn, Urp};

use std::str::FromStr;

use serde::Serialize;
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

/// What a member of staff may do (a person may hold several roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Configuration and users.
    Administrator,
    /// Everything in the back office, plus statistics.
    UrpManager,
    /// The back office: triage, answers, forwarding.
    UrpOperator,
    /// Enters requests for citizens at the counter.
    FrontOffice,
    /// Sees and answers only the requests of their departments.
    Referent,
    /// Reads any request's complete event history, with its hash chain; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Administrator,
        Role::UrpManager,
        Role::UrpOperator,
        Role::FrontOffice,
        Role::Referent,
        Role::Auditor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::UrpManager => "urp_manager",
            Role::UrpOperator => "urp_operator",
            Role::FrontOffice => "front_office",
            Role::Referent => "referent",
            Role::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(code: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.code() == code)
            .ok_or_else(|| format!("unknown role {code}"))
    }
}

/// A signed-in member of staff, as the database says now.
#[derive(Debug, Clone, Serialize)]
pub struct Staff {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub departments: Vec<Uuid>,
    /// Whether two-factor authentication is set up.
    pub totp: bool,
}

impl Staff {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// URP staff see every request of their organisation.
    pub fn is_urp(&self) -> bool {
        self.has(Role::UrpOperator) || self.has(Role::UrpManager)
    }

    /// Whether this person may see a request forwarded to `department` (or to none).
    /// Administrators read every request's history (for audit), without acting on it.
    pub fn may_see(&self, department: Option<Uuid>) -> bool {
        self.is_urp()
            || self.has(Role::Administrator)
            || (self.has(Role::Referent)
                && department.is_some_and(|d| self.departments.contains(&d)))
    }

    /// Whether this person may use the back office at all.
    pub fn may_use_back_office(&self) -> bool {
        self.is_urp() || self.has(Role::Referent)
    }

    /// The capacity this person acts in on requests (what the aggregate checks each action
    /// against): as the URP, and as the referent of their departments.
    pub fn capacity(&self) -> sportello_domain::Capacity {
        sportello_domain::Capacity {
            urp: self.is_urp(),
            departments: if self.has(Role::Referent) {
                self.departments.clone()
            } else {
                Vec::new()
            },
        }
    }
}

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap_or_default()
}

/// The active member of staff with this id, with their current roles and departments.
pub async fn find(pool: &MySqlPool, id: Uuid) -> Result<Option<Staff>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.id, s.organisation_id, s.email, s.name, s.totp_secret IS NOT NULL AS totp,
                (SELECT GROUP_CONCAT(role) FROM staff_roles r WHERE r.staff_id = s.id) AS roles,
                (SELECT GROUP_CONCAT(department_id) FROM staff_departments d WHERE d.staff_id = s.id) AS departments
           FROM staff s WHERE s.id = ? AND s.active",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let roles: Option<String> = row.try_get("roles")?;
    let departments: Option<String> = row.try_get("departments")?;
    Ok(Some(Staff {
        id: uuid(&row.try_get::<String, _>("id")?),
        organisation_id: uuid(&row.try_get::<String, _>("organisation_id")?),
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        roles: roles
            .unwrap_or_default()
            .split(',')
            .filter_map(|code| code.parse().ok())
            .collect(),
        totp: row.try_get::<i64, _>("totp")? != 0,
        departments: departments
            .unwrap_or_default()
            .split(',')
            .filter_map(|id| Uuid::parse_str(id).ok())
            .collect(),
    }))
}

/// The id and password hash of the active account with this e-mail.
pub async fn credentials(
    pool: &MySqlPool,
    email: &str,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT id, password_hash FROM staff WHERE email = ? AND active")
            .bind(email.trim().to_lowercase())
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id, hash)| (uuid(&id), hash)))
}

/// A new account.
pub struct NewStaff<'a> {
    pub organisation_id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub roles: &'a [Role],
    pub departments: &'a [Uuid],
}

#[derive(Debug, thiserror::Error)]
pub enum AddStaffError {
    #[error("an account with this e-mail already exists")]
    Exists,
    #[error("{0}")]
    Invalid(&'static str),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Creates an account (the command line's `user add`, and the administrators' page).
pub async fn add(
    pool: &MySqlPool,
    new: NewStaff<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Uuid, AddStaffError> {
    let email = new.email.trim().to_lowercase();
    if !crate::mail::is_email(&email) {
        return Err(AddStaffError::Invalid("the e-mail address is not valid"));
    }
    if new.name.trim().is_empty() {
        return Err(AddStaffError::Invalid("the name is empty"));
    }
    if new.roles.is_empty() {
        return Err(AddStaffError::Invalid("at least one role is needed"));
    }
    password::check_strength(new.password).map_err(AddStaffError::Invalid)?;
    let hash = password::hash(new.password);
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT IGNORE INTO staff (id, organisation_id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(new.organisation_id.to_string())
    .bind(&email)
    .bind(new.name.trim())
    .bind(hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AddStaffError::Exists);
    }
    for role in new.roles {
        sqlx::query("INSERT IGNORE INTO staff_roles (staff_id, role) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(role.code())
            .execute(&mut *tx)
            .await?;
    }
    for department in new.departments {
        sqlx::query("INSERT IGNORE INTO staff_departments (staff_id, department_id) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(department.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Names of those who act on requests by id, for timelines: staff, and the API clients that
/// act as themselves ("Protocollo informatico (API)").
pub async fn names(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<std::collections::HashMap<Uuid, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, name FROM staff WHERE organisation_id = ?
         UNION ALL
         SELECT id, CONCAT(name, ' (API)') FROM api_clients WHERE organisation_id = ?",
    )
    .bind(organisation_id.to_string())
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (uuid(&id), name))
        .collect())
}

/// E-mail addresses of the active referents of a department.
pub async fn referent_emails(
    pool: &MySqlPool,
    department: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT s.email FROM staff s
           JOIN staff_departments d ON d.staff_id = s.id
           JOIN staff_roles r ON r.staff_id = s.id AND r.role = 'referent'
          WHERE d.department_id = ? AND s.active ORDER BY s.email",
    )
    .bind(department.to_string())
    .fetch_all(pool)
    .await
}

/// A member of staff as administrators see them.
#[derive(Debug, Clone, Serialize)]
pub struct StaffListing {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub active: bool,
    pub roles: Vec<String>,
    pub departments: Vec<String>,
    pub totp: bool,
}

/// Everyone on the organisation's staff, by name.
pub async fn list(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<StaffListing>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.id, s.email, s.name, s.active, s.totp_secret IS NOT NULL AS totp,
                (SELECT GROUP_CONCAT(role) FROM staff_roles r WHERE r.staff_id = s.id) AS roles,
                (SELECT GROUP_CONCAT(department_id) FROM staff_departments d WHERE d.staff_id = s.id) AS departments
           FROM staff s WHERE s.organisation_id = ? ORDER BY s.name",
    )
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let split = |text: Option<String>| -> Vec<String> {
                text.unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            Ok(StaffListing {
                id: uuid(&row.try_get::<String, _>("id")?),
                email: row.try_get("email")?,
                name: row.try_get("name")?,
                active: row.try_get("active")?,
                totp: row.try_get::<i64, _>("totp")? != 0,
                roles: split(row.try_get("roles")?),
                departments: split(row.try_get("departments")?),
            })
        })
        .collect()
}

/// Replaces roles, departments and the active flag; a deactivated account loses its sessions.
pub async fn update(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id: Uuid,
    roles: &[Role],
    departments: &[Uuid],
    active: bool,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query("UPDATE staff SET active = ? WHERE id = ? AND organisation_id = ?")
        .bind(active)
        .bind(id.to_string())
        .bind(organisation_id.to_string())
        .execute(&mut *tx)
        .await?;
    let exists: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE id = ? AND organisation_id = ?")
            .bind(id.to_string())
            .bind(organisation_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
    if found.rows_affected() == 0 && exists == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM staff_roles WHERE staff_id = ?")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM staff_departments WHERE staff_id = ?")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    for role in roles {
        sqlx::query("INSERT INTO staff_roles (staff_id, role) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(role.code())
            .execute(&mut *tx)
            .await?;
    }
    for department in departments {
        sqlx::query("INSERT INTO staff_departments (staff_id, department_id) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(department.to_string())
            .execute(&mut *tx)
            .await?;
    }
    if !active {
        sqlx::query("DELETE FROM sessions WHERE staff_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Sets a new password (an invitation accepted), uses up the person's invitations and ends
/// their sessions: a reset must shut out whoever had the old password.
pub async fn set_password(pool: &MySqlPool, id: Uuid, password: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE staff SET password_hash = ? WHERE id = ?")
        .bind(password::hash(password))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM staff_invitations WHERE staff_id = ?")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE staff_id = ?")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The TOTP secret (base32) and the last step used, when two-factor authentication is set up.
pub async fn totp_state(
    pool: &MySqlPool,
    id: Uuid,
) -> Result<Option<(String, Option<i64>)>, sqlx::Error> {
    let row: Option<(Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT totp_secret, totp_last_step FROM staff WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(secret, step)| secret.map(|secret| (secret, step))))
}

/// Turns two-factor authentication on with this secret and these recovery codes (hashed).
pub async fn enable_totp(
    pool: &MySqlPool,
    id: Uuid,
    secret: &str,
    step: i64,
    recovery_hashes: &[String],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE staff SET totp_secret = ?, totp_last_step = ? WHERE id = ?")
        .bind(secret)
        .bind(step)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_id = ?")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    for hash in recovery_hashes {
        sqlx::query("INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(hash)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Turns two-factor authentication off (an administrator's reset for someone who lost the device).
pub async fn reset_totp(pool: &MySqlPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE staff SET totp_secret = NULL, totp_last_step = NULL WHERE id = ?")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_id = ?")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// Records the step a code was accepted at, only if it is newer: two parallel uses of the same
/// code cannot both pass.
pub async fn use_totp_step(pool: &MySqlPool, id: Uuid, step: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE staff SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
    )
    .bind(step)
    .bind(id.to_string())
    .bind(step)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Uses up a recovery code; `true` if it was one of this person's unused codes.
pub async fn use_recovery_code(
    pool: &MySqlPool,
    id: Uuid,
    code: &str,
) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_id = ? AND code_hash = ?")
            .bind(id.to_string())
            .bind(totp::hash_recovery_code(code))
            .execute(pool)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// E-mail addresses of the active URP staff (operators and managers).
pub async fn urp_emails(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT s.email FROM staff s JOIN staff_roles r ON r.staff_id = s.id
          WHERE s.organisation_id = ? AND s.active AND r.role IN ('urp_operator', 'urp_manager')
          ORDER BY s.email",
    )
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await
}
