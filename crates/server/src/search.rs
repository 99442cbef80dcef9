//! Italian-aware search text. MariaDB's full-text search knows no Italian stemmer, so text is
//! folded (lower case, accents stripped: "perché" = "perche") and stemmed with the Snowball
//! stemmer ("certificato", "certificati", "certificazione" → "certific") here, in Rust, both when
//! an indexed column is written and when a query is read; the FULLTEXT index then matches stems.

use rust_stemmers::{Algorithm, Stemmer};
use serde::Serialize;
use sportello_domain::Language;
pub use sportello_projections::words::{fold, words};

/// Words too common to search for (after folding), per language.
const STOP_IT: &[&str] = &[
    "a", "ad", "al", "alla", "alle", "agli", "ai", "allo", "anche", "che", "chi", "ci", "come",
    "con", "cosa", "da", "dal", "dalla", "dei", "del", "della", "delle", "dello", "degli", "di",
    "e", "ed", "gli", "ha", "ho", "i", "il", "in", "io", "la", "le", "lo", "ma", "mi", "ne", "nel",
    "nella", "non", "o", "per", "perche", "piu", "quale", "quando", "se", "si", "sono", "su",
    "sul", "sulla", "tra", "fra", "un", "una", "uno", "mio", "mia", "mie", "miei", "posso", "devo",
    "essere", "e'", "l", "un'", "dove", "quanto", "questo", "questa", "voglio", "vorrei", "ciao",
    // Elided forms, as the words split at the apostrophe: "d'identità", "dell'anagrafe".
    "d", "dell", "dall", "nell", "sull", "all", "c", "quest", "quell", "po", "s", "m", "t", "v",
];
const STOP_EN: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "for", "from", "how", "i", "in",
    "is", "it", "my", "of", "on", "or", "the", "to", "what", "when", "where", "which", "who",
    "why", "with", "you", "your", "me", "want", "need",
];

fn stemmer(language: Language) -> Stemmer {
    Stemmer::create(match language {
        Language::It => Algorithm::Italian,
        Language::En => Algorithm::English,
    })
}

fn is_stop(language: Language, word: &str) -> bool {
    match language {
        Language::It => STOP_IT.contains(&word),
        Language::En => STOP_EN.contains(&word),
    }
}

/// The stem of one folded word. Stems are padded to three characters, the shortest token the
/// full-text index keeps ("iva" stays, "tv" becomes "tv_").
pub fn stem_word(stemmer: &Stemmer, word: &str) -> String {
    let stem = stemmer.stem(word).into_owned();
    if stem.chars().count() < 3 {
        format!("{stem:_<3}")
    } else {
        stem
    }
}

/// The stems of a text, in order, without stop words: what an indexed column holds.
pub fn stems(language: Language, text: &str) -> Vec<String> {
    let stemmer = stemmer(language);
    words(text)
        .into_iter()
        // A lone letter or digit says nothing (an elision, a house number's letter).
        .filter(|w| w.chars().count() > 1 && !is_stop(language, w))
        .map(|w| stem_word(&stemmer, &w))
        .collect()
}

/// The indexed form of a text.
pub fn index_text(language: Language, text: &str) -> String {
    stems(language, text).join(" ")
}

/// How much of a stem a query keeps: derivations differ after it ("certific-ato",
/// "certif-icazione"), so a query word matches every indexed stem that starts the same way.
const PREFIX: usize = 6;

fn prefix(stem: &str) -> String {
    stem.chars()
        .take(PREFIX)
        .collect::<String>()
        .trim_end_matches('_')
        .to_string()
}

/// The query's stems as the prefixes that are searched for.
pub fn query_prefixes(language: Language, query: &str) -> Vec<String> {
    let mut prefixes: Vec<String> = stems(language, query).iter().map(|s| prefix(s)).collect();
    prefixes.sort();
    prefixes.dedup();
    prefixes.truncate(12);
    prefixes
}

/// A query for `MATCH … AGAINST (… IN BOOLEAN MODE)`: every stem's prefix optional (`prefix*`),
/// so more matching words rank higher; `None` when nothing is left to search.
pub fn boolean_query(language: Language, query: &str) -> Option<String> {
    let stems = query_prefixes(language, query);
    if stems.is_empty() {
        return None;
    }
    Some(
        stems
            .iter()
            .map(|s| {
                format!(
                    "{}*",
                    s.replace(|c: char| !c.is_alphanumeric() && c != '_', "")
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A piece of displayed text, marked when its word matches the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Piece {
    pub text: String,
    pub hit: bool,
}

/// Splits `text` into pieces, marking the words whose stem is one of the query's stems (so
/// "certificati" is highlighted for the query "certificato"). The template escapes each piece.
pub fn highlight(language: Language, text: &str, query: &str) -> Vec<Piece> {
    let stemmer = stemmer(language);
    let wanted: Vec<String> = query_prefixes(language, query);
    let mut pieces: Vec<Piece> = Vec::new();
    let mut push = |text: &str, hit: bool| match pieces.last_mut() {
        Some(last) if last.hit == hit => last.text.push_str(text),
        _ => pieces.push(Piece {
            text: text.to_string(),
            hit,
        }),
    };
    let mut word = String::new();
    let flush = |word: &mut String, push: &mut dyn FnMut(&str, bool)| {
        if word.is_empty() {
            return;
        }
        let folded = fold(word);
        let hit = !is_stop(language, &folded) && {
            let stem = stem_word(&stemmer, &folded);
            wanted.iter().any(|w| stem.starts_with(w.as_str()))
        };
        push(word, hit);
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut push);
            let mut buffer = [0u8; 4];
            push(c.encode_utf8(&mut buffer), false);
        }
    }
    flush(&mut word, &mut push);
    pieces
}

/// A short excerpt of `text` around its first match (or its start), about `length` characters.
pub fn excerpt(language: Language, text: &str, query: &str, length: usize) -> Vec<Piece> {
    let pieces = highlight(language, text, query);
    let first_hit: usize = pieces
        .iter()
        .take_while(|p| !p.hit)
        .map(|p| p.text.chars().count())
        .sum();
    let start = first_hit.saturating_sub(length / 3);
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= length {
        return pieces;
    }
    let end = (start + length).min(chars.len());
    let mut cut: String = chars[start..end].iter().collect();
    if start > 0 {
        cut = format!("…{cut}");
    }
    if end < chars.len() {
        cut.push('…');
    }
    highlight(language, &cut, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_and_derivations_share_a_prefix() {
        let it = |w: &str| query_prefixes(Language::It, w).join(" ");
        assert_eq!(it("certificato"), it("certificati"));
        assert_eq!(it("certificato"), it("certificazione"));
        assert_eq!(it("residenza"), it("residenze"));
        for indexed in ["certificato", "certificati", "certificazione"] {
            let stem = index_text(Language::It, indexed);
            assert!(stem.starts_with(&it("certificato")), "{indexed} → {stem}");
        }
    }

    #[test]
    fn accents_fold_away() {
        assert_eq!(fold("Perché CITTÀ"), "perche citta");
        assert_eq!(stems(Language::It, "città"), stems(Language::It, "citta"));
    }

    #[test]
    fn stop_words_are_not_searched() {
        assert_eq!(boolean_query(Language::It, "come e perché"), None);
        let query = boolean_query(Language::It, "Come rinnovo la carta d'identità?").unwrap();
        assert!(query.contains("rinnov*"), "{query}");
        assert!(!query.contains("com*"), "{query}");
    }

    #[test]
    fn matches_are_highlighted_whatever_their_inflection() {
        let pieces = highlight(
            Language::It,
            "Certificati di residenza, subito.",
            "certificato",
        );
        assert_eq!(
            pieces[0],
            Piece {
                text: "Certificati".into(),
                hit: true
            }
        );
        assert!(pieces[1..].iter().all(|p| !p.hit));
        let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, "Certificati di residenza, subito.");
    }

    #[test]
    fn short_stems_are_padded_for_the_index() {
        let stemmer = stemmer(Language::It);
        assert_eq!(stem_word(&stemmer, "tv"), "tv_");
    }
}
