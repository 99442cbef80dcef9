//! The closed lists a request is described with: kind, channel and language.

use serde::{Deserialize, Serialize};

/// What the citizen is sending (glossary: richiesta di informazioni, reclamo, suggerimento, elogio).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Information,
    Complaint,
    Suggestion,
    Praise,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Information,
        Kind::Complaint,
        Kind::Suggestion,
        Kind::Praise,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Information => "information",
            Kind::Complaint => "complaint",
            Kind::Suggestion => "suggestion",
            Kind::Praise => "praise",
        }
    }

    pub fn parse(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// How the request reached the Comune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Counter,
    Phone,
    Letter,
    Email,
    Pec,
    Api,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Counter => "counter",
            Channel::Phone => "phone",
            Channel::Letter => "letter",
            Channel::Email => "email",
            Channel::Pec => "pec",
            Channel::Api => "api",
        }
    }
}

/// The language the citizen chose; their e-mails are written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    It,
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::It => "it",
            Language::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Language> {
        match code {
            "it" => Some(Language::It),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}
