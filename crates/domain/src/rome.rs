//! Civil dates in Europe/Rome: references restart and deadlines count in the Comune's time.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Rome;

/// The calendar date in Rome at this instant.
pub fn rome_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Rome).date_naive()
}

/// The year in Rome at this instant: the year a reference belongs to.
pub fn rome_year(at: DateTime<Utc>) -> i32 {
    rome_date(at).year()
}

/// The instant a day begins in Rome (for "received between" filters on civil dates).
pub fn rome_midnight(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    Rome.from_local_datetime(&midnight)
        .earliest()
        .expect("midnight exists in Rome")
        .with_timezone(&Utc)
}
