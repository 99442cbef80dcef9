//! The inbox's queries: one page of the queue under the operator's filters (a search through the
//! word index), the total and the counts per status; one request; the reminders that are due.

use sportello_domain::Status;

use super::search::{push_received_range, push_term_range, words_only, Drive, Search, EXAMINED};
use crate::ProjectionError;

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
    /// Only the requests the protocollo informatico has not registered yet.
    pub unprotocolled: bool,
    pub taken_by: Option<String>,
    pub text: Option<String>,
    pub sort: InboxSort,
    pub page: u32,
    pub per_page: u32,
    /// A keyset cursor instead of a page number: the rows after this (received_at, id) in the
    /// order of `sort` (newest or oldest first).
    pub after: Option<(chrono::DateTime<chrono::Utc>, String)>,
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
    /// A mail about it bounced: the citizen's address does not work.
    pub mail_failed: bool,
    pub subject: Option<String>,
    pub citizen_name: Option<String>,
}

pub struct Inbox {
    pub rows: Vec<InboxRow>,
    /// Matches; with `capped`, more than this (`COUNT_CAP`).
    pub total: i64,
    pub capped: bool,
    /// Requests per status under the same filters (except the status itself), when `counted`
    /// (a search is not counted per status).
    pub counts: Vec<(String, i64)>,
    pub counted: bool,
    /// The search looked at only `search::EXAMINED` entries of its rarest term (the filters
    /// left too many requests to examine them all).
    pub partial: bool,
}

/// The count of matches stops here: beyond it the inbox says "more than 1 000".
pub const COUNT_CAP: i64 = 1000;

/// The inbox's queries weigh indexes by their statistics, not by reading each one's range
/// (MariaDB's "index dives", a few milliseconds per page with a dozen indexes on a million
/// requests): the organisation and the filters are equalities the statistics estimate well.
const STATISTICS_ONLY: &str = "SET STATEMENT eq_range_index_dive_limit = 1 FOR";

/// `FROM …` and `WHERE …` of the inbox's queries; the request's columns are `q.*`, and a
/// search by terms reads its driving side as `w` (see `search`).
fn push_from_where<'a>(
    query: &mut sqlx::QueryBuilder<'a, sqlx::MySql>,
    filter: &'a InboxFilter,
    search: &'a Option<Search>,
    with_status: bool,
) {
    match search {
        Some(Search::Terms { terms, drive }) if !terms.is_empty() => {
            let probed = match drive {
                // The word's organisation is its request's: no condition on `q`'s, which would
                // only make the optimiser weigh every index of the queue.
                Drive::Words => {
                    query.push(" FROM queue_words w STRAIGHT_JOIN queue_requests q ON q.aggregate_id = w.aggregate_id WHERE w.organisation_id = ")
                        .push_bind(&filter.organisation_id)
                        .push(" AND w.word = ")
                        .push_bind(&terms[0]);
                    push_received_range(query, "w.received_at", filter);
                    &terms[1..]
                }
                Drive::FirstWords => {
                    let direction = if filter.sort == InboxSort::Oldest {
                        "ASC"
                    } else {
                        "DESC"
                    };
                    query.push(" FROM (SELECT received_at, aggregate_id");
                    push_term_range(query, filter, &terms[0]);
                    query
                        .push(format!(
                            " ORDER BY received_at {direction}, aggregate_id {direction} LIMIT {EXAMINED}) w
                              STRAIGHT_JOIN queue_requests q ON q.aggregate_id = w.aggregate_id WHERE TRUE"
                        ));
                    &terms[1..]
                }
                Drive::Requests => {
                    query
                        .push(" FROM queue_requests q WHERE q.organisation_id = ")
                        .push_bind(&filter.organisation_id);
                    push_received_range(query, "q.received_at", filter);
                    &terms[..]
                }
            };
            let side = if *drive == Drive::Requests { "q" } else { "w" };
            push_probes(query, filter, side, probed);
        }
        _ => {
            query
                .push(" FROM queue_requests q WHERE q.organisation_id = ")
                .push_bind(&filter.organisation_id);
            push_received_range(query, "q.received_at", filter);
        }
    }
    match search {
        Some(Search::Reference(reference)) => {
            query.push(" AND q.reference = ").push_bind(reference);
        }
        Some(Search::Email(email)) => {
            query.push(" AND q.citizen_email = ").push_bind(email);
        }
        // Nothing searchable was typed (only punctuation, one letter): nothing matches.
        Some(Search::Terms { terms, .. }) if terms.is_empty() => {
            query.push(" AND FALSE");
        }
        _ => {}
    }
    crate::sql::push_departments_of(query, "q.department_id", &filter.departments);
    if let (true, Some(status)) = (with_status, &filter.status) {
        query.push(" AND q.status = ").push_bind(status);
    }
    crate::sql::push_equal(
        query,
        &[
            ("q.kind", &filter.kind),
            ("q.topic_code", &filter.topic),
            ("q.department_id", &filter.department),
            ("q.channel", &filter.channel),
            ("q.taken_by", &filter.taken_by),
        ],
    );
    if let Some(today) = filter.overdue_on {
        query
            .push(" AND q.answer_due < ")
            .push_bind(today)
            .push(" AND q.status IN (");
        let mut awaiting = query.separated(", ");
        for status in Status::ALL.into_iter().filter(|s| s.awaits_answer()) {
            awaiting.push_bind(status.code());
        }
        query.push(")");
    }
    if filter.unprotocolled {
        query.push(" AND q.protocolled = FALSE");
    }
    if let Some(since) = filter.waiting_since {
        query
            .push(" AND q.status = ")
            .push_bind(Status::Forwarded.code())
            .push(" AND q.forwarded_at < ")
            .push_bind(since);
    }
}

/// Requests per status under the filter (its status aside), for the inbox without a search:
/// filters on the counted dimensions sum the few rows of `queue_counts`; dates, deadlines and
/// who took it count the requests themselves.
async fn counts_per_status(
    pool: &sqlx::MySqlPool,
    filter: &InboxFilter,
) -> Result<Vec<(String, i64)>, ProjectionError> {
    let counted_dimensions_only = filter.received_from.is_none()
        && filter.received_to.is_none()
        && filter.overdue_on.is_none()
        && filter.waiting_since.is_none()
        && !filter.unprotocolled
        && filter.taken_by.is_none();
    if !counted_dimensions_only {
        let mut counting = sqlx::QueryBuilder::new("SELECT q.status, COUNT(*) AS n");
        push_from_where(&mut counting, filter, &None, false);
        counting.push(" GROUP BY q.status");
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

/// Matches of a search under the whole filter, counted up to `COUNT_CAP` + 1: one term and no
/// other filter on the word index alone, anything else through the requests.
async fn capped_total(
    pool: &sqlx::MySqlPool,
    filter: &InboxFilter,
    search: &Option<Search>,
) -> Result<i64, ProjectionError> {
    let mut counting = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1");
    match search {
        Some(search @ Search::Terms { terms, .. }) if words_only(search, filter) => {
            counting
                .push(" FROM queue_words w WHERE w.organisation_id = ")
                .push_bind(&filter.organisation_id)
                .push(" AND w.word = ")
                .push_bind(&terms[0]);
            push_received_range(&mut counting, "w.received_at", filter);
            push_probes(&mut counting, filter, "w", &terms[1..]);
        }
        _ => push_from_where(&mut counting, filter, search, true),
    }
    counting
        .push(" LIMIT ")
        .push_bind(COUNT_CAP + 1)
        .push(") t");
    Ok(counting.build_query_scalar().fetch_one(pool).await?)
}

/// ` AND EXISTS (…)` for each term: an entry of the same request (`side`) in the word index.
fn push_probes<'a>(
    query: &mut sqlx::QueryBuilder<'a, sqlx::MySql>,
    filter: &'a InboxFilter,
    side: &str,
    terms: &'a [String],
) {
    for term in terms {
        query
            .push(" AND EXISTS (SELECT 1 FROM queue_words o WHERE o.organisation_id = ")
            .push_bind(&filter.organisation_id)
            .push(" AND o.word = ")
            .push_bind(term)
            .push(format!(
                " AND o.received_at = {side}.received_at AND o.aggregate_id = {side}.aggregate_id)"
            ));
    }
}

/// One page of the inbox, the total and (without a search) the counts per status.
pub async fn inbox(pool: &sqlx::MySqlPool, filter: &InboxFilter) -> Result<Inbox, ProjectionError> {
    let search = match filter.text.as_deref() {
        Some(text) => Some(Search::plan(pool, filter, text).await?),
        None => None,
    };
    let rows = rows(pool, filter, &search).await?;
    if search.is_some() {
        // A search's matches are counted up to the cap, and not per status: counting every
        // match on every page is what made the search slow. A first page that is not full
        // is the count.
        let total = if filter.page <= 1 && (rows.len() as u32) < filter.per_page.clamp(1, 200) {
            rows.len() as i64
        } else {
            capped_total(pool, filter, &search).await?
        };
        return Ok(Inbox {
            rows,
            total: total.min(COUNT_CAP),
            capped: total > COUNT_CAP,
            counts: Vec::new(),
            counted: false,
            partial: search.as_ref().is_some_and(Search::partial),
        });
    }
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
        capped: false,
        counts,
        counted: true,
        partial: false,
    })
}

/// One page of the inbox without counts: by page number, or after a keyset cursor.
pub async fn page(
    pool: &sqlx::MySqlPool,
    filter: &InboxFilter,
) -> Result<Vec<InboxRow>, ProjectionError> {
    let search = match filter.text.as_deref() {
        Some(text) => Some(Search::plan(pool, filter, text).await?),
        None => None,
    };
    rows(pool, filter, &search).await
}

async fn rows(
    pool: &sqlx::MySqlPool,
    filter: &InboxFilter,
    search: &Option<Search>,
) -> Result<Vec<InboxRow>, ProjectionError> {
    let by_words = matches!(search, Some(Search::Terms { terms, drive }) if !terms.is_empty() && *drive != Drive::Requests);
    let mut query = sqlx::QueryBuilder::new(format!("{STATISTICS_ONLY} SELECT {COLUMNS}"));
    push_from_where(&mut query, filter, search, true);
    // The tie-breaker is the primary key in the same direction: secondary indexes end with it,
    // so the index on (organisation, received_at) serves the whole ORDER BY without a sort (a
    // mixed direction made MariaDB sort every matching row). A search reads its driving term's
    // entries in the same order and stops after the page.
    let (time, id) = if by_words {
        ("w.received_at", "w.aggregate_id")
    } else {
        ("q.received_at", "q.aggregate_id")
    };
    if let (Some((at, id_after)), false) = (&filter.after, filter.sort == InboxSort::DueFirst) {
        let before = if filter.sort == InboxSort::Oldest {
            ">"
        } else {
            "<"
        };
        query
            .push(format!(" AND ({time} {before} "))
            .push_bind(at)
            .push(format!(" OR ({time} = "))
            .push_bind(at)
            .push(format!(" AND {id} {before} "))
            .push_bind(id_after)
            .push("))");
    }
    query.push(match filter.sort {
        InboxSort::Newest => format!(" ORDER BY {time} DESC, {id} DESC"),
        InboxSort::Oldest => format!(" ORDER BY {time} ASC, {id} ASC"),
        InboxSort::DueFirst => " ORDER BY q.answer_due ASC, q.aggregate_id ASC".to_string(),
    });
    let per_page = filter.per_page.clamp(1, 200);
    query
        .push(" LIMIT ")
        .push_bind(per_page)
        .push(" OFFSET ")
        .push_bind(if filter.after.is_some() {
            0
        } else {
            filter.page.saturating_sub(1) * per_page
        });
    Ok(query
        .build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(inbox_row)
        .collect::<Result<Vec<_>, sqlx::Error>>()?)
}

const COLUMNS: &str = "q.aggregate_id, q.reference, q.kind, q.topic_code, q.channel, q.status,
    q.department_id, q.received_at, q.answer_due, q.forwarded_at, q.reminders, q.ack_failed,
    q.mail_failed, q.subject, q.citizen_name";

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
        mail_failed: row.try_get("mail_failed")?,
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
        "SELECT {COLUMNS} FROM queue_requests q WHERE q.aggregate_id = ?"
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
          WHERE status = ? AND department_id IS NOT NULL
            AND ((last_reminder_level IS NULL AND forwarded_at < ?)
              OR (last_reminder_level = 'referents' AND last_reminded_at < ?))
          ORDER BY forwarded_at LIMIT 1000",
    )
    .bind(Status::Forwarded.code())
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
