//! The yearly reference a request is known by, `YYYY/NNNNNNN`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Year and a 7-digit number that restarts on 1 January (Europe/Rome). It names a request;
/// it never grants access to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    year: i32,
    number: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("a reference reads YYYY/NNNNNNN")]
    Malformed,
    #[error("a reference number runs from 1 to 9999999")]
    OutOfRange,
}

impl Reference {
    pub const MAX_NUMBER: u32 = 9_999_999;

    pub fn new(year: i32, number: u32) -> Result<Reference, ReferenceError> {
        if !(1..=Self::MAX_NUMBER).contains(&number) || !(1000..=9999).contains(&year) {
            return Err(ReferenceError::OutOfRange);
        }
        Ok(Reference { year, number })
    }

    /// Parses what someone typed in a search box (spaces around it allowed).
    pub fn from_str_loose(text: &str) -> Option<Reference> {
        text.trim().parse().ok()
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    pub fn number(&self) -> u32 {
        self.number
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:07}", self.year, self.number)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<Reference, ReferenceError> {
        let (year, number) = text.split_once('/').ok_or(ReferenceError::Malformed)?;
        let digits =
            |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(number, 7) {
            return Err(ReferenceError::Malformed);
        }
        let year = year.parse().map_err(|_| ReferenceError::Malformed)?;
        let number = number.parse().map_err(|_| ReferenceError::Malformed)?;
        Reference::new(year, number)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Reference, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
