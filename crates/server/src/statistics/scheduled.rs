//! Monthly reports by e-mail: on the chosen working day of each month (the first, unless
//! administrators say otherwise), last month's "L'URP in cifre" (PDF and XLSX attached) to the
//! URP managers and the extra recipients, and each department's own report to its referents and
//! head. Every server copy runs the check; a row in `report_runs`, inserted in the transaction
//! that queues the mail in the outbox, makes each report go out exactly once, and a copy that
//! was down catches up on its first run later in the month.

use chrono::{Datelike, Days, NaiveDate};
use sportello_domain::{rome_date, Language, WorkingCalendar};
use sportello_projections::outbox::{self, Audience, Mail};
use sqlx::MySqlPool;
use uuid::Uuid;

use super::dashboard::{figures_for, report_files};
use super::figures::Scope;
use super::period::Period;
use super::report::{self, Cell};
use crate::mail::Plan;
use crate::state::AppState;
use crate::web::i18n;

#[derive(Debug, Clone, PartialEq)]
pub struct ReportSettings {
    pub urp: bool,
    pub departments: bool,
    /// The working day of the month the reports go out on (1 = the first).
    pub working_day: u32,
    /// Addresses that receive the URP's report besides the managers.
    pub recipients: Vec<String>,
}

pub async fn load(pool: &MySqlPool, organisation_id: Uuid) -> Result<ReportSettings, sqlx::Error> {
    let (urp, departments, working_day, recipients): (bool, bool, i32, String) = sqlx::query_as(
        "SELECT reports_enabled, department_reports, report_working_day, report_recipients
           FROM organisations WHERE id = ?",
    )
    .bind(organisation_id.to_string())
    .fetch_one(pool)
    .await?;
    Ok(ReportSettings {
        urp,
        departments,
        working_day: working_day.clamp(1, 10) as u32,
        recipients: recipients
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

pub async fn save(
    pool: &MySqlPool,
    organisation_id: Uuid,
    settings: &ReportSettings,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE organisations SET reports_enabled = ?, department_reports = ?, report_working_day = ?,
                report_recipients = ? WHERE id = ?",
    )
    .bind(settings.urp)
    .bind(settings.departments)
    .bind(settings.working_day as i32)
    .bind(settings.recipients.join(", "))
    .bind(organisation_id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// The `n`-th working day of the month of `day`.
pub fn working_day_of_month(day: NaiveDate, n: u32, calendar: &WorkingCalendar) -> NaiveDate {
    let mut date = day.with_day(1).expect("first of the month");
    let mut seen = 0;
    loop {
        if calendar.is_working_day(date) {
            seen += 1;
            if seen >= n {
                return date;
            }
        }
        let next = date + Days::new(1);
        if next.month() != date.month() {
            return date;
        }
        date = next;
    }
}

/// Queues the reports due now that were not queued yet; returns how many it queued.
pub async fn run(app: &AppState) -> anyhow::Result<usize> {
    let settings = load(&app.pool, app.organisation_id).await?;
    if !settings.urp && !settings.departments {
        return Ok(0);
    }
    let now = app.clock.now();
    let today = rome_date(now);
    let calendar = app.settings().await?.calendar;
    if today < working_day_of_month(today, settings.working_day, &calendar) {
        return Ok(0);
    }
    let month = Period::month_of(today)
        .previous()
        .from
        .format("%Y-%m")
        .to_string();
    let mut audiences = Vec::new();
    if settings.urp {
        audiences.push(Audience::Urp);
    }
    if settings.departments {
        for department in crate::directory::departments(&app.pool, app.organisation_id).await? {
            if department.active {
                audiences.push(Audience::Department(department.id));
            }
        }
    }
    let mut queued = 0;
    for audience in audiences {
        let claimed = sportello_projections::retry("monthly report", || {
            queue_report(app, &month, audience, now)
        })
        .await?;
        queued += usize::from(claimed);
    }
    if queued > 0 {
        tracing::info!(month, queued, "monthly reports queued");
        app.mail_queued.notify_waiters();
    }
    Ok(queued)
}

/// Claims the month's report for one audience and queues its mail, in one transaction;
/// `false` when another copy or an earlier check already did.
async fn queue_report(
    app: &AppState,
    month: &str,
    audience: Audience,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    let claimed = sqlx::query(
        "INSERT IGNORE INTO report_runs (organisation_id, month, audience, queued_at) VALUES (?, ?, ?, ?)",
    )
    .bind(app.organisation_id.to_string())
    .bind(month)
    .bind(audience.code())
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        let mail = Mail::MonthlyReport {
            month: month.to_string(),
            audience,
        };
        outbox::queue(&mut tx, &mail, now).await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// The report's mail for `month` ("YYYY-MM") and `audience`, built when the outbox sends it.
pub(crate) async fn plan(app: &AppState, month: &str, audience: Audience) -> anyhow::Result<Plan> {
    let Ok(first) = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d") else {
        return Ok(Plan::Close("skipped"));
    };
    let period = Period::month_of(first);
    let language = Language::It;
    let t = |key: &str, args: &[(&str, &str)]| i18n::text(language, key, args);
    let month_name = format!(
        "{} {}",
        t(&format!("month.{}", first.month()), &[]),
        first.year()
    );
    let mut scope = Scope {
        organisation_id: app.organisation_id.to_string(),
        ..Scope::default()
    };
    let (to, subject, lead) = if let Audience::Department(id) = audience {
        let Some(department) =
            crate::directory::find_department(&app.pool, app.organisation_id, &id.to_string())
                .await?
        else {
            return Ok(Plan::Close("skipped"));
        };
        scope.departments = Some(vec![id.to_string()]);
        let mut to = crate::staff::referent_emails(&app.pool, id).await?;
        to.extend(department.head_email.clone());
        (
            to,
            t("mail.report.department_subject", &[("month", &month_name)]),
            t(
                "mail.report.department",
                &[("month", &month_name), ("department", &department.name)],
            ),
        )
    } else {
        let settings = load(&app.pool, app.organisation_id).await?;
        let mut to = manager_emails(&app.pool, app.organisation_id).await?;
        to.extend(settings.recipients);
        (
            to,
            t("mail.report.subject", &[("month", &month_name)]),
            t("mail.report.urp", &[("month", &month_name)]),
        )
    };
    let mut to: Vec<String> = to
        .into_iter()
        .filter(|a| a.parse::<lettre::Address>().is_ok())
        .collect();
    to.sort();
    to.dedup();
    if to.is_empty() {
        return Ok(Plan::Close("no_recipients"));
    }
    let computed = figures_for(app, language, &scope, period).await?;
    let (pdf, xlsx) = report_files(app, &computed);
    let summary = report::summary(&computed.current, &computed.previous, &computed.names);
    let mut details: Vec<(String, String)> = summary
        .rows
        .iter()
        .take(5)
        .filter_map(|row| match (&row[0], &row[1]) {
            (Cell::Text(label), value) => Some((label.clone(), report::shown(value, language))),
            _ => None,
        })
        .collect();
    // The URP's report carries the log's latest signed checkpoint, for whoever keeps it.
    let checkpoint = match audience {
        Audience::Urp => crate::event_store::checkpoint::latest(&app.pool, 1)
            .await?
            .pop(),
        Audience::Department(_) => None,
    };
    if let Some(checkpoint) = &checkpoint {
        details.push((
            t(
                "mail.report.checkpoint",
                &[("day", &checkpoint.day.to_string())],
            ),
            t(
                "mail.report.checkpoint_value",
                &[
                    ("size", &checkpoint.size.to_string()),
                    ("head", &checkpoint.head),
                ],
            ),
        ));
    }
    let link = format!(
        "{}/ufficio/statistiche?dal={}&al={}",
        app.config.public_url, period.from, period.to
    );
    let mut files = vec![
        (
            format!("urp-in-cifre-{month}.pdf"),
            "application/pdf".to_string(),
            pdf,
        ),
        (
            format!("urp-in-cifre-{month}.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            xlsx,
        ),
    ];
    if let Some(checkpoint) = &checkpoint {
        files.push((
            format!("registro-{}.json", checkpoint.day),
            "application/json".to_string(),
            serde_json::to_vec_pretty(checkpoint)?,
        ));
    }
    let message = crate::mail::notices::office_mail(
        app,
        &subject,
        &to,
        vec![lead],
        details,
        Some((link, t("mail.report.open", &[]))),
        files,
    )?;
    Ok(Plan::Send(message))
}

/// The active URP managers' addresses.
async fn manager_emails(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT s.email FROM staff s JOIN staff_roles r ON r.staff_id = s.id
          WHERE s.organisation_id = ? AND s.active AND r.role = 'urp_manager' ORDER BY s.email",
    )
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_first_working_day_skips_weekends_and_holidays() {
        let calendar = WorkingCalendar::default();
        // 1 March 2026 is a Sunday; 1 January is a holiday and the 2nd a Friday.
        assert_eq!(
            working_day_of_month(d("2026-03-20"), 1, &calendar),
            d("2026-03-02")
        );
        assert_eq!(
            working_day_of_month(d("2026-01-15"), 1, &calendar),
            d("2026-01-02")
        );
        // The third working day of January 2026: 2, (6 is Epiphany) 5, 7.
        assert_eq!(
            working_day_of_month(d("2026-01-15"), 3, &calendar),
            d("2026-01-07")
        );
        let patron = WorkingCalendar {
            patron_saint: Some((6, 1)),
        };
        // 1 June 2026 is a Monday, but the patron saint's day here; 2 June is a holiday.
        assert_eq!(
            working_day_of_month(d("2026-06-10"), 1, &patron),
            d("2026-06-03")
        );
    }
}
