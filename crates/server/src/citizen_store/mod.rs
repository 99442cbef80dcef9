//! Citizens' accounts: who they are (kept here, never in events, deleted on erasure), how they
//! sign in (password, OpenID Connect, or not at all for someone the front office registered),
//! and the single-use links mailed to them.

pub mod session;

pub use session::CitizenSignedIn;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sportello_projections::outbox::{self, LinkPurpose, Mail};
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

use sportello_projections::citizen_status::Owner;

/// A citizen as the pages show them.
#[derive(Debug, Clone, Serialize)]
pub struct Citizen {
    pub id: Uuid,
    pub email: Option<String>,
    pub email_verified: bool,
    pub has_password: bool,
    pub signs_in_with_oidc: bool,
    pub first_name: String,
    pub last_name: String,
    pub fiscal_code: Option<String>,
    pub phone: Option<String>,
    pub language: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, email, email_verified_at, password_hash IS NOT NULL AS has_password,
    oidc_subject IS NOT NULL AS oidc, first_name, last_name, fiscal_code, phone, language, created_at";

fn from_row(row: sqlx::mysql::MySqlRow) -> Result<Citizen, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let verified: Option<DateTime<Utc>> = row.try_get("email_verified_at")?;
    Ok(Citizen {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        email: row.try_get("email")?,
        email_verified: verified.is_some(),
        has_password: row.try_get::<i64, _>("has_password")? != 0,
        signs_in_with_oidc: row.try_get::<i64, _>("oidc")? != 0,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        fiscal_code: row.try_get("fiscal_code")?,
        phone: row.try_get("phone")?,
        language: row.try_get("language")?,
        created_at: row.try_get("created_at")?,
    })
}

pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub async fn find(pool: &MySqlPool, id: Uuid) -> Result<Option<Citizen>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM citizens WHERE id = ?"))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?
        .map(from_row)
        .transpose()
}

/// The account with this e-mail and its password hash.
pub async fn find_by_email(
    pool: &MySqlPool,
    organisation_id: Uuid,
    email: &str,
) -> Result<Option<(Citizen, Option<String>)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash FROM citizens WHERE organisation_id = ? AND email = ?"
    ))
    .bind(organisation_id.to_string())
    .bind(normalise_email(email))
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let hash: Option<String> = row.try_get("password_hash")?;
    Ok(Some((from_row(row)?, hash)))
}

/// What registering an e-mail address led to (the page says the same in every case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A new account, or an unverified one taken over by whoever proves the address.
    NeedsVerification(Uuid),
    /// The address belongs to a verified account already: its owner is told so.
    AlreadyKnown(Uuid),
}

pub struct NewCitizen<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: Option<&'a str>,
    pub password_hash: Option<String>,
    pub fiscal_code: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub created_by: Option<Uuid>,
    pub language: sportello_domain::Language,
}

pub async fn register(
    pool: &MySqlPool,
    organisation_id: Uuid,
    new: NewCitizen<'_>,
    now: DateTime<Utc>,
) -> Result<Registered, sqlx::Error> {
    // Two first registrations of one address at once: the loser finds the winner's account.
    // (No password is ever set here: it is chosen on the confirmation link's page.)
    let once = || {
        sportello_projections::retry("registration", || {
            register_once(pool, organisation_id, &new, now)
        })
    };
    match once().await {
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => once().await,
        outcome => outcome,
    }
}

async fn register_once(
    pool: &MySqlPool,
    organisation_id: Uuid,
    new: &NewCitizen<'_>,
    now: DateTime<Utc>,
) -> Result<Registered, sqlx::Error> {
    let email = new.email.map(normalise_email).unwrap_or_default();
    let mut tx = pool.begin().await?;
    let existing: Option<(String, Option<DateTime<Utc>>, Option<String>)> = sqlx::query_as(
        "SELECT id, email_verified_at, password_hash FROM citizens
          WHERE organisation_id = ? AND email = ? FOR UPDATE",
    )
    .bind(organisation_id.to_string())
    .bind(&email)
    .fetch_optional(&mut *tx)
    .await?;
    let outcome = match existing {
        // Unverified, or registered at the counter without a password: whoever proves the
        // address through the link sent now chooses the password on its page.
        Some((id, None, _)) | Some((id, _, None)) => {
            Registered::NeedsVerification(Uuid::parse_str(&id).unwrap_or_default())
        }
        Some((id, Some(_), Some(_))) => {
            Registered::AlreadyKnown(Uuid::parse_str(&id).unwrap_or_default())
        }
        None => {
            let without_password = NewCitizen {
                password_hash: None,
                ..*new
            };
            Registered::NeedsVerification(
                insert(&mut tx, organisation_id, &without_password, now).await?,
            )
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// A new account (front office, OpenID Connect, or the first step of a registration).
pub async fn insert(
    conn: &mut sqlx::MySqlConnection,
    organisation_id: Uuid,
    new: &NewCitizen<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO citizens (id, organisation_id, email, password_hash, first_name, last_name,
             fiscal_code, phone, created_at, created_by, language)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(organisation_id.to_string())
    .bind(new.email.map(normalise_email).filter(|e| !e.is_empty()))
    .bind(&new.password_hash)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(
        new.fiscal_code
            .map(|c| c.trim().to_uppercase())
            .filter(|c| !c.is_empty()),
    )
    .bind(new.phone.map(str::trim).filter(|p| !p.is_empty()))
    .bind(now)
    .bind(new.created_by.map(|id| id.to_string()))
    .bind(new.language.code())
    .execute(conn)
    .await?;
    Ok(id)
}

/// The e-mail address is proven.
pub async fn mark_verified(
    pool: &MySqlPool,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE citizens SET email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?",
    )
    .bind(now)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn set_names(
    pool: &MySqlPool,
    id: Uuid,
    first: &str,
    last: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE citizens SET first_name = ?, last_name = ? WHERE id = ?")
        .bind(first)
        .bind(last)
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// Every link still unused for this account stops working (after a password or address change).
pub async fn void_links(pool: &MySqlPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM citizen_tokens WHERE citizen_id = ? AND used_at IS NULL")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn set_password(pool: &MySqlPool, id: Uuid, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE citizens SET password_hash = ? WHERE id = ?")
        .bind(hash)
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn password_hash(pool: &MySqlPool, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let hash: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM citizens WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
    Ok(hash.flatten())
}

/// Moves the account to a proven new address; `false` when another account has it. A
/// registration of that address that was never confirmed (nobody proved it, nothing was filed
/// with it) gives way to the person who just proved it.
pub async fn change_email(
    pool: &MySqlPool,
    id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let email = normalise_email(email);
    sportello_projections::retry("e-mail change", || change_email_once(pool, id, &email, now)).await
}

async fn change_email_once(
    pool: &MySqlPool,
    id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let organisation: Option<String> =
        sqlx::query_scalar("SELECT organisation_id FROM citizens WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    let Some(organisation) = organisation else {
        return Ok(false);
    };
    let squatter: Option<String> = sqlx::query_scalar(
        "SELECT id FROM citizens WHERE organisation_id = ? AND email = ? AND id <> ?
            AND email_verified_at IS NULL AND created_by IS NULL AND oidc_subject IS NULL FOR UPDATE",
    )
    .bind(&organisation)
    .bind(email)
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(squatter) = squatter {
        for statement in [
            "DELETE FROM citizen_tokens WHERE citizen_id = ?",
            "DELETE FROM citizens WHERE id = ?",
        ] {
            sqlx::query(statement)
                .bind(&squatter)
                .execute(&mut *tx)
                .await?;
        }
    }
    let result =
        sqlx::query("UPDATE IGNORE citizens SET email = ?, email_verified_at = ? WHERE id = ?")
            .bind(email)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(result.rows_affected() == 1)
}

/// Whose requests "my area" shows: the account's own, and those filed as a guest with the
/// verified address (found by its blind index).
pub async fn owner(pool: &MySqlPool, citizen: &Citizen) -> Result<Owner, sqlx::Error> {
    let email_index = match (&citizen.email, citizen.email_verified) {
        (Some(email), true) => {
            let secret: Option<String> =
                sqlx::query_scalar("SELECT value FROM settings WHERE name = 'email_index_secret'")
                    .fetch_optional(pool)
                    .await?;
            secret.map(|secret| {
                sportello_projections::personal::email_index_with(secret.as_bytes(), email)
            })
        }
        _ => None,
    };
    Ok(Owner {
        citizen_id: citizen.id.to_string(),
        email_index,
    })
}

/// Citizens matching what the front office typed: an e-mail, a fiscal code or a phone number
/// exactly, or the start of a surname (optionally followed by the start of a first name).
pub async fn search(
    pool: &MySqlPool,
    organisation_id: Uuid,
    query: &str,
) -> Result<Vec<Citizen>, sqlx::Error> {
    let query = query.trim();
    if query.chars().count() < 3 {
        return Ok(Vec::new());
    }
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let mut words = escaped.split_whitespace();
    let surname = format!("{}%", words.next().unwrap_or_default());
    let first = format!("{}%", words.collect::<Vec<_>>().join(" "));
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM citizens WHERE organisation_id = ? AND email = ?
         UNION SELECT {COLUMNS} FROM citizens WHERE organisation_id = ? AND fiscal_code = ?
         UNION SELECT {COLUMNS} FROM citizens WHERE organisation_id = ? AND phone = ?
         UNION SELECT {COLUMNS} FROM citizens
                WHERE organisation_id = ? AND last_name LIKE ? AND first_name LIKE ?
         ORDER BY last_name, first_name LIMIT 50"
    ))
    .bind(organisation_id.to_string())
    .bind(normalise_email(query))
    .bind(organisation_id.to_string())
    .bind(query.to_uppercase())
    .bind(organisation_id.to_string())
    .bind(query)
    .bind(organisation_id.to_string())
    .bind(&surname)
    .bind(&first)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Why a link was mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
    EmailChange,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::EmailChange => "email_change",
        }
    }

    /// How long a link stays usable.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Reset => Duration::hours(1),
            Purpose::Verify | Purpose::EmailChange => Duration::hours(48),
        }
    }

    /// The link's mail.
    pub fn mail(self) -> LinkPurpose {
        match self {
            Purpose::Verify => LinkPurpose::Verify,
            Purpose::Reset => LinkPurpose::Reset,
            Purpose::EmailChange => LinkPurpose::NewEmail,
        }
    }
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a link (ending any earlier unused one for the same purpose) and queues its e-mail;
/// the clear token lives only in the outbox row until the mail is dealt with.
pub async fn send_link(
    pool: &MySqlPool,
    citizen_id: Uuid,
    purpose: Purpose,
    new_email: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let token = crate::web::csrf::new_nonce();
    sportello_projections::retry("account link", || {
        send_link_once(pool, citizen_id, purpose, new_email, &token, now)
    })
    .await
}

async fn send_link_once(
    pool: &MySqlPool,
    citizen_id: Uuid,
    purpose: Purpose,
    new_email: Option<&str>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "DELETE FROM citizen_tokens WHERE citizen_id = ? AND purpose = ? AND used_at IS NULL",
    )
    .bind(citizen_id.to_string())
    .bind(purpose.code())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO citizen_tokens (token_hash, citizen_id, purpose, new_email, expires_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash(token))
    .bind(citizen_id.to_string())
    .bind(purpose.code())
    .bind(new_email.map(normalise_email))
    .bind(now + purpose.lifetime())
    .execute(&mut *tx)
    .await?;
    let mail = Mail::CitizenLink {
        citizen: citizen_id,
        purpose: purpose.mail(),
        token: token.to_string(),
    };
    outbox::queue(&mut tx, &mail, now).await?;
    tx.commit().await
}

/// A live link: whose, and the new address it proves (for an e-mail change).
#[derive(Debug, Clone)]
pub struct Link {
    pub citizen_id: Uuid,
    pub new_email: Option<String>,
}

/// The link behind a token, if it is unused and unexpired (without using it).
pub async fn peek(
    pool: &MySqlPool,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<Link>, sqlx::Error> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT citizen_id, new_email FROM citizen_tokens
          WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?",
    )
    .bind(token_hash(token))
    .bind(purpose.code())
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, new_email)| Link {
        citizen_id: Uuid::parse_str(&id).unwrap_or_default(),
        new_email,
    }))
}

/// Uses a link once: of two parallel uses, one wins.
pub async fn consume(
    pool: &MySqlPool,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<Link>, sqlx::Error> {
    let Some(link) = peek(pool, token, purpose, now).await? else {
        return Ok(None);
    };
    let used = sqlx::query(
        "UPDATE citizen_tokens SET used_at = ?
          WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
    )
    .bind(now)
    .bind(token_hash(token))
    .bind(now)
    .execute(pool)
    .await?;
    Ok((used.rows_affected() == 1).then_some(link))
}

/// The address a queued link goes to: the new one for an e-mail change.
pub async fn link_address(pool: &MySqlPool, token: &str) -> Result<Option<String>, sqlx::Error> {
    let address: Option<Option<String>> =
        sqlx::query_scalar("SELECT new_email FROM citizen_tokens WHERE token_hash = ?")
            .bind(token_hash(token))
            .fetch_optional(pool)
            .await?;
    Ok(address.flatten())
}
