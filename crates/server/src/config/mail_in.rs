//! Where the mailboxes are and how to reach them: `SPORTELLO_IMAP_URL` (the URP's address) and
//! `SPORTELLO_PEC_IMAP_URL` (its PEC address), each `imaps://user:password@host:993/INBOX`, or
//! `imap://…` upgraded with STARTTLS. A connection without TLS is accepted only to this machine
//! and only when asked for (`?tls=none`): a password never crosses a network in clear. The
//! server's certificate is checked against the public authorities and, when the Comune's mail
//! server has its own, the ones in `SPORTELLO_IMAP_CA_FILE` (PEM).

use std::time::Duration;

use super::{bad, ConfigError};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`imaps://`, port 993 by default).
    Tls,
    /// Plain TCP upgraded by STARTTLS before signing in (`imap://`, port 143 by default).
    StartTls,
    /// No TLS at all: `imap://…?tls=none`, to a loopback address only (a local Dovecot).
    None,
}

/// One mailbox Sportello reads.
#[derive(Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub security: Security,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The folder new mail arrives in (`INBOX`).
    pub folder: String,
    /// Certificate authorities trusted besides the public ones (`SPORTELLO_IMAP_CA_FILE`, DER):
    /// a Comune's own mail server signed by its own authority.
    pub extra_roots: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Mailbox {
    // Never the password, not even in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Mailbox({:?} {}:{} {} {})",
            self.security, self.host, self.port, self.user, self.folder
        )
    }
}

/// What the mail channel is configured with.
#[derive(Debug, Clone)]
pub struct MailIn {
    /// The URP's ordinary mailbox.
    pub mail: Option<Mailbox>,
    /// The URP's PEC mailbox.
    pub pec: Option<Mailbox>,
    /// Where mail to PEC senders goes out (`smtps://…` of the PEC provider).
    pub pec_smtp_url: Option<String>,
    /// The PEC address mail to PEC senders comes from.
    pub pec_from: Option<lettre::message::Mailbox>,
    /// A larger message is not read: it goes to quarantine with its headers only.
    pub max_bytes: u64,
    /// Messages one sender may send in an hour before the rest wait in quarantine.
    pub per_sender_hour: u32,
    /// How often a mailbox without IDLE is asked for new mail.
    pub poll: Duration,
}

impl MailIn {
    /// Whether any mailbox is read.
    pub fn reads_mail(&self) -> bool {
        self.mail.is_some() || self.pec.is_some()
    }
}

/// The mail-in keys of the configuration; `None` when no mailbox is configured.
pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<MailIn>, ConfigError> {
    let mailbox = |key: &str| {
        get(key)
            .map(|url| parse(&url).map_err(|problem| bad(key, problem)))
            .transpose()
    };
    let mut mail = mailbox("SPORTELLO_IMAP_URL")?;
    let mut pec = mailbox("SPORTELLO_PEC_IMAP_URL")?;
    if let Some(path) = get("SPORTELLO_IMAP_CA_FILE") {
        let roots = authorities(&path).map_err(|problem| bad("SPORTELLO_IMAP_CA_FILE", problem))?;
        for mailbox in mail.iter_mut().chain(pec.iter_mut()) {
            mailbox.extra_roots = roots.clone();
        }
    }
    let pec_smtp_url = get("SPORTELLO_PEC_SMTP_URL");
    if let Some(url) = &pec_smtp_url {
        if !url.starts_with("smtps://") && !url.starts_with("smtp://") {
            return Err(bad(
                "SPORTELLO_PEC_SMTP_URL",
                "must start with smtps:// or smtp://",
            ));
        }
    }
    let pec_from = match get("SPORTELLO_PEC_FROM") {
        Some(text) => Some(text.parse().map_err(|_| {
            bad(
                "SPORTELLO_PEC_FROM",
                "must be an address such as protocollo@pec.comune.it",
            )
        })?),
        None => pec
            .as_ref()
            .and_then(|m| m.user.parse::<lettre::Address>().ok())
            .map(|address| lettre::message::Mailbox::new(None, address)),
    };
    if pec_smtp_url.is_some() && pec_from.is_none() {
        return Err(bad(
            "SPORTELLO_PEC_FROM",
            "is needed with SPORTELLO_PEC_SMTP_URL when the PEC mailbox's user is not its address",
        ));
    }
    if mail.is_none() && pec.is_none() {
        return Ok(None);
    }
    let number = |key: &str, default: u32, range: std::ops::RangeInclusive<u32>| {
        super::whole_number(get, key, default, range)
    };
    Ok(Some(MailIn {
        mail,
        pec,
        pec_smtp_url,
        pec_from,
        max_bytes: u64::from(number("SPORTELLO_MAIL_IN_MAX_MB", 25, 1..=200)?) * 1024 * 1024,
        per_sender_hour: number("SPORTELLO_MAIL_IN_PER_SENDER_HOUR", 30, 1..=10_000)?,
        poll: Duration::from_secs(u64::from(number(
            "SPORTELLO_MAIL_IN_POLL_SECONDS",
            30,
            1..=3600,
        )?)),
    }))
}

/// Why a mailbox URL was refused (the caller names the key).
pub fn parse(url: &str) -> Result<Mailbox, String> {
    let parsed = url::Url::parse(url).map_err(|_| "is not a URL".to_string())?;
    let (mut security, default_port) = match parsed.scheme() {
        "imaps" => (Security::Tls, 993),
        "imap" => (Security::StartTls, 143),
        _ => return Err("must start with imaps:// or imap://".into()),
    };
    let host = parsed
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or("names no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let decode = |text: &str| {
        percent_decode(text).ok_or_else(|| "holds a badly encoded user or password".to_string())
    };
    let user = decode(parsed.username())?;
    let password = decode(parsed.password().unwrap_or(""))?;
    if user.is_empty() || password.is_empty() {
        return Err("must hold user:password@ before the host".into());
    }
    let folder = match parsed.path().trim_start_matches('/') {
        "" => "INBOX".to_string(),
        path => decode(path)?,
    };
    for (key, value) in parsed.query_pairs() {
        match (key.as_ref(), value.as_ref()) {
            ("tls", "none") if security == Security::StartTls => {
                let loopback = host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                if !loopback {
                    return Err("may go without TLS only to this machine (127.0.0.1)".into());
                }
                security = Security::None;
            }
            _ => return Err(format!("has an unknown option {key}={value}")),
        }
    }
    Ok(Mailbox {
        security,
        port: parsed.port().unwrap_or(default_port),
        host,
        user,
        password,
        folder,
        extra_roots: Vec::new(),
    })
}

/// The certificates of a PEM file, each one's DER bytes; why not, when the file cannot be read
/// or holds none.
fn authorities(path: &str) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let text = std::fs::read(path).map_err(|error| format!("cannot be read ({error})"))?;
    let roots = CertificateDer::pem_slice_iter(&text)
        .map(|cert| cert.map(|der| der.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "holds a malformed certificate".to_string())?;
    if roots.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    let mut store = rustls::RootCertStore::empty();
    for root in &roots {
        store
            .add(CertificateDer::from(root.as_slice()))
            .map_err(|error| format!("holds a certificate that cannot be trusted ({error})"))?;
    }
    Ok(roots)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_url_gives_every_part() {
        let mailbox =
            parse("imaps://urp%40comune.it:s%3Acret@mail.comune.it/Posta%20in%20arrivo").unwrap();
        assert_eq!(mailbox.security, Security::Tls);
        assert_eq!(mailbox.port, 993);
        assert_eq!(mailbox.host, "mail.comune.it");
        assert_eq!(mailbox.user, "urp@comune.it");
        assert_eq!(mailbox.password, "s:cret");
        assert_eq!(mailbox.folder, "Posta in arrivo");
        assert!(
            !format!("{mailbox:?}").contains("s:cret"),
            "no password in logs"
        );
    }

    #[test]
    fn plain_imap_needs_starttls_unless_local_and_asked() {
        let mailbox = parse("imap://u:p@mail.comune.it").unwrap();
        assert_eq!((mailbox.security, mailbox.port), (Security::StartTls, 143));
        assert_eq!(mailbox.folder, "INBOX");
        let local = parse("imap://u:p@127.0.0.1:1143/INBOX?tls=none").unwrap();
        assert_eq!((local.security, local.port), (Security::None, 1143));
        assert!(parse("imap://u:p@mail.comune.it/INBOX?tls=none").is_err());
        assert!(parse("imaps://u:p@127.0.0.1/INBOX?tls=none").is_err());
    }

    #[test]
    fn an_authorities_file_must_hold_certificates() {
        let dir = std::env::temp_dir().join(format!("sportello-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let vars = |path: String| {
            move |key: &str| match key {
                "SPORTELLO_IMAP_URL" => Some("imaps://u:p@mail.comune.it".to_string()),
                "SPORTELLO_IMAP_CA_FILE" => Some(path.clone()),
                _ => None,
            }
        };
        for path in [
            empty.display().to_string(),
            dir.join("missing.pem").display().to_string(),
        ] {
            let error = from_vars(&vars(path)).unwrap_err();
            assert!(
                error.to_string().contains("SPORTELLO_IMAP_CA_FILE"),
                "{error}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn malformed_urls_are_refused() {
        for bad in [
            "mail.comune.it",
            "pop3://u:p@mail.comune.it",
            "imaps://mail.comune.it",
            "imaps://u@mail.comune.it",
            "imaps://u:p@mail.comune.it/INBOX?debug=1",
            "imaps://u:%zz@mail.comune.it",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
