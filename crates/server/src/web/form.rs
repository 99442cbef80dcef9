//! Form errors as pages show them: each tied to its field, translated, with the id the field's
//! `aria-describedby` and the error summary's link point at (see templates/macros.html).

use serde::Serialize;
use sportello_domain::Language;

use super::i18n;

/// One option of a select or a group of radio buttons: what is sent, and what is shown.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// A field and the catalogue key of what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: &'static str,
    /// What the message is about when the field holds several things (a file's name).
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShownError {
    pub field: String,
    pub id: String,
    pub text: String,
}

/// A field's problem: the field, a catalogue key and the key's placeholders.
type Problem = (String, String, Vec<(String, String)>);

/// The errors of one submission, in the order the fields appear.
#[derive(Debug, Default)]
pub struct Errors {
    list: Vec<Problem>,
}

impl Errors {
    pub fn new() -> Errors {
        Errors::default()
    }

    /// `field`'s problem, as a catalogue key.
    pub fn add(&mut self, field: &str, key: &str) {
        self.add_with(field, key, &[]);
    }

    /// `field`'s problem, as a catalogue key with `{name}` placeholders filled.
    pub fn add_with(&mut self, field: &str, key: &str, values: &[(&str, &str)]) {
        let values = values
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self.list.push((field.to_string(), key.to_string(), values));
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.list.iter().any(|(f, _, _)| f == field)
    }

    pub fn shown(&self, language: Language) -> Vec<ShownError> {
        self.list
            .iter()
            .enumerate()
            .map(|(index, (field, key, values))| {
                let values: Vec<(&str, &str)> = values
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect();
                ShownError {
                    field: field.clone(),
                    id: format!("{field}-error-{}", index + 1),
                    text: i18n::text(language, key, &values),
                }
            })
            .collect()
    }
}
