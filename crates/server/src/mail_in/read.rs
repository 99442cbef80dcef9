//! What a message read from a mailbox is (`mail-parser`): a citizen's letter, a reply to one of
//! our mails, a bounce of one of them, a PEC receipt, or something no automaton may answer. Pure:
//! bytes in, a reading out; the database decides the rest (`ingest`).

use mail_parser::{Address, Message, MessageParser, MimeHeaders};

/// Why a message waits for a person instead of becoming a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Not a message we can read (no sender, broken MIME).
    Malformed,
    /// Written by an automaton: an out-of-office, a list, a mailer daemon, a null sender.
    Automatic,
    /// From one of the Comune's own addresses (a loop, or staff writing to themselves).
    OwnAddress,
    /// Names a reply address that belongs to no request.
    UnknownReply,
    /// A bounce about no mail we sent.
    UnmatchedBounce,
    /// A PEC receipt about no mail we sent.
    UnmatchedReceipt,
    /// Larger than the configured limit.
    TooLarge,
    /// This sender wrote more than the hourly allowance.
    OverRate,
    /// A letter that could not be filed as a request (kept for a person to file it).
    NotFiled,
}

impl Held {
    pub const ALL: [Held; 9] = [
        Held::Malformed,
        Held::Automatic,
        Held::OwnAddress,
        Held::UnknownReply,
        Held::UnmatchedBounce,
        Held::UnmatchedReceipt,
        Held::TooLarge,
        Held::OverRate,
        Held::NotFiled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Held::Malformed => "malformed",
            Held::Automatic => "automatic",
            Held::OwnAddress => "own_address",
            Held::UnknownReply => "unknown_reply",
            Held::UnmatchedBounce => "unmatched_bounce",
            Held::UnmatchedReceipt => "unmatched_receipt",
            Held::TooLarge => "too_large",
            Held::OverRate => "over_rate",
            Held::NotFiled => "not_filed",
        }
    }

    pub fn parse(code: &str) -> Option<Held> {
        Held::ALL.into_iter().find(|held| held.code() == code)
    }
}

/// A citizen's message: who wrote, about what, what they said and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub address: String,
    pub first_name: String,
    pub last_name: String,
    pub subject: String,
    pub text: String,
    /// Attached files as sent (name, bytes); they pass the web form's checks later.
    pub files: Vec<(String, Vec<u8>)>,
    pub message_id: Option<String>,
    /// Came inside a PEC envelope (`postacert.eml`).
    pub pec: bool,
    /// The reply token of a `+r…` recipient, when there is one.
    pub reply_token: Option<String>,
}

/// A PEC provider's receipt (`X-Ricevuta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    Acceptance,
    Delivery,
    NotAccepted,
    DeliveryError,
}

impl Receipt {
    pub fn parse(header: &str) -> Option<Receipt> {
        match header.trim() {
            "accettazione" => Some(Receipt::Acceptance),
            "avvenuta-consegna" => Some(Receipt::Delivery),
            "non-accettazione" => Some(Receipt::NotAccepted),
            "errore-consegna" | "preavviso-errore-consegna" => Some(Receipt::DeliveryError),
            _ => None,
        }
    }
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Letter(Box<Letter>),
    /// A delivery-status notification about the mail whose Message-ID is given.
    Bounce {
        original: Option<String>,
        reason: String,
    },
    /// A PEC receipt about the mail whose Message-ID is given.
    PecReceipt {
        receipt: Receipt,
        original: Option<String>,
        /// The receipt's `daticert.xml`, kept as evidence.
        daticert: Option<String>,
    },
    Held(Held),
}

/// The Message-ID of any message, for its identity: the header without angle brackets, or `None`.
pub fn message_id(raw: &[u8]) -> Option<String> {
    MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.message_id().map(str::to_string))
}

/// The sender's address in lower case, from the headers alone.
pub fn sender(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse_headers(raw)?;
    first_address(message.from()).map(|(address, _)| address)
}

/// The subject, from the headers alone.
pub fn subject(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse_headers(raw)?;
    message.subject().map(str::to_string)
}

/// Reads a whole message. `own` tells whether an address is one of the Comune's.
pub fn read(raw: &[u8], own: &dyn Fn(&str) -> bool) -> Reading {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Reading::Held(Held::Malformed);
    };
    if let Some(receipt) = message.header_raw("X-Ricevuta").and_then(Receipt::parse) {
        return Reading::PecReceipt {
            receipt,
            original: message
                .header_raw("X-Riferimento-Message-ID")
                .map(|id| id.trim().trim_matches(['<', '>']).to_string()),
            daticert: attached_text(&message, "daticert.xml"),
        };
    }
    if is_report(&message) {
        return bounce(&message);
    }
    opened(&message, Some(own))
}

/// The letter a held message holds, for a person who decided to file it anyway (it was
/// automatic, or from one of the Comune's addresses): `None` when it holds none.
pub fn letter_anyway(raw: &[u8]) -> Option<Letter> {
    let message = MessageParser::default().parse(raw)?;
    match opened(&message, None) {
        Reading::Letter(letter) => Some(*letter),
        _ => None,
    }
}

/// The letter of a message, out of its PEC envelope when it has one; checked against automatic
/// and own senders when `own` is given.
fn opened(message: &Message<'_>, own: Option<&dyn Fn(&str) -> bool>) -> Reading {
    let pec = message
        .header_raw("X-Trasporto")
        .is_some_and(|value| value.trim() == "posta-certificata");
    if pec {
        // The citizen's own message travels inside the provider's envelope.
        let inner = message
            .attachments()
            .find(|part| part.attachment_name() == Some("postacert.eml"))
            .and_then(|part| part.message());
        return match inner {
            Some(inner) => letter(inner, true, own),
            None => Reading::Held(Held::Malformed),
        };
    }
    letter(message, false, own)
}

fn letter(message: &Message<'_>, pec: bool, own: Option<&dyn Fn(&str) -> bool>) -> Reading {
    let Some((address, name)) = first_address(message.from()) else {
        return Reading::Held(Held::Malformed);
    };
    if let Some(own) = own {
        if is_automatic(message, &address) {
            return Reading::Held(Held::Automatic);
        }
        if own(&address) {
            return Reading::Held(Held::OwnAddress);
        }
    }
    let (first_name, last_name) = names(name.as_deref(), &address);
    let text = message
        .body_text(0)
        .map(|text| clean_text(&text))
        .unwrap_or_default();
    let files = message
        .attachments()
        .filter(|part| !part.is_message())
        .map(|part| {
            let name = part.attachment_name().unwrap_or("allegato").to_string();
            (name, part.contents().to_vec())
        })
        .collect();
    Reading::Letter(Box::new(Letter {
        address,
        first_name,
        last_name,
        subject: message
            .subject()
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        text,
        files,
        message_id: message.message_id().map(str::to_string),
        pec,
        reply_token: reply_token(message),
    }))
}

/// The sender's address (lower case) and display name.
fn first_address(address: Option<&Address<'_>>) -> Option<(String, Option<String>)> {
    let addr = address?.first()?;
    let email = addr.address()?.trim().to_lowercase();
    if !crate::mail::is_email(&email) {
        return None;
    }
    let name = addr
        .name()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    Some((email, name))
}

/// First and last name from "Maria Rossi" (or "Rossi, Maria"); the address's local part when the
/// message gives no name.
fn names(display: Option<&str>, address: &str) -> (String, String) {
    let display = display
        .filter(|d| !d.contains('@'))
        .map(|d| d.trim_matches('"').trim().to_string());
    let Some(display) = display.filter(|d| !d.is_empty()) else {
        let local = address.split('@').next().unwrap_or(address);
        return (local.chars().take(100).collect(), String::new());
    };
    if let Some((last, first)) = display.split_once(',') {
        return (first.trim().to_string(), last.trim().to_string());
    }
    match display.rsplit_once(' ') {
        Some((first, last)) => (first.trim().to_string(), last.trim().to_string()),
        None => (display, String::new()),
    }
}

/// RFC 3834 and the customs of lists and daemons: no automatic answer to any of these.
fn is_automatic(message: &Message<'_>, address: &str) -> bool {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|value| value.trim().to_ascii_lowercase())
    };
    let auto_submitted = header("Auto-Submitted").is_some_and(|v| v != "no");
    let bulk = header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "list" | "junk"));
    let listed = header("List-Id").is_some() || header("X-Autoreply").is_some();
    let daemon = {
        let local = address.split('@').next().unwrap_or("");
        local == "mailer-daemon" || local == "postmaster"
    };
    let null_sender = header("Return-Path").is_some_and(|v| v == "<>");
    auto_submitted || bulk || listed || daemon || null_sender
}

/// `multipart/report; report-type=delivery-status` (RFC 3464).
fn is_report(message: &Message<'_>) -> bool {
    message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    })
}

/// The bounced mail's Message-ID (from the returned headers) and the status it reports.
fn bounce(message: &Message<'_>) -> Reading {
    let mut original = None;
    let mut reason = String::from("delivery failed");
    for part in message.parts.iter() {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let subtype = ct.subtype().unwrap_or("").to_ascii_lowercase();
        match (ct.ctype().to_ascii_lowercase().as_str(), subtype.as_str()) {
            ("message", "delivery-status") => {
                let text = String::from_utf8_lossy(part.contents()).to_string();
                if let Some(status) = field(&text, "Status") {
                    reason = format!("status {}", status.chars().take(20).collect::<String>());
                }
            }
            ("text", "rfc822-headers") | ("message", "rfc822") => {
                let headers = part
                    .message()
                    .and_then(|m| m.message_id().map(str::to_string))
                    .or_else(|| {
                        MessageParser::default()
                            .parse_headers(part.contents())
                            .and_then(|m| m.message_id().map(str::to_string))
                    });
                original = original.or(headers);
            }
            _ => {}
        }
    }
    Reading::Bounce { original, reason }
}

/// A `Name: value` line of a delivery-status body.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

fn attached_text(message: &Message<'_>, name: &str) -> Option<String> {
    message
        .attachments()
        .find(|part| part.attachment_name() == Some(name))
        .map(|part| {
            String::from_utf8_lossy(part.contents())
                .chars()
                .take(20_000)
                .collect()
        })
}

/// The token of a reply address (`urp+r<token>@…`) among the message's recipients.
fn reply_token(message: &Message<'_>) -> Option<String> {
    let mut recipients: Vec<String> = Vec::new();
    for address in [message.to(), message.cc()].into_iter().flatten() {
        recipients.extend(
            address
                .iter()
                .filter_map(|a| a.address().map(str::to_string)),
        );
    }
    for name in ["Delivered-To", "X-Original-To"] {
        if let Some(value) = message.header_raw(name) {
            recipients.push(value.trim().trim_matches(['<', '>']).to_string());
        }
    }
    recipients.iter().find_map(|address| {
        let local = address.split('@').next()?;
        let (_, tag) = local.split_once('+')?;
        let token = tag.strip_prefix('r')?;
        (!token.is_empty() && token.len() <= 64).then(|| token.to_ascii_lowercase())
    })
}

/// Text as a person wrote it: line ends made plain, invisible format characters dropped, the
/// length bounded.
fn clean_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let visible = crate::web::text::visible(text.trim());
    visible.chars().take(TEXT_MAX).collect()
}

/// The longest text kept of one message (the rest is in the original, in the mailbox).
pub const TEXT_MAX: usize = 20_000;
