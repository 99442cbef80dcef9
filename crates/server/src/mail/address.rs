//! E-mail addresses: what counts as one (`is_email`), and Sportello's own: the sender, every department's address and head, every member of
//! staff. None of them may be a citizen's contact (an acknowledgement to the sender's own mailbox
//! starts a loop), and the mail worker never writes to one of them about a request as if it
//! were a citizen.

use std::collections::HashSet;

use crate::state::AppState;

/// A practical check of an address: one @, a dotted domain, no spaces or header-breaking
/// characters, and an address lettre accepts (so it can never alter a mail header).
pub fn is_email(text: &str) -> bool {
    if text.len() > 254
        || text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c))
    {
        return false;
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && text.parse::<lettre::Address>().is_ok()
}

#[derive(Debug, Default, Clone)]
pub struct OwnAddresses(HashSet<String>);

impl OwnAddresses {
    /// The organisation's addresses as the database holds them now (one query).
    pub async fn load(app: &AppState) -> Result<OwnAddresses, sqlx::Error> {
        let organisation = app.organisation_id.to_string();
        let rows: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT email FROM departments WHERE organisation_id = ?
             UNION SELECT head_email FROM departments WHERE organisation_id = ?
             UNION SELECT email FROM staff WHERE organisation_id = ?",
        )
        .bind(&organisation)
        .bind(&organisation)
        .bind(&organisation)
        .fetch_all(&app.pool)
        .await?;
        let mut addresses: HashSet<String> = rows
            .into_iter()
            .flatten()
            .map(|address| normalise(&address))
            .collect();
        addresses.insert(normalise(app.config.mail_from.email.as_ref()));
        Ok(OwnAddresses(addresses))
    }

    pub fn contains(&self, address: &str) -> bool {
        self.0.contains(&normalise(address))
    }

    #[cfg(test)]
    pub fn of(addresses: &[&str]) -> OwnAddresses {
        OwnAddresses(addresses.iter().map(|a| normalise(a)).collect())
    }
}

/// Compared without case and without a `+tag` (`urp+test@comune.it` reaches `urp@comune.it`).
fn normalise(address: &str) -> String {
    let address = address.trim().to_lowercase();
    match address.split_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{domain}")
        }
        None => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_tags_do_not_hide_an_own_address() {
        let own = OwnAddresses::of(&["URP@Comune.test"]);
        assert!(own.contains("urp@comune.test"));
        assert!(own.contains(" Urp+prova@comune.TEST "));
        assert!(!own.contains("urp@comune.example"));
        assert!(!own.contains("maria@comune.test"));
    }
}
