//! The working calendar: Italian national holidays (Easter Monday computed), the patron saint's
//! day of the Comune, Saturdays and Sundays. Deadlines that fall on a non-working day move to
//! the next working day.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// What makes a Comune's calendar its own: the patron saint's day (month, day), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WorkingCalendar {
    pub patron_saint: Option<(u32, u32)>,
}

/// National holidays on fixed dates (month, day).
const FIXED_HOLIDAYS: [(u32, u32); 10] = [
    (1, 1),   // Capodanno
    (1, 6),   // Epifania
    (4, 25),  // Festa della Liberazione
    (5, 1),   // Festa del Lavoro
    (6, 2),   // Festa della Repubblica
    (8, 15),  // Ferragosto
    (11, 1),  // Ognissanti
    (12, 8),  // Immacolata Concezione
    (12, 25), // Natale
    (12, 26), // Santo Stefano
];

impl WorkingCalendar {
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        let month_day = (date.month(), date.day());
        FIXED_HOLIDAYS.contains(&month_day)
            || self.patron_saint == Some(month_day)
            || date == easter_sunday(date.year()) + Days::new(1)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.is_holiday(date)
    }

    /// `date` if it is a working day, otherwise the next one.
    pub fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_working_day(day) {
            day = day + Days::new(1);
        }
        day
    }

    /// A deadline `days` calendar days after `from`, moved to a working day.
    pub fn deadline(&self, from: NaiveDate, days: u32) -> NaiveDate {
        self.next_working_day(from + Days::new(u64::from(days)))
    }
}

/// Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm, "Meeus/Jones/Butcher").
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a real date")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_falls_on_the_known_dates() {
        for (year, month, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2000, 4, 23),
        ] {
            assert_eq!(easter_sunday(year), date(year, month, day), "{year}");
        }
    }

    #[test]
    fn holidays_weekends_and_the_patron_saint_are_not_working_days() {
        let milan = WorkingCalendar {
            patron_saint: Some((12, 7)),
        };
        assert!(
            !milan.is_working_day(date(2026, 4, 6)),
            "Easter Monday 2026"
        );
        assert!(
            !milan.is_working_day(date(2026, 6, 2)),
            "Festa della Repubblica"
        );
        assert!(
            !milan.is_working_day(date(2026, 12, 7)),
            "Sant'Ambrogio in Milan"
        );
        assert!(
            WorkingCalendar::default().is_working_day(date(2026, 12, 7)),
            "an ordinary Monday elsewhere"
        );
        assert!(!milan.is_working_day(date(2026, 3, 14)), "a Saturday");
        assert!(milan.is_working_day(date(2026, 3, 10)));
    }

    #[test]
    fn a_deadline_on_a_non_working_day_moves_to_the_next_working_day() {
        let calendar = WorkingCalendar::default();
        // 10 March + 30 days = 9 April 2026, a Thursday.
        assert_eq!(calendar.deadline(date(2026, 3, 10), 30), date(2026, 4, 9));
        // 6 March + 30 days = 5 April 2026, Easter Sunday; Monday is Easter Monday: Tuesday 7 April.
        assert_eq!(calendar.deadline(date(2026, 3, 6), 30), date(2026, 4, 7));
        // 25 November + 30 days = Christmas, then Santo Stefano (a Saturday), Sunday: Monday 28.
        assert_eq!(
            calendar.deadline(date(2026, 11, 25), 30),
            date(2026, 12, 28)
        );
    }
}
