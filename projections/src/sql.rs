//! Pieces of WHERE clauses the read models' lists and the statistics share.

use sqlx::{MySql, QueryBuilder};

/// ` AND department_id IN (…)` for a referent's departments (` AND FALSE` when they have none);
/// nothing when `departments` is `None` (everyone's requests).
pub fn push_departments<'a>(
    query: &mut QueryBuilder<'a, MySql>,
    departments: &'a Option<Vec<String>>,
) {
    push_departments_of(query, "department_id", departments);
}

/// As `push_departments`, for a `column` named otherwise (a table's alias in front).
pub fn push_departments_of<'a>(
    query: &mut QueryBuilder<'a, MySql>,
    column: &str,
    departments: &'a Option<Vec<String>>,
) {
    let Some(departments) = departments else {
        return;
    };
    if departments.is_empty() {
        query.push(" AND FALSE");
        return;
    }
    query.push(format!(" AND {column} IN ("));
    let mut list = query.separated(", ");
    for department in departments {
        list.push_bind(department);
    }
    query.push(")");
}

/// ` AND column = ?` for every filter that has a value.
pub fn push_equal<'a>(query: &mut QueryBuilder<'a, MySql>, filters: &[(&str, &'a Option<String>)]) {
    for (column, value) in filters {
        if let Some(value) = value {
            query.push(format!(" AND {column} = ")).push_bind(value);
        }
    }
}
