//! The translation catalogue (`i18n/it.txt`, `i18n/en.txt`: `key = value` lines, `{name}`
//! placeholders) and the visitor's language: Italian unless they chose English.

use std::collections::HashMap;
use std::sync::LazyLock;

use sportello_domain::Language;

pub const LANGUAGE_COOKIE: &str = "sportello_lang";

static CATALOGUES: LazyLock<[HashMap<String, String>; 2]> = LazyLock::new(|| {
    [
        parse(include_str!("../../i18n/it.txt")).expect("i18n/it.txt is well formed"),
        parse(include_str!("../../i18n/en.txt")).expect("i18n/en.txt is well formed"),
    ]
});

fn parse(text: &str) -> Result<HashMap<String, String>, String> {
    let mut entries = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(" = ")
            .ok_or(format!("line {}: expected `key = value`", index + 1))?;
        if entries
            .insert(key.trim().to_string(), value.trim().to_string())
            .is_some()
        {
            return Err(format!("line {}: duplicate key {key}", index + 1));
        }
    }
    Ok(entries)
}

fn catalogue(language: Language) -> &'static HashMap<String, String> {
    match language {
        Language::It => &CATALOGUES[0],
        Language::En => &CATALOGUES[1],
    }
}

/// The text for `key` in `language` with `{name}` placeholders filled. A missing key shows
/// itself (and a test fails), so a gap is visible rather than silently in another language.
pub fn text(language: Language, key: &str, args: &[(&str, &str)]) -> String {
    let Some(template) = catalogue(language).get(key) else {
        tracing::warn!(key, language = language.code(), "missing translation");
        return key.to_string();
    };
    let mut out = template.clone();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Whether `key` exists in every language (tests check each key a template uses).
pub fn has(key: &str) -> bool {
    CATALOGUES
        .iter()
        .all(|catalogue| catalogue.contains_key(key))
}

/// Every key, for the test that both catalogues say the same things.
pub fn keys(language: Language) -> Vec<&'static String> {
    let mut keys: Vec<_> = catalogue(language).keys().collect();
    keys.sort();
    keys
}

pub fn from_headers(headers: &axum::http::HeaderMap) -> Language {
    super::cookies::get(headers, LANGUAGE_COOKIE)
        .and_then(Language::parse)
        .unwrap_or(Language::It)
}

/// The language an API caller asks for with `Accept-Language` (the most preferred of Italian
/// and English; Italian when it names neither).
pub fn from_accept_language(headers: &axum::http::HeaderMap) -> Language {
    let Some(value) = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Language::It;
    };
    let mut best: Option<(f32, Language)> = None;
    for entry in value.split(',') {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let weight = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        let Some(language) = Language::parse(primary) else {
            continue;
        };
        if weight > 0.0 && best.is_none_or(|(b, _)| weight > b) {
            best = Some((weight, language));
        }
    }
    best.map_or(Language::It, |(_, language)| language)
}

/// "9 aprile 2026" / "9 April 2026".
pub fn long_date(language: Language, date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let month = text(language, &format!("month.{}", date.month()), &[]);
    format!("{} {} {}", date.day(), month, date.year())
}

/// "9 aprile 2026": the day in Rome.
pub fn date(language: Language, at: chrono::DateTime<chrono::Utc>) -> String {
    long_date(
        language,
        at.with_timezone(&chrono_tz::Europe::Rome).date_naive(),
    )
}

/// "9 aprile 2026, 10:05" in Rome's time.
pub fn date_time(language: Language, at: chrono::DateTime<chrono::Utc>) -> String {
    let local = at.with_timezone(&chrono_tz::Europe::Rome);
    format!(
        "{}, {}",
        long_date(language, local.date_naive()),
        local.format("%H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        assert_eq!(keys(Language::It), keys(Language::En));
    }

    #[test]
    fn placeholders_are_filled() {
        assert!(text(
            Language::En,
            "confirmation.deadline",
            &[("date", "9 April 2026")]
        )
        .contains("9 April 2026"));
    }
}
