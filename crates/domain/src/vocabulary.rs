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
    pub const ALL: [Channel; 7] = [
        Channel::Web,
        Channel::Counter,
        Channel::Phone,
        Channel::Letter,
        Channel::Email,
        Channel::Pec,
        Channel::Api,
    ];

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

    /// The web: what a field added later defaults to in older events.
    pub fn web() -> Channel {
        Channel::Web
    }
}

/// How the Comune reaches a citizen whose e-mail address does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contact {
    /// By letter.
    Paper,
    /// By telephone.
    Phone,
}

impl Contact {
    pub const ALL: [Contact; 2] = [Contact::Paper, Contact::Phone];

    pub fn code(self) -> &'static str {
        match self {
            Contact::Paper => "paper",
            Contact::Phone => "phone",
        }
    }

    pub fn parse(code: &str) -> Option<Contact> {
        Contact::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// A PEC provider's receipt about a mail sent through it (the `X-Ricevuta` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PecReceipt {
    /// Accettazione: the provider took the mail.
    Acceptance,
    /// Avvenuta consegna: it is in the recipient's mailbox.
    Delivery,
    /// Non accettazione: the provider refused it.
    NotAccepted,
    /// Errore di consegna: it could not be delivered.
    DeliveryError,
}

impl PecReceipt {
    pub const ALL: [PecReceipt; 4] = [
        PecReceipt::Acceptance,
        PecReceipt::Delivery,
        PecReceipt::NotAccepted,
        PecReceipt::DeliveryError,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PecReceipt::Acceptance => "acceptance",
            PecReceipt::Delivery => "delivery",
            PecReceipt::NotAccepted => "not_accepted",
            PecReceipt::DeliveryError => "delivery_error",
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

/// How a request ended (esito).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The citizen got an answer.
    Answered,
    /// The matter belongs to another body; the citizen was told whom to contact.
    NotCompetent,
    /// The citizen withdrew it, or it needs nothing more.
    Withdrawn,
    /// The same matter is followed in another request.
    Duplicate,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Answered,
        Outcome::NotCompetent,
        Outcome::Withdrawn,
        Outcome::Duplicate,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::NotCompetent => "not_competent",
            Outcome::Withdrawn => "withdrawn",
            Outcome::Duplicate => "duplicate",
        }
    }

    pub fn parse(code: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.code() == code)
    }
}

/// Who a take-charge reminder goes to: first the department's referents, then its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderLevel {
    Referents,
    Head,
}

impl ReminderLevel {
    pub fn code(self) -> &'static str {
        match self {
            ReminderLevel::Referents => "referents",
            ReminderLevel::Head => "head",
        }
    }
}
