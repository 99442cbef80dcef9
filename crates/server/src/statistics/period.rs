//! The period statistics are shown for (civil dates in Europe/Rome, both ends included), the one
//! it is compared with, and how its trend is bucketed. Pure.

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

/// The longest period one page computes: five years.
pub const MAX_DAYS: i64 = 5 * 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// How the trend chart groups days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Day,
    Month,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Period {
        Period { from, to }
    }

    /// The calendar year.
    pub fn year(year: i32) -> Period {
        Period::new(
            NaiveDate::from_ymd_opt(year, 1, 1).expect("1 January"),
            NaiveDate::from_ymd_opt(year, 12, 31).expect("31 December"),
        )
    }

    /// The calendar month holding `day`.
    pub fn month_of(day: NaiveDate) -> Period {
        let first = day.with_day(1).expect("first of the month");
        Period::new(first, last_of_month(first))
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Whether it starts on a month's first day and ends on a month's last day.
    fn whole_months(&self) -> Option<u32> {
        if self.from.day() != 1 || self.to != last_of_month(self.to) {
            return None;
        }
        let months = (self.to.year() - self.from.year()) * 12 + self.to.month() as i32
            - self.from.month() as i32
            + 1;
        u32::try_from(months).ok()
    }

    /// The period it is compared with: the same number of whole months just before (a year
    /// against the year before, a month against the month before), or else the same number of
    /// days just before.
    pub fn previous(&self) -> Period {
        match self.whole_months() {
            Some(months) => {
                let from = self.from - Months::new(months);
                let to = self.from.pred_opt().expect("a day before");
                Period::new(from, to)
            }
            None => {
                let to = self.from.pred_opt().expect("a day before");
                Period::new(to - chrono::Duration::days(self.days() - 1), to)
            }
        }
    }

    /// Days for up to two months, months beyond.
    pub fn bucket(&self) -> Bucket {
        if self.days() <= 62 {
            Bucket::Day
        } else {
            Bucket::Month
        }
    }

    /// The first day of every bucket of the trend, in order.
    pub fn buckets(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        match self.bucket() {
            Bucket::Day => {
                let mut day = self.from;
                while day <= self.to {
                    out.push(day);
                    day = day.succ_opt().expect("a next day");
                }
            }
            Bucket::Month => {
                let mut month = self.from.with_day(1).expect("first of the month");
                while month <= self.to {
                    out.push(month);
                    month = month + Months::new(1);
                }
            }
        }
        out
    }

    /// The bucket a day falls in.
    pub fn bucket_of(&self, day: NaiveDate) -> NaiveDate {
        match self.bucket() {
            Bucket::Day => day,
            Bucket::Month => day.with_day(1).expect("first of the month"),
        }
    }
}

pub fn last_of_month(day: NaiveDate) -> NaiveDate {
    let first = day.with_day(1).expect("first of the month");
    (first + Months::new(1)).pred_opt().expect("a day before")
}

/// Why a typed period was refused (a translation key).
pub fn parse(from: &str, to: &str, today: NaiveDate) -> Result<Period, &'static str> {
    // Years of four digits only: a date at the edge of the calendar has no next day or month.
    let date = |text: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()
            .filter(|d| (1000..=9999).contains(&d.year()))
            .ok_or(())
    };
    let from = if from.trim().is_empty() {
        NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("1 January")
    } else {
        date(from).map_err(|_| "statistics.error.from")?
    };
    let to = if to.trim().is_empty() {
        today
    } else {
        date(to).map_err(|_| "statistics.error.to")?
    };
    if to < from {
        return Err("statistics.error.order");
    }
    let period = Period::new(from, to);
    if period.days() > MAX_DAYS {
        return Err("statistics.error.too_long");
    }
    Ok(period)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_year_is_compared_with_the_year_before_and_a_month_with_the_month_before() {
        assert_eq!(Period::year(2026).previous(), Period::year(2025));
        let march = Period::month_of(d("2024-03-15"));
        assert_eq!(march, Period::new(d("2024-03-01"), d("2024-03-31")));
        assert_eq!(
            march.previous(),
            Period::new(d("2024-02-01"), d("2024-02-29"))
        );
        let quarter = Period::new(d("2026-04-01"), d("2026-06-30"));
        assert_eq!(
            quarter.previous(),
            Period::new(d("2026-01-01"), d("2026-03-31"))
        );
    }

    #[test]
    fn other_periods_are_compared_with_as_many_days_just_before() {
        let period = Period::new(d("2026-01-01"), d("2026-01-10"));
        assert_eq!(
            period.previous(),
            Period::new(d("2025-12-22"), d("2025-12-31"))
        );
    }

    #[test]
    fn short_periods_trend_by_day_and_long_ones_by_month() {
        let month = Period::month_of(d("2026-02-10"));
        assert_eq!(month.buckets().len(), 28);
        let year = Period::year(2026);
        assert_eq!(year.buckets().len(), 12);
        assert_eq!(year.bucket_of(d("2026-05-17")), d("2026-05-01"));
        let odd = Period::new(d("2025-11-20"), d("2026-02-03"));
        assert_eq!(
            odd.buckets(),
            vec![
                d("2025-11-01"),
                d("2025-12-01"),
                d("2026-01-01"),
                d("2026-02-01")
            ]
        );
    }

    #[test]
    fn typed_periods_are_checked() {
        let today = d("2026-11-26");
        assert_eq!(
            parse("", "", today),
            Ok(Period::new(d("2026-01-01"), today))
        );
        assert_eq!(parse("2026-13-01", "", today), Err("statistics.error.from"));
        assert_eq!(
            parse("2026-01-01", "ieri", today),
            Err("statistics.error.to")
        );
        assert_eq!(
            parse("2026-02-01", "2026-01-01", today),
            Err("statistics.error.order")
        );
        assert_eq!(
            parse("2016-01-01", "2026-01-01", today),
            Err("statistics.error.too_long")
        );
        // The calendar's last days would have no next day to cut the period at.
        assert_eq!(
            parse("262143-12-01", "262143-12-31", today),
            Err("statistics.error.from")
        );
        assert_eq!(
            parse("2026-01-01", "+10000-01-01", today),
            Err("statistics.error.to")
        );
    }
}
