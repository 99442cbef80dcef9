//! The organisation's settings that administrators change at run time: answer deadlines per
//! kind, the take-charge reminder and escalation periods, the patron saint's day and whether
//! staff must use two-factor authentication. `AppState::settings` keeps them for at most a
//! second (`recent`), so a change saved through one copy holds on every copy within a second
//! and pages do not read them each time; the environment only gives the defaults.

use std::collections::HashMap;

use sportello_domain::{Kind, WorkingCalendar};
use sqlx::MySqlPool;
use uuid::Uuid;

use crate::config::Config;

#[derive(Debug, Clone)]
pub struct Settings {
    pub answer_days: HashMap<Kind, u32>,
    pub reminder_days: u32,
    pub escalation_days: u32,
    pub calendar: WorkingCalendar,
    pub require_totp: bool,
    /// Days after closure within which the citizen may reopen a request.
    pub reopen_days: u32,
    /// Months after closure when a request's personal data is erased; `None`: kept.
    pub retention_months: Option<u32>,
}

impl Settings {
    pub fn answer_days_for(&self, kind: Kind) -> u32 {
        self.answer_days.get(&kind).copied().unwrap_or(30)
    }
}

/// `"MM-DD"` as (month, day), if it is a real day of the year.
pub fn parse_month_day(text: &str) -> Option<(u32, u32)> {
    let (month, day) = text.trim().split_once('-')?;
    let (month, day) = (month.parse().ok()?, day.parse().ok()?);
    chrono::NaiveDate::from_ymd_opt(2024, month, day).map(|_| (month, day))
}

pub async fn load(
    pool: &MySqlPool,
    organisation_id: Uuid,
    config: &Config,
) -> Result<Settings, sqlx::Error> {
    type Row = (
        Option<String>,
        Option<i32>,
        Option<i32>,
        bool,
        Option<i32>,
        Option<i32>,
    );
    let (patron_saint, reminder_days, escalation_days, require_totp, reopen_days, retention_months): Row =
        sqlx::query_as("SELECT patron_saint, reminder_days, escalation_days, require_totp, reopen_days, retention_months FROM organisations WHERE id = ?")
            .bind(organisation_id.to_string())
            .fetch_one(pool)
            .await?;
    let deadlines: Vec<(String, i32)> =
        sqlx::query_as("SELECT kind, days FROM answer_deadlines WHERE organisation_id = ?")
            .bind(organisation_id.to_string())
            .fetch_all(pool)
            .await?;
    let mut answer_days: HashMap<Kind, u32> = Kind::ALL
        .iter()
        .map(|kind| (*kind, config.answer_days))
        .collect();
    for (kind, days) in deadlines {
        if let Some(kind) = Kind::parse(&kind) {
            answer_days.insert(kind, days as u32);
        }
    }
    Ok(Settings {
        answer_days,
        reminder_days: reminder_days
            .map(|d| d as u32)
            .unwrap_or(config.reminder_days),
        escalation_days: escalation_days
            .map(|d| d as u32)
            .unwrap_or(config.escalation_days),
        calendar: WorkingCalendar {
            patron_saint: patron_saint.as_deref().and_then(parse_month_day),
        },
        require_totp,
        reopen_days: reopen_days.map(|d| d as u32).unwrap_or(config.reopen_days),
        retention_months: retention_months.map(|m| m as u32),
    })
}

/// Saves what the administrators' settings page sends (already validated).
pub async fn save(
    pool: &MySqlPool,
    organisation_id: Uuid,
    settings: &Settings,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let patron = settings
        .calendar
        .patron_saint
        .map(|(m, d)| format!("{m:02}-{d:02}"));
    sqlx::query("UPDATE organisations SET patron_saint = ?, reminder_days = ?, escalation_days = ?, require_totp = ?, reopen_days = ?, retention_months = ? WHERE id = ?")
        .bind(patron)
        .bind(settings.reminder_days as i32)
        .bind(settings.escalation_days as i32)
        .bind(settings.require_totp)
        .bind(settings.reopen_days as i32)
        .bind(settings.retention_months.map(|m| m as i32))
        .bind(organisation_id.to_string())
        .execute(&mut *tx)
        .await?;
    for (kind, days) in &settings.answer_days {
        sqlx::query(
            "INSERT INTO answer_deadlines (organisation_id, kind, days) VALUES (?, ?, ?)
             ON DUPLICATE KEY UPDATE days = VALUES(days)",
        )
        .bind(organisation_id.to_string())
        .bind(kind.code())
        .bind(*days as i32)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::parse_month_day;

    #[test]
    fn patron_saint_days_are_real_days() {
        assert_eq!(parse_month_day("12-07"), Some((12, 7)));
        assert_eq!(parse_month_day("02-29"), Some((2, 29)));
        assert_eq!(parse_month_day("02-30"), None);
        assert_eq!(parse_month_day("Sant'Ambrogio"), None);
    }
}
