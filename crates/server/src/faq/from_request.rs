//! A draft FAQ from an answered request, in one click: its subject and answer, the citizen's
//! personal data taken out, opened in the editor for review (never published by itself).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use sportello_domain::{Language, RequestEvent};

use super::staff::QUESTION_MAX;
use super::store::{self, Draft, Text};
use crate::backoffice::visible_to;
use crate::personal;
use crate::staff::Urp;
use crate::state::AppState;
use crate::web::checked::{CsrfForm, NoFields};
use crate::web::{AppError, Result};

/// Replaces the citizen's personal data in a text staff wrote for them: their names, e-mail
/// and phone, and anything shaped like an e-mail address, a phone number or a fiscal code.
pub fn depersonalise(text: &str, known: &[&str]) -> String {
    let mut out = text.to_string();
    let mut known: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| k.trim().chars().count() >= 2)
        .collect();
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    for value in known {
        out = replace_case_insensitive(&out, value.trim(), "[…]");
    }
    out.split_inclusive(char::is_whitespace)
        .map(|token| {
            let word = token.trim_end();
            let bare = word.trim_matches(|c: char| ",.;:()[]<>\"'".contains(c));
            let digits = bare.chars().filter(char::is_ascii_digit).count();
            let is_email = bare.contains('@') && bare.contains('.');
            let is_phone = digits >= 6
                && bare
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+-./".contains(c));
            let is_fiscal =
                bare.len() == 16 && bare.chars().all(|c| c.is_ascii_alphanumeric()) && digits >= 5;
            if is_email || is_phone || is_fiscal {
                format!("{}{}", word.replace(bare, "[…]"), &token[word.len()..])
            } else {
                token.to_string()
            }
        })
        .collect()
}

fn replace_case_insensitive(text: &str, needle: &str, with: &str) -> String {
    let lower = text.to_lowercase();
    let needle_lower = needle.to_lowercase();
    if needle_lower.is_empty() || lower.len() != text.len() {
        return text.replace(needle, with);
    }
    let mut out = String::new();
    let mut last = 0;
    for (index, _) in lower.match_indices(&needle_lower) {
        out.push_str(&text[last..index]);
        out.push_str(with);
        last = index + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

/// One click on an answered request: a draft FAQ (unpublished) from its subject and answer, with
/// the citizen's personal data taken out, opened in the editor for review.
pub async fn from_request(
    State(app): State<AppState>,
    Urp(signed_in): Urp,
    Path(id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let visible = visible_to(&app, &signed_in.staff, &id).await?;
    let RequestEvent::RequestReceived {
        topic,
        language,
        personal: sealed,
        ..
    } = &visible.received
    else {
        return Err(AppError::NotFound);
    };
    let answer = visible.events.iter().rev().find_map(|r| match &r.event {
        RequestEvent::RequestAnswered { message, .. } => Some(message.clone()),
        _ => None,
    });
    let Some(answer) = answer else {
        return Err(AppError::NotFound);
    };
    let answer = personal::open_text(&app.pool, &answer)
        .await?
        .ok_or(AppError::Gone)?;
    let citizen = personal::open(&app.pool, sealed)
        .await?
        .ok_or(AppError::Gone)?;
    let full_name = format!("{} {}", citizen.first_name, citizen.last_name);
    let known = [
        full_name.as_str(),
        citizen.first_name.as_str(),
        citizen.last_name.as_str(),
        citizen.email.as_str(),
        citizen.phone.as_deref().unwrap_or(""),
    ];
    let text = Text {
        question: depersonalise(&citizen.subject, &known)
            .chars()
            .take(QUESTION_MAX)
            .collect(),
        answer: depersonalise(&answer, &known),
    };
    let draft = Draft {
        topic_code: topic.clone(),
        position: 0,
        published: false,
        it: (*language == Language::It).then(|| text.clone()),
        en: (*language == Language::En).then_some(text),
        source_request: Some(id.clone()),
    };
    let faq = store::save(
        &app.pool,
        app.organisation_id,
        None,
        &draft,
        signed_in.staff.id,
        app.clock.now(),
    )
    .await?;
    tracing::info!(faq_id = %faq, aggregate_id = %id, "draft FAQ made from a request");
    Ok(Redirect::to(&format!("/ufficio/faq/{faq}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::depersonalise;

    #[test]
    fn personal_data_is_taken_out() {
        let text = "Gentile Maria Rossi, la chiameremo al 333 1234567 o scriva a maria.rossi@example.it (RSSMRA80A41H501Z).";
        let out = depersonalise(
            text,
            &[
                "Maria Rossi",
                "Maria",
                "Rossi",
                "maria.rossi@example.it",
                "333 1234567",
            ],
        );
        assert!(
            !out.contains("Maria") && !out.contains("Rossi") && !out.contains("333"),
            "{out}"
        );
        assert!(!out.contains("RSSMRA"), "{out}");
        assert!(out.starts_with("Gentile […],"), "{out}");
    }
}
