//! Words for searching: text folded (lower case, accents and other marks stripped: "perché" =
//! "perche") and split into words of letters and digits, here for the inbox's search and for the
//! FAQ's (`faq::search` in the server stems them for its own index).

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

/// Lower case without accents or other marks.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of a text, folded, as they appear (letters and digits).
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The longest term kept (the index's column is this wide).
pub const TERM_MAX: usize = 64;

/// The inbox's search terms of a text: each word folded and stemmed with the Italian stemmer
/// (so "lampioni" and "Lampione" are one term, and "Rossi" is found by "Rossi" or "Ross"),
/// and each pictograph on its own (so "🚧" finds a subject that carries it). Letters and
/// digits only, never an operator of any query language: what a person types is compared as
/// data, term for term. Words of one character are dropped; the result has no duplicates.
pub fn search_terms(text: &str) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::Italian);
    let mut terms: Vec<String> = Vec::new();
    let mut push = |term: String| {
        if !terms.contains(&term) {
            terms.push(term);
        }
    };
    for word in words(text) {
        if word.chars().count() < 2 {
            continue;
        }
        let term = if word.chars().all(|c| c.is_ascii_digit()) {
            word
        } else {
            stemmer.stem(&word).into_owned()
        };
        push(term.chars().take(TERM_MAX).collect());
    }
    for c in text.chars().filter(|c| is_pictograph(*c)) {
        push(c.to_string());
    }
    terms
}

/// A symbol people type as a word of its own: emoji and other pictographs (not letters,
/// digits, spaces or punctuation, nor the invisible pieces that join or colour emoji).
fn is_pictograph(c: char) -> bool {
    let code = c as u32;
    code >= 0x2100
        && !c.is_alphanumeric()
        && !c.is_whitespace()
        && !matches!(
            code,
            0x2000..=0x206F         // general punctuation, joiners, format characters
                | 0xFE00..=0xFE0F   // variation selectors
                | 0x1F3FB..=0x1F3FF // skin tones
                | 0xE0000..=0xE007F // tags
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_fold_stem_and_keep_pictographs() {
        assert_eq!(search_terms("Lampioni"), search_terms("lampione"));
        assert_eq!(search_terms("Città"), search_terms("citta"));
        assert_eq!(search_terms("Cantiere 🚧 aperto"), ["cant", "apert", "🚧"]);
        assert_eq!(search_terms("12 lampione 12"), ["12", "lampion"]);
    }

    #[test]
    fn operators_are_not_terms() {
        for typed in [
            "mario.rossi@example.it",
            "\"a b\" @3",
            "x@",
            "+a -b* ~c (d) <e> f\"",
        ] {
            for term in search_terms(typed) {
                assert!(term.chars().all(char::is_alphanumeric), "{typed}: {term}");
            }
        }
        assert_eq!(
            search_terms("mario.rossi@example.it"),
            ["mar", "ross", "exampl", "it"]
        );
        assert!(search_terms("x@ a").is_empty());
    }
}
