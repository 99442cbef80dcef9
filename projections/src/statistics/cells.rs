//! The statistics pre-aggregated: one cell per day, per month and per year and combination of kind,
//! topic, channel and department, holding what happened on it — requests received, answered (in
//! time or not), closed and rated, activities counted, and the durations measured as histograms
//! of whole hours. A dashboard for a year reads a few thousand cells instead of every request.
//!
//! A cell is always the sum of what the facts and their effects contribute to it: the live
//! projection adds a fact's new contributions and takes away its old ones, the bulk rebuild adds
//! the final ones. Pure, apart from the row codec.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use sqlx::mysql::MySqlRow;
use sqlx::{MySql, QueryBuilder, Row};

use super::fact::{Activity, Effect, Fact};

/// A cell covers one day, one calendar month or one year (dated by its first day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Day,
    Month,
    Year,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Month, Grain::Year];

    pub fn code(self) -> &'static str {
        match self {
            Grain::Day => "d",
            Grain::Month => "m",
            Grain::Year => "y",
        }
    }

    /// The first day of the day, month or year `day` falls in.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => day,
            Grain::Month => day.with_day(1).expect("the first of the month"),
            Grain::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1).expect("1 January"),
        }
    }

    /// The first day of the next day, month or year after the one `day` falls in.
    pub fn next(self, day: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => day.succ_opt().expect("a next day"),
            Grain::Month => self.start(day) + chrono::Months::new(1),
            Grain::Year => self.start(day) + chrono::Months::new(12),
        }
    }

    /// The next finer grain, if any.
    pub fn finer(self) -> Option<Grain> {
        match self {
            Grain::Day => None,
            Grain::Month => Some(Grain::Day),
            Grain::Year => Some(Grain::Month),
        }
    }

    /// Date ranges of cells (grain, first, last cell date) that together cover `from..=to`
    /// exactly, with cells no coarser than `self`: whole years as year cells, whole months as
    /// month cells, the rest as day cells.
    pub fn spans(self, from: NaiveDate, to: NaiveDate) -> Vec<(Grain, NaiveDate, NaiveDate)> {
        if from > to {
            return Vec::new();
        }
        let Some(finer) = self.finer() else {
            return vec![(Grain::Day, from, to)];
        };
        let first = if self.start(from) == from {
            from
        } else {
            self.next(from)
        };
        let after_last_day = to.succ_opt().expect("a next day");
        let after = if self.start(after_last_day) == after_last_day {
            after_last_day
        } else {
            self.start(to)
        };
        if first >= after {
            return finer.spans(from, to);
        }
        let day_before = |d: NaiveDate| d.pred_opt().expect("a day before");
        let mut out = vec![(self, first, self.start(day_before(after)))];
        out.extend(finer.spans(from, day_before(first)));
        out.extend(finer.spans(after, to));
        out
    }
}

/// The dimensions a cell is counted by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dims {
    pub kind: String,
    pub topic_code: String,
    pub channel: String,
    pub department_id: String,
}

impl Dims {
    fn of(fact: &Fact, department_id: &str) -> Dims {
        Dims {
            kind: fact.kind.clone(),
            topic_code: fact.topic_code.clone(),
            channel: fact.channel.clone(),
            department_id: department_id.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub organisation_id: String,
    pub grain: Grain,
    pub day: NaiveDate,
    pub dims: Dims,
}

/// Durations in whole hours: hours → how many.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hours(pub BTreeMap<i64, i64>);

impl Hours {
    fn one(minutes: i32) -> Hours {
        Hours(BTreeMap::from([(i64::from(minutes) / 60, 1)]))
    }

    fn add(&mut self, other: &Hours, sign: i64) {
        add_counts(&mut self.0, &other.0, sign);
    }

    /// Compact bytes: LEB128 varints of (hours since the previous value, zigzagged count).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 3);
        let mut previous = 0;
        for (&hours, &n) in &self.0 {
            varint(&mut out, (hours - previous) as u64);
            varint(&mut out, ((n << 1) ^ (n >> 63)) as u64);
            previous = hours;
        }
        out
    }

    /// Calls `each(hours, count)` for every value encoded in `bytes`.
    pub fn decode(bytes: &[u8], mut each: impl FnMut(i64, i64)) {
        let mut at = 0;
        let mut hours = 0;
        while at < bytes.len() {
            let (Some(delta), Some(n)) = (read_varint(bytes, &mut at), read_varint(bytes, &mut at))
            else {
                return;
            };
            hours += delta as i64;
            each(hours, (n >> 1) as i64 ^ -((n & 1) as i64));
        }
    }

    fn decoded(bytes: &[u8]) -> Hours {
        let mut hours = Hours::default();
        Hours::decode(bytes, |h, n| {
            hours.0.insert(h, n);
        });
        hours
    }
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn add_counts<K: Ord + Clone>(into: &mut BTreeMap<K, i64>, from: &BTreeMap<K, i64>, sign: i64) {
    for (key, n) in from {
        let entry = into.entry(key.clone()).or_default();
        *entry += sign * n;
        if *entry == 0 {
            into.remove(key);
        }
    }
}

/// What happened on a cell's day (or month) to requests of its dimensions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub received: i64,
    pub answered: i64,
    pub answered_in_time: i64,
    pub closed: i64,
    pub ratings: i64,
    /// Ratings by stars, 1 to 5.
    pub stars: [i64; 5],
    /// Reasons chosen with the ratings.
    pub reasons: BTreeMap<String, i64>,
    pub reminders: i64,
    pub redirections: i64,
    pub forwardings: i64,
    pub reopenings: i64,
    pub handbacks: i64,
    /// Hours from receipt to the first response, of the first responses given that day.
    pub first_response: Hours,
    /// Hours from receipt to the (first) answer, of the answers given that day.
    pub answer: Hours,
    /// Hours from the forwarding to the taking in charge, of the takings in charge that day.
    pub take_charge: Hours,
}

/// The cells' columns after the key, in the order `Cell::read` and `push_cells` use.
pub const CELL_COLUMNS: &str = "received, answered, answered_in_time, closed, ratings, stars_1,
    stars_2, stars_3, stars_4, stars_5, reasons, reminders, redirections, forwardings, reopenings,
    handbacks, first_response_hours, answer_hours, take_charge_hours";

/// Where the durations (first response, answer, take charge) start among `CELL_COLUMNS`.
pub const HOURS_AT: usize = 16;

/// The cells' key columns, in `CellKey` order.
pub const KEY_COLUMNS: &str =
    "organisation_id, grain, day, kind, topic_code, channel, department_id";

impl Cell {
    pub fn stars_sum(&self) -> i64 {
        self.stars
            .iter()
            .enumerate()
            .map(|(i, n)| (i as i64 + 1) * n)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        *self == Cell::default()
    }

    pub fn add(&mut self, other: &Cell, sign: i64) {
        self.received += sign * other.received;
        self.answered += sign * other.answered;
        self.answered_in_time += sign * other.answered_in_time;
        self.closed += sign * other.closed;
        self.ratings += sign * other.ratings;
        for (mine, theirs) in self.stars.iter_mut().zip(other.stars) {
            *mine += sign * theirs;
        }
        add_counts(&mut self.reasons, &other.reasons, sign);
        self.reminders += sign * other.reminders;
        self.redirections += sign * other.redirections;
        self.forwardings += sign * other.forwardings;
        self.reopenings += sign * other.reopenings;
        self.handbacks += sign * other.handbacks;
        self.first_response.add(&other.first_response, sign);
        self.answer.add(&other.answer, sign);
        self.take_charge.add(&other.take_charge, sign);
    }

    /// The cell in `row`, its columns (`CELL_COLUMNS`) starting at index `at`.
    pub fn read(row: &MySqlRow, at: usize) -> Result<Cell, sqlx::Error> {
        let bytes = |i: usize| -> Result<&[u8], sqlx::Error> { row.try_get(at + i) };
        Ok(Cell {
            first_response: Hours::decoded(bytes(HOURS_AT)?),
            answer: Hours::decoded(bytes(HOURS_AT + 1)?),
            take_charge: Hours::decoded(bytes(HOURS_AT + 2)?),
            ..Cell::read_counts(row, at)?
        })
    }

    /// The cell in `row` without its durations, which a reader can decode straight into its own
    /// histograms (`Hours::decode` of the columns `HOURS_AT`, `HOURS_AT + 1`, `HOURS_AT + 2`).
    pub fn read_counts(row: &MySqlRow, at: usize) -> Result<Cell, sqlx::Error> {
        let int = |i: usize| -> Result<i64, sqlx::Error> { row.try_get::<i64, _>(at + i) };
        let reasons: &str = row.try_get(at + 10)?;
        Ok(Cell {
            received: int(0)?,
            answered: int(1)?,
            answered_in_time: int(2)?,
            closed: int(3)?,
            ratings: int(4)?,
            stars: [int(5)?, int(6)?, int(7)?, int(8)?, int(9)?],
            reasons: reasons
                .split(',')
                .filter_map(|pair| pair.rsplit_once(':'))
                .filter_map(|(reason, n)| Some((reason.to_string(), n.parse().ok()?)))
                .collect(),
            reminders: int(11)?,
            redirections: int(12)?,
            forwardings: int(13)?,
            reopenings: int(14)?,
            handbacks: int(15)?,
            ..Cell::default()
        })
    }

    fn reasons_text(&self) -> String {
        let pairs: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, n)| format!("{reason}:{n}"))
            .collect();
        pairs.join(",")
    }
}

/// `VALUES (…), (…)` for these cells, key then `CELL_COLUMNS`.
pub fn push_cells<'a>(
    query: &mut QueryBuilder<'a, MySql>,
    cells: impl Iterator<Item = (&'a CellKey, &'a Cell)>,
) {
    query.push_values(cells, |mut row, (key, cell)| {
        row.push_bind(&key.organisation_id)
            .push_bind(key.grain.code())
            .push_bind(key.day)
            .push_bind(&key.dims.kind)
            .push_bind(&key.dims.topic_code)
            .push_bind(&key.dims.channel)
            .push_bind(&key.dims.department_id)
            .push_bind(cell.received)
            .push_bind(cell.answered)
            .push_bind(cell.answered_in_time)
            .push_bind(cell.closed)
            .push_bind(cell.ratings);
        for n in cell.stars {
            row.push_bind(n);
        }
        row.push_bind(cell.reasons_text())
            .push_bind(cell.reminders)
            .push_bind(cell.redirections)
            .push_bind(cell.forwardings)
            .push_bind(cell.reopenings)
            .push_bind(cell.handbacks)
            .push_bind(cell.first_response.encode())
            .push_bind(cell.answer.encode())
            .push_bind(cell.take_charge.encode());
    });
}

/// What one fact (in its present state) contributes, by day, to cells of its own dimensions.
fn contributions(fact: &Fact) -> Vec<(NaiveDate, Cell)> {
    let mut out = vec![(
        fact.received_on,
        Cell {
            received: 1,
            ..Cell::default()
        },
    )];
    if let (Some(day), Some(minutes)) = (fact.first_response_on, fact.first_response_minutes) {
        out.push((
            day,
            Cell {
                first_response: Hours::one(minutes),
                ..Cell::default()
            },
        ));
    }
    if let (Some(day), Some(minutes)) = (fact.answered_on, fact.answer_minutes) {
        out.push((
            day,
            Cell {
                answered: 1,
                answered_in_time: i64::from(fact.answered_in_time == Some(true)),
                answer: Hours::one(minutes),
                ..Cell::default()
            },
        ));
    }
    if let Some(day) = fact.closed_on {
        out.push((
            day,
            Cell {
                closed: 1,
                ..Cell::default()
            },
        ));
    }
    if let (Some(day), Some(stars)) = (fact.rated_on, fact.stars) {
        let mut cell = Cell {
            ratings: 1,
            ..Cell::default()
        };
        if (1..=5).contains(&stars) {
            cell.stars[stars as usize - 1] = 1;
        }
        for reason in fact.reasons.split(',').filter(|r| !r.is_empty()) {
            *cell.reasons.entry(reason.to_string()).or_default() += 1;
        }
        out.push((day, cell));
    }
    out
}

/// Cells being summed: in memory for the bulk rebuild, as a delta for the live projection.
#[derive(Debug, Default)]
pub struct Cells(pub HashMap<CellKey, Cell>);

impl Cells {
    fn add(&mut self, organisation_id: &str, day: NaiveDate, dims: &Dims, cell: &Cell, sign: i64) {
        for grain in Grain::ALL {
            let key = CellKey {
                organisation_id: organisation_id.to_string(),
                grain,
                day: grain.start(day),
                dims: dims.clone(),
            };
            self.0.entry(key).or_default().add(cell, sign);
        }
    }

    /// Adds (`sign` 1) or takes away (`sign` -1) what a fact contributes.
    pub fn add_fact(&mut self, fact: &Fact, sign: i64) {
        let dims = Dims::of(fact, &fact.department_id);
        for (day, cell) in contributions(fact) {
            self.add(&fact.organisation_id, day, &dims, &cell, sign);
        }
    }

    /// Adds what an event counted beside its request's fact (the department being the one the
    /// effect names).
    pub fn add_effect(&mut self, fact: &Fact, effect: &Effect) {
        let (day, department_id, cell) = match effect {
            Effect::TakeCharge {
                department_id,
                taken_on,
                minutes,
            } => (
                *taken_on,
                department_id,
                Cell {
                    take_charge: Hours::one(*minutes),
                    ..Cell::default()
                },
            ),
            Effect::Activity {
                day,
                activity,
                department_id,
            } => {
                let mut cell = Cell::default();
                match activity {
                    Activity::Reminder => cell.reminders = 1,
                    Activity::Redirection => cell.redirections = 1,
                    Activity::Forwarding => cell.forwardings = 1,
                    Activity::Reopening => cell.reopenings = 1,
                    Activity::Handback => cell.handbacks = 1,
                }
                (*day, department_id, cell)
            }
        };
        self.add(
            &fact.organisation_id,
            day,
            &Dims::of(fact, department_id),
            &cell,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn spans_cover_a_period_exactly_with_the_coarsest_cells() {
        use Grain::*;
        assert_eq!(
            Year.spans(d("2025-01-01"), d("2025-12-31")),
            [(Year, d("2025-01-01"), d("2025-01-01"))]
        );
        assert_eq!(
            Year.spans(d("2024-11-15"), d("2026-02-10")),
            [
                (Year, d("2025-01-01"), d("2025-01-01")),
                (Month, d("2024-12-01"), d("2024-12-01")),
                (Day, d("2024-11-15"), d("2024-11-30")),
                (Month, d("2026-01-01"), d("2026-01-01")),
                (Day, d("2026-02-01"), d("2026-02-10")),
            ]
        );
        assert_eq!(
            Month.spans(d("2025-01-01"), d("2025-12-31")),
            [(Month, d("2025-01-01"), d("2025-12-01"))]
        );
        assert_eq!(
            Year.spans(d("2025-03-02"), d("2025-03-30")),
            [(Day, d("2025-03-02"), d("2025-03-30"))]
        );
        assert_eq!(
            Day.spans(d("2025-02-01"), d("2025-02-28")),
            [(Day, d("2025-02-01"), d("2025-02-28"))]
        );
        assert!(Year.spans(d("2025-02-02"), d("2025-02-01")).is_empty());
    }

    #[test]
    fn hours_round_trip_through_their_bytes() {
        let hours = Hours(BTreeMap::from([(0, 3), (5, 1), (200, 70_000), (9_000, -2)]));
        assert_eq!(Hours::decoded(&hours.encode()), hours);
        assert!(Hours::default().encode().is_empty());
    }

    #[test]
    fn adding_and_taking_away_leaves_nothing() {
        let mut cell = Cell {
            received: 2,
            answer: Hours::one(125),
            ..Cell::default()
        };
        cell.reasons.insert("cortesia".into(), 1);
        let copy = cell.clone();
        cell.add(&copy, -1);
        assert!(cell.is_empty(), "{cell:?}");
    }
}
