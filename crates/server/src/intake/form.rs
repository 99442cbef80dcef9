//! The new-request form: what was typed (kept as typed, to show it again) and its parsing into a
//! valid request, or the list of field errors.

use serde::{Deserialize, Serialize};
use sportello_domain::Kind;

use crate::mail::{is_email, OwnAddresses};
pub use crate::web::form::FieldError;

/// The form as typed. Every field is a string so a mistake re-renders exactly what was sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewRequestForm {
    pub kind: String,
    pub topic: String,
    pub subject: String,
    pub description: String,
    pub place: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub email_confirmation: String,
    pub phone: String,
    pub privacy: String,
    pub website: String,
    /// Optional coordinates of the place (decimal degrees).
    pub latitude: String,
    pub longitude: String,
}

impl NewRequestForm {
    /// Fills a field by its form name; unknown names are ignored.
    pub fn set(&mut self, name: &str, value: String) {
        let field = match name {
            "kind" => &mut self.kind,
            "topic" => &mut self.topic,
            "subject" => &mut self.subject,
            "description" => &mut self.description,
            "place" => &mut self.place,
            "first_name" => &mut self.first_name,
            "last_name" => &mut self.last_name,
            "email" => &mut self.email,
            "email_confirmation" => &mut self.email_confirmation,
            "phone" => &mut self.phone,
            "privacy" => &mut self.privacy,
            "website" => &mut self.website,
            "latitude" => &mut self.latitude,
            "longitude" => &mut self.longitude,
            _ => return,
        };
        *field = value;
    }
}

/// A request that passed every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    pub kind: Kind,
    pub topic: String,
    pub subject: String,
    pub description: String,
    pub place: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub coordinates: Option<crate::personal::Coordinates>,
}

pub const DESCRIPTION_MIN: usize = 10;
pub const DESCRIPTION_MAX: usize = 4000;
pub const SUBJECT_MAX: usize = 150;
const NAME_MAX: usize = 100;
const PLACE_MAX: usize = 200;

impl NewRequestForm {
    /// Parses the form once, at the edge. `topics` are the codes the citizen could choose;
    /// `own` are Sportello's own addresses, which cannot be a citizen's.
    pub fn parse(
        &self,
        topics: &[String],
        own: &OwnAddresses,
    ) -> Result<ValidRequest, Vec<FieldError>> {
        self.parse_with(topics, own, false)
    }

    /// As `parse`; with `email_optional` (the front office, for someone without e-mail) an
    /// empty address is accepted.
    pub fn parse_with(
        &self,
        topics: &[String],
        own: &OwnAddresses,
        email_optional: bool,
    ) -> Result<ValidRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field, message| {
            errors.push(FieldError {
                field,
                message,
                detail: None,
            })
        };
        let kind = Kind::parse(self.kind.trim());
        if kind.is_none() {
            fail("kind", "form.error.kind");
        }
        let topic = self.topic.trim();
        if !topics.iter().any(|code| code == topic) {
            fail("topic", "form.error.topic");
        }
        let subject = clean_line(&self.subject);
        if subject.is_empty() {
            fail("subject", "form.error.subject_required");
        } else if subject.chars().count() > SUBJECT_MAX {
            fail("subject", "form.error.subject_long");
        }
        let description = self.description.trim().replace("\r\n", "\n");
        let length = description.chars().count();
        if length < DESCRIPTION_MIN {
            fail("description", "form.error.description_short");
        } else if length > DESCRIPTION_MAX {
            fail("description", "form.error.description_long");
        }
        let place = clean_line(&self.place);
        if place.chars().count() > PLACE_MAX {
            fail("place", "form.error.place_long");
        }
        let first_name = clean_line(&self.first_name);
        if first_name.is_empty() || first_name.chars().count() > NAME_MAX {
            fail("first_name", "form.error.first_name");
        }
        let last_name = clean_line(&self.last_name);
        if last_name.is_empty() || last_name.chars().count() > NAME_MAX {
            fail("last_name", "form.error.last_name");
        }
        let email = self.email.trim().to_string();
        if email.is_empty() && email_optional {
        } else if !is_email(&email) {
            fail("email", "form.error.email");
        } else if !email.eq_ignore_ascii_case(self.email_confirmation.trim()) {
            fail("email_confirmation", "form.error.email_confirmation");
        } else if own.contains(&email) {
            fail("email", "form.error.own_address");
        }
        let phone = clean_line(&self.phone);
        if !phone.is_empty() && !is_phone(&phone) {
            fail("phone", "form.error.phone");
        }
        if self.privacy != "accepted" {
            fail("privacy", "form.error.privacy");
        }
        if !self.website.is_empty() {
            fail("website", "form.error.website");
        }
        let coordinates = match coordinates(&self.latitude, &self.longitude) {
            Ok(coordinates) => coordinates,
            Err(field) => {
                fail(field, "form.error.coordinates");
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidRequest {
            kind: kind.expect("checked above"),
            topic: topic.to_string(),
            subject,
            description,
            place: Some(place).filter(|p| !p.is_empty()),
            first_name,
            last_name,
            email,
            phone: Some(phone).filter(|p| !p.is_empty()),
            coordinates,
        })
    }
}

/// Both coordinates or neither, each a decimal number in range (a comma is read as the point).
fn coordinates(
    latitude: &str,
    longitude: &str,
) -> Result<Option<crate::personal::Coordinates>, &'static str> {
    let number = |text: &str| {
        text.trim()
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
    };
    match (latitude.trim(), longitude.trim()) {
        ("", "") => Ok(None),
        (lat, _) if number(lat).is_none_or(|n| !(-90.0..=90.0).contains(&n)) => Err("latitude"),
        (_, long) if number(long).is_none_or(|n| !(-180.0..=180.0).contains(&n)) => {
            Err("longitude")
        }
        (lat, long) => Ok(Some(crate::personal::Coordinates {
            latitude: number(lat).expect("checked"),
            longitude: number(long).expect("checked"),
        })),
    }
}

/// One line of text: trimmed, inner whitespace (including newlines) folded to single spaces,
/// control characters dropped.
fn clean_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() && !crate::web::text::is_invisible_format(*c))
        .collect()
}

fn is_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (6..=15).contains(&digits)
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-./()".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_form() -> NewRequestForm {
        NewRequestForm {
            kind: "complaint".into(),
            topic: "lavori-pubblici".into(),
            subject: "Lampione spento".into(),
            description: "Il lampione di via Roma è spento da una settimana.".into(),
            first_name: "Maria".into(),
            last_name: "Rossi".into(),
            email: "maria.rossi@example.it".into(),
            email_confirmation: "Maria.Rossi@example.it".into(),
            privacy: "accepted".into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_address_of_the_comune_is_not_a_citizens_contact() {
        let mut form = valid_form();
        form.email = "URP@comune.test".into();
        form.email_confirmation = "urp@comune.test".into();
        let own = OwnAddresses::of(&["urp@comune.test"]);
        let errors = form.parse(&topics(), &own).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].field, errors[0].message),
            ("email", "form.error.own_address")
        );
    }

    fn topics() -> Vec<String> {
        vec!["lavori-pubblici".into()]
    }

    fn fields(form: &NewRequestForm) -> Vec<&'static str> {
        form.parse(&topics(), &OwnAddresses::default())
            .unwrap_err()
            .into_iter()
            .map(|error| error.field)
            .collect()
    }

    #[test]
    fn a_complete_form_parses() {
        let valid = valid_form()
            .parse(&topics(), &OwnAddresses::default())
            .unwrap();
        assert_eq!(valid.kind, Kind::Complaint);
        assert_eq!(valid.place, None);
    }

    #[test]
    fn an_empty_form_names_every_required_field() {
        // In the order the form shows them.
        assert_eq!(
            fields(&NewRequestForm::default()).join(" "),
            "kind topic subject description first_name last_name email privacy"
        );
    }

    #[test]
    fn the_description_must_be_between_10_and_4000_characters() {
        let mut form = valid_form();
        form.description = "troppo".into();
        assert_eq!(fields(&form), ["description"]);
        form.description = "è".repeat(4000);
        assert!(
            form.parse(&topics(), &OwnAddresses::default()).is_ok(),
            "4000 accented characters are fine"
        );
        form.description = "a".repeat(4001);
        assert_eq!(fields(&form), ["description"]);
    }

    #[test]
    fn the_email_must_be_an_address_and_confirmed() {
        let mut form = valid_form();
        form.email_confirmation = "other@example.it".into();
        assert_eq!(fields(&form), ["email_confirmation"]);
        for bad in [
            "maria",
            "maria@localhost",
            "a b@example.it",
            "x@example.it\r\nBcc: y@z.it",
            "<x@y.it>",
        ] {
            form.email = bad.into();
            form.email_confirmation = bad.into();
            assert_eq!(fields(&form), ["email"], "{bad:?}");
        }
    }

    #[test]
    fn a_subject_cannot_carry_a_new_line() {
        let mut form = valid_form();
        form.subject = "Riga uno\r\nBcc: someone@example.it".into();
        assert_eq!(
            form.parse(&topics(), &OwnAddresses::default())
                .unwrap()
                .subject,
            "Riga uno Bcc: someone@example.it"
        );
    }

    #[test]
    fn phones_and_the_honeypot_are_checked() {
        let mut form = valid_form();
        form.phone = "call me".into();
        assert_eq!(fields(&form), ["phone"]);
        form.phone = "+39 06 1234 5678".into();
        assert!(form.parse(&topics(), &OwnAddresses::default()).is_ok());
        form.website = "http://spam.example".into();
        assert_eq!(fields(&form), ["website"]);
    }

    #[test]
    fn an_unknown_kind_or_topic_is_refused() {
        let mut form = valid_form();
        form.kind = "lawsuit".into();
        form.topic = "moon".into();
        assert_eq!(fields(&form), ["kind", "topic"]);
    }
}
