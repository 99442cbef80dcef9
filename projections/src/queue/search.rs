//! How the inbox finds a search's matches: what was typed (a reference, an e-mail address or
//! search terms) and, for terms, which side drives the query. The rarest term drives, read in
//! its index's receipt-time order, every other term a primary-key probe of the same request;
//! when the filters leave fewer requests than that term has entries (counted on the few rows
//! of `queue_counts`), the filtered requests drive and each term is probed. When both sides
//! are large, only `EXAMINED` entries of the rarest term (the newest, or the oldest when sorted
//! so) are examined and the inbox says so: a search costs a bounded amount of work, never a
//! scan of a tenth of a million requests.

use super::inbox::InboxFilter;
use crate::ProjectionError;

/// The inbox's search text, as it is looked up.
pub(super) enum Search {
    /// A reference, looked up exactly.
    Reference(String),
    /// An e-mail address: the citizen's, exactly (case aside).
    Email(String),
    /// Search terms (`words::search_terms`), every one required, the rarest first.
    Terms { terms: Vec<String>, drive: Drive },
}

/// Which side of a search by terms is read in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Drive {
    /// The rarest term's entries, all of them.
    Words,
    /// The rarest term's first `EXAMINED` entries in the page's order (more would cost too much
    /// under filters that leave many requests too).
    FirstWords,
    /// The requests the filters leave (fewer than any term's entries).
    Requests,
}

/// More terms than this are ignored (each is one more lookup per match).
const MAX_TERMS: usize = 8;

/// Under filters that leave many requests, at most this many entries of the rarest term are
/// examined (each is a lookup of its request).
pub const EXAMINED: i64 = 5000;

/// A search's terms with nothing but the word index (`w`) and no request column to check.
pub(super) fn words_only(search: &Search, filter: &InboxFilter) -> bool {
    matches!(
        search,
        Search::Terms {
            drive: Drive::Words,
            ..
        }
    ) && !narrows_requests(filter)
}

impl Search {
    /// What `text` asks for, the terms ranked and the driving side chosen under `filter`.
    pub(super) async fn plan(
        pool: &sqlx::MySqlPool,
        filter: &InboxFilter,
        text: &str,
    ) -> Result<Search, ProjectionError> {
        let text = text.trim();
        if sportello_domain::Reference::from_str_loose(text).is_some() {
            return Ok(Search::Reference(text.to_string()));
        }
        if looks_like_email(text) {
            return Ok(Search::Email(text.to_string()));
        }
        let mut terms = crate::words::search_terms(text);
        terms.truncate(MAX_TERMS);
        let narrowed = narrows_requests(filter);
        if terms.len() < 2 && !narrowed {
            return Ok(Search::Terms {
                terms,
                drive: Drive::Words,
            });
        }
        // Each term's entries, counted on the index alone up to what decides the plan.
        let cap = if narrowed { EXAMINED } else { super::COUNT_CAP };
        let mut counted = Vec::with_capacity(terms.len());
        for term in terms {
            counted.push((entries(pool, filter, &term, cap + 1).await?, term));
        }
        counted.sort();
        let rarest = counted.first().map_or(0, |(n, _)| *n);
        let terms = counted.into_iter().map(|(_, term)| term).collect();
        let drive = if !narrowed || rarest <= EXAMINED {
            Drive::Words
        } else if requests_left(pool, filter)
            .await?
            .is_some_and(|n| n <= EXAMINED)
        {
            Drive::Requests
        } else {
            Drive::FirstWords
        };
        Ok(Search::Terms { terms, drive })
    }

    /// Whether only the first `EXAMINED` entries of the rarest term were looked at.
    pub(super) fn partial(&self) -> bool {
        matches!(
            self,
            Search::Terms {
                drive: Drive::FirstWords,
                ..
            }
        )
    }
}

/// One word before the @, a dotted domain after it, no spaces.
fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// Whether a filter on the requests' own columns narrows them (the receipt dates do not: they
/// bound the word index's range).
pub(super) fn narrows_requests(filter: &InboxFilter) -> bool {
    filter.departments.is_some()
        || filter.status.is_some()
        || filter.kind.is_some()
        || filter.topic.is_some()
        || filter.department.is_some()
        || filter.channel.is_some()
        || filter.taken_by.is_some()
        || filter.overdue_on.is_some()
        || filter.waiting_since.is_some()
        || filter.unprotocolled
}

/// A term's entries in the filter's receipt dates, counted up to `limit`.
async fn entries(
    pool: &sqlx::MySqlPool,
    filter: &InboxFilter,
    term: &str,
    limit: i64,
) -> Result<i64, ProjectionError> {
    let mut counting = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1");
    push_term_range(&mut counting, filter, term);
    counting.push(" LIMIT ").push_bind(limit).push(") t");
    Ok(counting.build_query_scalar().fetch_one(pool).await?)
}

/// ` FROM queue_words WHERE …` one term's entries within the filter's receipt dates.
pub(super) fn push_term_range<'a>(
    query: &mut sqlx::QueryBuilder<'a, sqlx::MySql>,
    filter: &'a InboxFilter,
    term: &'a str,
) {
    query
        .push(" FROM queue_words WHERE organisation_id = ")
        .push_bind(&filter.organisation_id)
        .push(" AND word = ")
        .push_bind(term);
    push_received_range(query, "received_at", filter);
}

/// The filter's receipt dates on `column`.
pub(super) fn push_received_range(
    query: &mut sqlx::QueryBuilder<'_, sqlx::MySql>,
    column: &str,
    filter: &InboxFilter,
) {
    if let Some(from) = filter.received_from {
        query
            .push(format!(" AND {column} >= "))
            .push_bind(sportello_domain::rome_midnight(from));
    }
    if let Some(to) = filter.received_to {
        query
            .push(format!(" AND {column} < "))
            .push_bind(sportello_domain::rome_midnight(to + chrono::Days::new(1)));
    }
}

/// How many requests the filter leaves, when the few rows of `queue_counts` can tell (filters
/// on the counted dimensions only).
async fn requests_left(
    pool: &sqlx::MySqlPool,
    filter: &InboxFilter,
) -> Result<Option<i64>, ProjectionError> {
    if filter.received_from.is_some()
        || filter.received_to.is_some()
        || filter.overdue_on.is_some()
        || filter.waiting_since.is_some()
        || filter.taken_by.is_some()
    {
        return Ok(None);
    }
    let mut counting = sqlx::QueryBuilder::new(
        "SELECT CAST(COALESCE(SUM(n), 0) AS SIGNED) FROM queue_counts WHERE organisation_id = ",
    );
    counting.push_bind(&filter.organisation_id);
    crate::sql::push_departments(&mut counting, &filter.departments);
    crate::sql::push_equal(
        &mut counting,
        &[
            ("status", &filter.status),
            ("kind", &filter.kind),
            ("topic_code", &filter.topic),
            ("department_id", &filter.department),
            ("channel", &filter.channel),
        ],
    );
    Ok(Some(counting.build_query_scalar().fetch_one(pool).await?))
}
