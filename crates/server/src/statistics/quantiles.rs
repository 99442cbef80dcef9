//! Medians and 90th percentiles from counted values (durations in whole hours), by nearest rank:
//! the p-th percentile is the smallest value with at least p% of the values at or below it.
//! Pure.

use std::collections::BTreeMap;

use serde::Serialize;

/// How many values there were, their median and 90th percentile (hours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quantiles {
    pub count: i64,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

/// Values counted: value → how many times it occurs. Small values (every duration under seven
/// years, in hours) are counted in a dense array, so adding hundreds of thousands of them stays
/// cheap; larger or negative ones in a map.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    dense: Vec<i64>,
    sparse: BTreeMap<i64, i64>,
}

const DENSE: i64 = 65_536;

impl Histogram {
    pub fn add(&mut self, value: i64, count: i64) {
        if (0..DENSE).contains(&value) {
            let at = value as usize;
            if at >= self.dense.len() {
                self.dense.resize(at + 1, 0);
            }
            self.dense[at] += count;
        } else {
            *self.sparse.entry(value).or_default() += count;
        }
    }

    pub fn count(&self) -> i64 {
        self.dense.iter().sum::<i64>() + self.sparse.values().sum::<i64>()
    }

    /// Every value counted, in order, with its count.
    fn values(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let negative = self.sparse.range(..0).map(|(v, n)| (*v, *n));
        let dense = (self.dense.iter().enumerate())
            .filter(|(_, n)| **n != 0)
            .map(|(v, n)| (v as i64, *n));
        let large = self.sparse.range(DENSE..).map(|(v, n)| (*v, *n));
        negative.chain(dense).chain(large)
    }

    /// The nearest-rank percentile `p` (0 < p ≤ 100), if there is any value.
    pub fn percentile(&self, p: i64) -> Option<i64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (p * total + 99) / 100;
        let mut seen = 0;
        for (value, count) in self.values() {
            seen += count;
            if seen >= rank.max(1) {
                return Some(value);
            }
        }
        None
    }

    pub fn quantiles(&self) -> Quantiles {
        Quantiles {
            count: self.count(),
            median: self.percentile(50),
            p90: self.percentile(90),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[i64]) -> Histogram {
        let mut histogram = Histogram::default();
        for value in values {
            histogram.add(*value, 1);
        }
        histogram
    }

    #[test]
    fn nearest_rank_median_and_90th_percentile() {
        let q = of(&[48, 24, 240, 72, 120]).quantiles();
        assert_eq!(
            q,
            Quantiles {
                count: 5,
                median: Some(72),
                p90: Some(240)
            }
        );
        // Four values: the median is the second (rank ⌈2⌉), the 90th the fourth (rank ⌈3.6⌉).
        let q = of(&[10, 20, 30, 40]).quantiles();
        assert_eq!((q.median, q.p90), (Some(20), Some(40)));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(of(&ten).percentile(90), Some(9));
    }

    #[test]
    fn counted_values_weigh_as_many_and_nothing_gives_none() {
        let mut histogram = Histogram::default();
        histogram.add(5, 3);
        histogram.add(100, 1);
        assert_eq!(histogram.percentile(50), Some(5));
        assert_eq!(histogram.percentile(90), Some(100));
        assert_eq!(Histogram::default().quantiles(), Quantiles::default());
        // Beyond the dense range and below zero, in order all the same.
        let mut wide = Histogram::default();
        wide.add(70_000, 1);
        wide.add(-1, 1);
        wide.add(3, 2);
        assert_eq!(
            (wide.percentile(25), wide.percentile(75)),
            (Some(-1), Some(3))
        );
        assert_eq!(wide.percentile(100), Some(70_000));
    }
}
