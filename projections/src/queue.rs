//! The operators' queue: every request with the columns the inbox filters and sorts on, kept
//! by a checkpointed processor and rebuilt by `sportello projections rebuild queue`.

use async_trait::async_trait;
use sportello_domain::RequestEvent;
use sqlx::MySqlConnection;

use crate::{personal, Projection, ProjectionError, StoredEvent};

pub struct Queue;

pub const NAME: &str = "queue";

#[async_trait]
impl Projection for Queue {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn apply(
        &self,
        conn: &mut MySqlConnection,
        stored: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let before = dimensions(conn, &stored.aggregate_id).await?;
        apply_event(conn, stored).await?;
        let after = dimensions(conn, &stored.aggregate_id).await?;
        if before != after {
            if let Some(before) = before {
                count(conn, &before, -1).await?;
            }
            if let Some(after) = after {
                count(conn, &after, 1).await?;
            }
        }
        Ok(())
    }

    async fn clear(&self, conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
        sqlx::query("DELETE FROM queue_requests")
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM queue_counts")
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// What a request is counted under: organisation, status, kind, topic, channel, department.
type Dimensions = (String, String, String, String, String, String);

async fn dimensions(
    conn: &mut MySqlConnection,
    id: &str,
) -> Result<Option<Dimensions>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT organisation_id, status, kind, topic_code, channel, COALESCE(department_id, '')
           FROM queue_requests WHERE aggregate_id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

async fn count(
    conn: &mut MySqlConnection,
    d: &Dimensions,
    delta: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO queue_counts (organisation_id, status, kind, topic_code, channel, department_id, n)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
    )
    .bind(&d.0)
    .bind(&d.1)
    .bind(&d.2)
    .bind(&d.3)
    .bind(&d.4)
    .bind(&d.5)
    .bind(delta)
    .execute(conn)
    .await?;
    Ok(())
}

/// Applies one event to the request's row.
async fn apply_event(
    conn: &mut MySqlConnection,
    stored: &StoredEvent,
) -> Result<(), ProjectionError> {
    use RequestEvent as E;
    let id = stored.aggregate_id.as_str();
    match &stored.event {
        E::RequestReceived {
            organisation_id,
            reference,
            kind,
            topic,
            channel,
            language,
            personal,
            received_at,
            answer_due,
            ..
        } => {
            // A broken seal must not stop the queue: the request is listed without its text.
            let opened = personal::open_in(conn, personal).await.ok().flatten();
            let name = opened.as_ref().map(|p| format!("{} {}", p.first_name, p.last_name));
            sqlx::query(
                "INSERT INTO queue_requests (aggregate_id, organisation_id, reference, kind, topic_code,
                     channel, language, status, received_at, answer_due, subject, citizen_name, citizen_email)
                 VALUES (?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(organisation_id.to_string())
            .bind(reference.to_string())
            .bind(kind.code())
            .bind(topic)
            .bind(channel.code())
            .bind(language.code())
            .bind(received_at)
            .bind(answer_due)
            .bind(opened.as_ref().map(|p| p.subject.as_str()))
            .bind(name)
            .bind(opened.as_ref().map(|p| p.email.as_str()))
            .execute(&mut *conn)
            .await?;
        }
        E::RequestAcknowledged { .. } => update(conn, id, "ack_failed = FALSE").await?,
        E::AcknowledgementFailed { .. } => update(conn, id, "ack_failed = TRUE").await?,
        E::RequestTakenIntoEvaluation { .. } => update(conn, id, "status = 'in_evaluation'").await?,
        E::InformationRequested { .. } => {
            update(conn, id, "status_before_wait = IF(status = 'taken_in_charge', status, 'in_evaluation'), status = 'waiting_for_citizen'").await?
        }
        E::CitizenReplied { answer_due, .. } => {
            sqlx::query(
                "UPDATE queue_requests
                    SET status = IF(status = 'waiting_for_citizen', COALESCE(status_before_wait, 'in_evaluation'), status),
                        status_before_wait = NULL, answer_due = ?
                  WHERE aggregate_id = ?",
            )
            .bind(answer_due)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestRedirected { .. } | E::InternalNoteAdded { .. } | E::RequestRated { .. } => {}
        E::PersonalDataErased { at, .. } => {
            sqlx::query(
                "UPDATE queue_requests SET subject = NULL, citizen_name = NULL, citizen_email = NULL,
                        erased_at = ? WHERE aggregate_id = ?",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestForwarded { at, department, .. } => {
            sqlx::query(
                "UPDATE queue_requests SET status = 'forwarded', department_id = ?, forwarded_at = ?,
                        taken_by = NULL, taken_in_charge_at = NULL, reminders = 0,
                        last_reminder_level = NULL, last_reminded_at = NULL
                  WHERE aggregate_id = ?",
            )
            .bind(department.to_string())
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestTakenInCharge { by, at, .. } => {
            sqlx::query(
                "UPDATE queue_requests SET status = 'taken_in_charge', taken_by = ?, taken_in_charge_at = ?
                  WHERE aggregate_id = ?",
            )
            .bind(by.to_string())
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestHandedBack { .. } => {
            update(conn, id, "status = 'in_evaluation', department_id = NULL, taken_by = NULL, forwarded_at = NULL")
                .await?
        }
        E::RequestAnswered { at, .. } => {
            sqlx::query("UPDATE queue_requests SET status = 'answered', answered_at = ? WHERE aggregate_id = ?")
                .bind(at)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        E::RequestClosed { at, outcome, .. } => {
            sqlx::query(
                "UPDATE queue_requests SET status = 'closed', closed_at = ?, outcome = ?, status_before_wait = NULL
                  WHERE aggregate_id = ?",
            )
            .bind(at)
            .bind(outcome.code())
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestReopened { .. } => update(
            conn,
            id,
            "status = 'in_evaluation', closed_at = NULL, outcome = NULL, department_id = NULL, taken_by = NULL, forwarded_at = NULL",
        )
        .await?,
        E::RequestReminded { at, level, .. } => {
            sqlx::query(
                "UPDATE queue_requests SET reminders = reminders + 1, last_reminder_level = ?, last_reminded_at = ?
                  WHERE aggregate_id = ?",
            )
            .bind(level.code())
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// `UPDATE queue_requests SET {assignments} WHERE aggregate_id = ?` for fixed assignments.
async fn update(
    conn: &mut MySqlConnection,
    id: &str,
    assignments: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(&format!(
        "UPDATE queue_requests SET {assignments} WHERE aggregate_id = ?"
    ))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// What the inbox shows, as chosen by the operator. Every filter maps to an indexed column.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub organisation_id: String,
    /// `Some` restricts to these departments (referents); `None` sees everything.
    pub departments: Option<Vec<String>>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub topic: Option<String>,
    pub department: Option<String>,
    pub channel: Option<String>,
    pub received_from: Option<chrono::NaiveDate>,
    pub received_to: Option<chrono::NaiveDate>,
    /// Past the answer deadline and not answered (`today` is Rome's date).
    pub overdue_on: Option<chrono::NaiveDate>,
    /// Forwarded before this instant and not taken in charge.
    pub waiting_since: Option<chrono::DateTime<chrono::Utc>>,
    pub taken_by: Option<String>,
    pub text: Option<String>,
    pub sort: InboxSort,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InboxSort {
    #[default]
    Newest,
    Oldest,
    DueFirst,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InboxRow {
    pub aggregate_id: String,
    pub reference: String,
    pub kind: String,
    pub topic_code: String,
    pub channel: String,
    pub status: String,
    pub department_id: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub answer_due: chrono::NaiveDate,
    pub forwarded_at: Option<chrono::DateTime<chrono::Utc>>,
    pub reminders: i32,
    pub ack_failed: bool,
    pub subject: Option<String>,
    pub citizen_name: Option<String>,
}

pub struct Inbox {
    pub rows: Vec<InboxRow>,
    pub total: i64,
    /// Requests per status under the same filters (except the status itself).
    pub counts: Vec<(String, i64)>,
}

fn push_filters<'a>(
    query: &mut sqlx::QueryBuilder<'a, sqlx::MySql>,
    filter: &'a InboxFilter,
    with_status: bool,
) {
    query
        .push(" WHERE organisation_id = ")
        .push_bind(&filter.organisation_id);
    crate::sql::push_departments(query, &filter.departments);
    if let (true, Some(status)) = (with_status, &filter.status) {
        query.push(" AND status = ").push_bind(status);
    }
    crate::sql::push_equal(
        query,
        &[
            ("kind", &filter.kind),
            ("topic_code", &filter.topic),
            ("department_id", &filter.department),
            ("channel", &filter.channel),
            ("taken_by", &filter.taken_by),
        ],
    );
    if let Some(from) = filter.received_from {
        query
            .push(" AND received_at >= ")
            .push_bind(sportello_domain::rome_midnight(from));
    }
    if let Some(to) = filter.received_to {
        query
            .push(" AND received_at < ")
            .push_bind(sportello_domain::rome_midnight(to + chrono::Days::new(1)));
    }
    if let Some(today) = filter.overdue_on {
        query
            .push(" AND answer_due < ")
            .push_bind(today)
            .push(" AND status NOT IN ('answered', 'closed', 'waiting_for_citizen')");
    }
    if let Some(since) = filter.waiting_since {
        query
            .push(" AND status = 'forwarded' AND forwarded_at < ")
            .push_bind(since);
    }
    if let Some(text) = &filter.text {
        // A reference is looked up exactly; anything else searches subject and citizen.
        if sportello_domain::Reference::from_str_loose(text).is_some() {
            query.push(" AND reference = ").push_bind(text.trim());
        } else {
            let words: String = text
                .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.')
                .filter(|word| word.chars().count() >= 2)
                .map(|word| format!("+{word}*"))
                .collect::<Vec<_>>()
                .join(" ");
            query
                .push(" AND MATCH (subject, citizen_name, citizen_email) AGAINST (")
                .push_bind(words)
                .push(" IN BOOLEAN MODE)");
        }
    }
}

/// Requests per status under the filter (its status aside). Filters on the counted dimensions
/// sum the few rows of `queue_counts`; dates, deadlines and text count the requests themselves.
async fn counts_per_status(
    pool: &sqlx::MySqlPool,
    filter: &InboxFilter,
) -> Result<Vec<(String, i64)>, ProjectionError> {
    let counted_dimensions_only = filter.received_from.is_none()
        && filter.received_to.is_none()
        && filter.overdue_on.is_none()
        && filter.waiting_since.is_none()
        && filter.taken_by.is_none()
        && filter.text.is_none();
    if !counted_dimensions_only {
        let mut counting =
            sqlx::QueryBuilder::new("SELECT status, COUNT(*) AS n FROM queue_requests");
        push_filters(&mut counting, filter, false);
        counting.push(" GROUP BY status");
        return Ok(counting.build_query_as().fetch_all(pool).await?);
    }
    let mut counting = sqlx::QueryBuilder::new(
        "SELECT status, CAST(SUM(n) AS SIGNED) AS n FROM queue_counts WHERE organisation_id = ",
    );
    counting.push_bind(&filter.organisation_id);
    crate::sql::push_departments(&mut counting, &filter.departments);
    crate::sql::push_equal(
        &mut counting,
        &[
            ("kind", &filter.kind),
            ("topic_code", &filter.topic),
            ("department_id", &filter.department),
            ("channel", &filter.channel),
        ],
    );
    counting.push(" GROUP BY status HAVING n > 0");
    Ok(counting.build_query_as().fetch_all(pool).await?)
}

/// One page of the inbox, the total and the counts per status.
pub async fn inbox(pool: &sqlx::MySqlPool, filter: &InboxFilter) -> Result<Inbox, ProjectionError> {
    let mut query = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM queue_requests"));
    push_filters(&mut query, filter, true);
    query.push(match filter.sort {
        // The tie-breaker is the primary key in the same direction: secondary indexes end with
        // it, so the index on (organisation, received_at) serves the whole ORDER BY without a
        // sort (a mixed direction made MariaDB sort every matching row).
        InboxSort::Newest => " ORDER BY received_at DESC, aggregate_id DESC",
        InboxSort::Oldest => " ORDER BY received_at ASC, aggregate_id ASC",
        InboxSort::DueFirst => " ORDER BY answer_due ASC, aggregate_id ASC",
    });
    let per_page = filter.per_page.clamp(1, 200);
    query
        .push(" LIMIT ")
        .push_bind(per_page)
        .push(" OFFSET ")
        .push_bind(filter.page.saturating_sub(1) * per_page);
    let rows = query
        .build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(inbox_row)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let counts = counts_per_status(pool, filter).await?;
    let total = match &filter.status {
        Some(status) => counts
            .iter()
            .filter(|(s, _)| s == status)
            .map(|(_, n)| n)
            .sum(),
        None => counts.iter().map(|(_, n)| n).sum(),
    };
    Ok(Inbox {
        rows,
        total,
        counts,
    })
}

const COLUMNS: &str = "aggregate_id, reference, kind, topic_code, channel, status, department_id,
    received_at, answer_due, forwarded_at, reminders, ack_failed, subject, citizen_name";

fn inbox_row(row: &sqlx::mysql::MySqlRow) -> Result<InboxRow, sqlx::Error> {
    use sqlx::Row;
    Ok(InboxRow {
        aggregate_id: row.try_get("aggregate_id")?,
        reference: row.try_get("reference")?,
        kind: row.try_get("kind")?,
        topic_code: row.try_get("topic_code")?,
        channel: row.try_get("channel")?,
        status: row.try_get("status")?,
        department_id: row.try_get("department_id")?,
        received_at: row.try_get("received_at")?,
        answer_due: row.try_get("answer_due")?,
        forwarded_at: row.try_get("forwarded_at")?,
        reminders: row.try_get("reminders")?,
        ack_failed: row.try_get("ack_failed")?,
        subject: row.try_get("subject")?,
        citizen_name: row.try_get("citizen_name")?,
    })
}

/// One request of the queue, for the request page and its access check.
pub async fn request(
    pool: &sqlx::MySqlPool,
    aggregate_id: &str,
) -> Result<Option<InboxRow>, ProjectionError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM queue_requests WHERE aggregate_id = ?"
    ))
    .bind(aggregate_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(inbox_row).transpose()?)
}

/// A forwarded request that is due a take-charge reminder.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub aggregate_id: String,
    pub department_id: String,
    /// `referents` for the first reminder, `head` for the escalation.
    pub level: &'static str,
}

/// Forwarded requests not taken in charge: those forwarded before `remind_before` and not yet
/// reminded, and those reminded before `escalate_before` and not yet escalated.
pub async fn due_reminders(
    pool: &sqlx::MySqlPool,
    remind_before: chrono::DateTime<chrono::Utc>,
    escalate_before: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<DueReminder>, ProjectionError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT aggregate_id, department_id, last_reminder_level FROM queue_requests
          WHERE status = 'forwarded' AND department_id IS NOT NULL
            AND ((last_reminder_level IS NULL AND forwarded_at < ?)
              OR (last_reminder_level = 'referents' AND last_reminded_at < ?))
          ORDER BY forwarded_at LIMIT 1000",
    )
    .bind(remind_before)
    .bind(escalate_before)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(aggregate_id, department_id, level)| DueReminder {
            aggregate_id,
            department_id,
            level: if level.is_some() { "head" } else { "referents" },
        })
        .collect())
}
