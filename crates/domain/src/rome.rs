//! Civil dates in Europe/Rome: references restart and deadlines count in the Comune's time.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Rome;

/// The calendar date in Rome at this instant.
pub fn rome_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Rome).date_naive()
}

/// The year in Rome at this instant: the year a reference belongs to.
pub fn rome_year(at: DateTime<Utc>) -> i32 {
    rome_date(at).year()
}
