//! The Comune's directory: departments (with their referents) and the other bodies citizens are
//! redirected to, and the canned answers. Configuration, not events: administrators edit it;
//! requests refer to its ids.

pub mod canned;

mod topics;

pub use topics::{
    active_topic_codes, active_topics, all_topics, save_topic, topic_choices, topic_name, Topic,
    TopicSetting,
};

use std::collections::HashMap;

use serde::Serialize;
use sqlx::MySqlPool;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Department {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub head_name: Option<String>,
    pub head_email: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExternalBody {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub name: String,
    pub handles: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub website: String,
    pub hours: String,
    pub active: bool,
}

/// Every department of the organisation, by name.
pub async fn departments(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<Department>, sqlx::Error> {
    let sql = "SELECT id, name, email, head_name, head_email, active FROM departments
                WHERE organisation_id = ? ORDER BY name";
    listed(pool, sql, organisation_id).await
}

/// The rows of `sql`, whose one parameter is the organisation.
async fn listed<T>(
    pool: &MySqlPool,
    sql: &str,
    organisation_id: Uuid,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::mysql::MySqlRow> + Send + Unpin,
{
    sqlx::query_as(sql)
        .bind(organisation_id.to_string())
        .fetch_all(pool)
        .await
}

/// Department names by id, for timelines and lists.
pub async fn department_names(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<HashMap<Uuid, String>, sqlx::Error> {
    Ok(departments(pool, organisation_id)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect())
}

/// Every other body of the organisation's network, by name.
pub async fn external_bodies(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<ExternalBody>, sqlx::Error> {
    let sql = "SELECT id, name, handles, address, phone, email, website, hours, active
                 FROM external_bodies WHERE organisation_id = ? ORDER BY name";
    listed(pool, sql, organisation_id).await
}

/// Adds a department (administrators' page and command line); returns its id.
pub async fn add_department(
    pool: &MySqlPool,
    organisation_id: Uuid,
    name: &str,
    email: &str,
    head: Option<(&str, &str)>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO departments (id, organisation_id, name, email, head_name, head_email) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(organisation_id.to_string())
    .bind(name.trim())
    .bind(email.trim())
    .bind(head.map(|(name, _)| name))
    .bind(head.map(|(_, email)| email))
    .execute(pool)
    .await?;
    Ok(id)
}

/// The department with this id or name.
pub async fn find_department(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id_or_name: &str,
) -> Result<Option<Department>, sqlx::Error> {
    Ok(departments(pool, organisation_id)
        .await?
        .into_iter()
        .find(|d| d.id.to_string() == id_or_name || d.name.eq_ignore_ascii_case(id_or_name.trim())))
}

/// Adds another body citizens can be redirected to; returns its id.
pub async fn add_external_body(
    pool: &MySqlPool,
    organisation_id: Uuid,
    body: &ExternalBody,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO external_bodies (id, organisation_id, name, handles, address, phone, email, website, hours)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(organisation_id.to_string())
    .bind(&body.name)
    .bind(&body.handles)
    .bind(&body.address)
    .bind(&body.phone)
    .bind(&body.email)
    .bind(&body.website)
    .bind(&body.hours)
    .execute(pool)
    .await?;
    Ok(id)
}

/// Updates a department of the organisation (administrators' page).
pub async fn update_department(
    pool: &MySqlPool,
    organisation_id: Uuid,
    department: &Department,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE departments SET name = ?, email = ?, head_name = ?, head_email = ?, active = ?
          WHERE id = ? AND organisation_id = ?",
    )
    .bind(&department.name)
    .bind(&department.email)
    .bind(&department.head_name)
    .bind(&department.head_email)
    .bind(department.active)
    .bind(department.id.to_string())
    .bind(organisation_id.to_string())
    .execute(pool)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Updates another body of the organisation (administrators' page).
pub async fn update_external_body(
    pool: &MySqlPool,
    organisation_id: Uuid,
    body: &ExternalBody,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE external_bodies SET name = ?, handles = ?, address = ?, phone = ?, email = ?, website = ?,
                hours = ?, active = ? WHERE id = ? AND organisation_id = ?",
    )
    .bind(&body.name)
    .bind(&body.handles)
    .bind(&body.address)
    .bind(&body.phone)
    .bind(&body.email)
    .bind(&body.website)
    .bind(&body.hours)
    .bind(body.active)
    .bind(body.id.to_string())
    .bind(organisation_id.to_string())
    .execute(pool)
    .await?;
    Ok(result.rows_affected() > 0)
}
