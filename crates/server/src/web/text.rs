//! Characters that change how text is shown without being seen: the bidirectional controls
//! (U+202E turns `fdp\u{202E}exe.pdf` into what reads as "fdpfdp.exe") and other invisible
//! format characters. They are dropped from what people type (subjects, names, file names) and
//! from every value a template prints, so nothing stored earlier can spoof a page either.
//! The zero-width joiner and non-joiner stay: emoji sequences and some scripts need them.

/// Whether `c` is a bidirectional control or an invisible format character to drop.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                  // soft hyphen
            | '\u{061C}'            // Arabic letter mark
            | '\u{180E}'            // Mongolian vowel separator
            | '\u{200B}'            // zero-width space
            | '\u{200E}'..='\u{200F}' // left-to-right and right-to-left marks
            | '\u{202A}'..='\u{202E}' // embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206F}' // isolates and deprecated format characters
            | '\u{FEFF}'            // zero-width no-break space
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
            | '\u{E0000}'..='\u{E007F}' // tags
    )
}

/// `text` without those characters.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_invisible_format) {
        text.chars().filter(|c| !is_invisible_format(*c)).collect()
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_invisible_characters_go_emoji_and_accents_stay() {
        assert_eq!(visible("fdp\u{202E}exe.pdf"), "fdpexe.pdf");
        assert_eq!(visible("a\u{2066}b\u{2069}c\u{200B}d\u{FEFF}"), "abcd");
        assert_eq!(visible("perché 🚧 👨\u{200D}👩"), "perché 🚧 👨\u{200D}👩");
    }
}
