//! The configuration, read once at start from `SPORTELLO_*` environment variables (and,
//! optionally, a `KEY=VALUE` file named by `SPORTELLO_CONFIG_FILE`). A malformed value stops
//! the start with a message that names the key.

pub mod mail_in;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// `mysql://…`; `None` means: start a private MariaDB under the data directory.
    pub database_url: Option<String>,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// Base of every link sent by e-mail, without a trailing slash; never taken from a request.
    pub public_url: String,
    /// `None` writes mail as `.eml` files under `data_dir/mail`.
    pub smtp_url: Option<String>,
    pub mail_from: lettre::message::Mailbox,
    /// Days the Comune has to answer, unless a kind says otherwise (Legge 241/1990).
    pub answer_days: u32,
    pub submissions_per_hour: u32,
    /// Calls each API client may make per minute (per copy).
    pub api_calls_per_minute: u32,
    /// Hosts a webhook may be delivered to over plain HTTP (a test receiver, an internal
    /// gateway); everything else needs HTTPS.
    pub webhook_http_hosts: Vec<String>,
    /// How long a webhook delivery waits for the endpoint's answer.
    pub webhook_timeout: Duration,
    /// Days a department has to take charge before its referents are reminded.
    pub reminder_days: u32,
    /// Further days before the head of department is reminded too.
    pub escalation_days: u32,
    /// Peers whose `X-Forwarded-For` header is believed (the reverse proxies).
    pub trusted_proxies: Vec<IpAddr>,
    pub mail_retry_base: Duration,
    pub mail_max_attempts: u32,
    pub log_filter: String,
    pub log_json: bool,
    /// Days after closure within which a citizen may reopen, unless administrators say otherwise.
    pub reopen_days: u32,
    /// Sign-in with OpenID Connect (SPID and CIE through the Comune's identity provider or proxy).
    pub oidc: Option<OidcConfig>,
    /// The background processors this copy runs, by name (`None`: all of them). A copy that
    /// only serves pages runs none; some copy must run each of them.
    pub processors: Option<Vec<String>>,
    /// The mailboxes read for mail and PEC in (`None`: none configured).
    pub mail_in: Option<mail_in::MailIn>,
}

/// An OpenID Connect provider: where it is, who we are to it, and which claims carry what.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL; its discovery document must name exactly this issuer.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: String,
    pub claim_given_name: String,
    pub claim_family_name: String,
    pub claim_email: String,
    pub claim_fiscal_number: String,
    /// What the sign-in button says ("SPID / CIE").
    pub button_label: String,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {key} {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

/// The whole number `key` holds, `default` when it is unset; refused outside `range`.
fn whole_number(
    get: &dyn Fn(&str) -> Option<String>,
    key: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    match get(key) {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|value| range.contains(value))
            .ok_or_else(|| {
                bad(
                    key,
                    format!(
                        "must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

pub(crate) fn bad(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        problem: problem.into(),
    }
}

impl Config {
    /// Reads the process environment (and the optional file).
    pub fn from_env() -> Result<Config, ConfigError> {
        let mut vars: HashMap<String, String> = HashMap::new();
        if let Ok(path) = std::env::var("SPORTELLO_CONFIG_FILE") {
            let text = std::fs::read_to_string(&path).map_err(|error| {
                bad(
                    "SPORTELLO_CONFIG_FILE",
                    format!("cannot be read ({path}): {error}"),
                )
            })?;
            vars.extend(parse_env_file(&text).map_err(|line| {
                bad(
                    "SPORTELLO_CONFIG_FILE",
                    format!("line {line} is not KEY=VALUE"),
                )
            })?);
        }
        vars.extend(std::env::vars().filter(|(key, _)| key.starts_with("SPORTELLO_")));
        Config::from_vars(&vars)
    }

    /// Builds the configuration from already collected variables (tests use this directly).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let get = |key: &str| {
            vars.get(key)
                .map(|value| value.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let database_url = get("SPORTELLO_DATABASE_URL");
        if let Some(url) = &database_url {
            if !url.starts_with("mysql://") && !url.starts_with("mariadb://") {
                return Err(bad("SPORTELLO_DATABASE_URL", "must start with mysql://"));
            }
        }
        let bind: SocketAddr = match get("SPORTELLO_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(text) => text.parse().map_err(|_| {
                bad(
                    "SPORTELLO_BIND",
                    "must be an address:port such as 127.0.0.1:8080",
                )
            })?,
        };
        let data_dir = PathBuf::from(get("SPORTELLO_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let public_url = match get("SPORTELLO_PUBLIC_URL") {
            None => format!("http://{bind}"),
            Some(url) => {
                let ok = (url.starts_with("https://") || url.starts_with("http://"))
                    && !url.contains(char::is_whitespace)
                    && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
                if !ok {
                    return Err(bad(
                        "SPORTELLO_PUBLIC_URL",
                        "must be an http:// or https:// URL",
                    ));
                }
                url.trim_end_matches('/').to_string()
            }
        };
        let smtp_url = get("SPORTELLO_SMTP_URL");
        if let Some(url) = &smtp_url {
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url).map_err(
                |error| {
                    bad(
                        "SPORTELLO_SMTP_URL",
                        format!("is not a valid smtp:// or smtps:// URL: {error}"),
                    )
                },
            )?;
        }
        let mail_from = get("SPORTELLO_MAIL_FROM")
            .unwrap_or_else(|| "Sportello URP <urp@localhost>".into())
            .parse()
            .map_err(|_| {
                bad(
                    "SPORTELLO_MAIL_FROM",
                    "must be an e-mail address, optionally with a name",
                )
            })?;
        let number = |key: &str, default: u32, range: std::ops::RangeInclusive<u32>| {
            whole_number(&get, key, default, range)
        };
        let trusted_proxies = match get("SPORTELLO_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|part| part.trim().parse::<IpAddr>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    bad(
                        "SPORTELLO_TRUSTED_PROXIES",
                        "must be a comma-separated list of IP addresses",
                    )
                })?,
        };
        let log_json = match get("SPORTELLO_LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(_) => return Err(bad("SPORTELLO_LOG_FORMAT", "must be text or json")),
        };
        let oidc = match (
            get("SPORTELLO_OIDC_ISSUER"),
            get("SPORTELLO_OIDC_CLIENT_ID"),
            get("SPORTELLO_OIDC_CLIENT_SECRET"),
        ) {
            (None, None, None) => None,
            (Some(issuer), Some(client_id), Some(client_secret)) => {
                if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
                    return Err(bad("SPORTELLO_OIDC_ISSUER", "must be an https:// URL"));
                }
                let claim = |key: &str, default: &str| get(key).unwrap_or_else(|| default.into());
                Some(OidcConfig {
                    issuer: issuer.trim_end_matches('/').to_string(),
                    client_id,
                    client_secret,
                    scopes: claim("SPORTELLO_OIDC_SCOPES", "openid profile email"),
                    claim_given_name: claim("SPORTELLO_OIDC_CLAIM_GIVEN_NAME", "given_name"),
                    claim_family_name: claim("SPORTELLO_OIDC_CLAIM_FAMILY_NAME", "family_name"),
                    claim_email: claim("SPORTELLO_OIDC_CLAIM_EMAIL", "email"),
                    claim_fiscal_number: claim(
                        "SPORTELLO_OIDC_CLAIM_FISCAL_NUMBER",
                        "https://attributes.eid.gov.it/fiscal_number",
                    ),
                    button_label: claim("SPORTELLO_OIDC_BUTTON", "SPID / CIE"),
                })
            }
            _ => {
                return Err(bad(
                    "SPORTELLO_OIDC_ISSUER",
                    "SPORTELLO_OIDC_CLIENT_ID and SPORTELLO_OIDC_CLIENT_SECRET go together",
                ))
            }
        };
        let processors = match get("SPORTELLO_PROCESSORS").as_deref() {
            None | Some("all") => None,
            Some("none") => Some(Vec::new()),
            Some(list) => {
                let names: Vec<String> = list
                    .split(',')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect();
                // The log's processors, and the mail outbox's worker.
                let mut known: Vec<&str> = sportello_projections::processors()
                    .iter()
                    .map(|p| p.name())
                    .collect();
                known.push("mail");
                known.push("mail-in");
                if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
                    return Err(bad(
                        "SPORTELLO_PROCESSORS",
                        format!(
                            "unknown processor {unknown}: use all, none or some of {}",
                            known.join(", ")
                        ),
                    ));
                }
                Some(names)
            }
        };
        let mail_in = mail_in::from_vars(&get)?;
        Ok(Config {
            mail_in,
            processors,
            oidc,
            reopen_days: number("SPORTELLO_REOPEN_DAYS", 30, 0..=3650)?,
            database_url,
            bind,
            data_dir,
            public_url,
            smtp_url,
            mail_from,
            answer_days: number("SPORTELLO_ANSWER_DAYS", 30, 1..=365)?,
            submissions_per_hour: number("SPORTELLO_SUBMISSIONS_PER_HOUR", 30, 1..=1_000_000)?,
            api_calls_per_minute: number("SPORTELLO_API_CALLS_PER_MINUTE", 600, 1..=1_000_000)?,
            webhook_http_hosts: get("SPORTELLO_WEBHOOK_HTTP_HOSTS")
                .unwrap_or_default()
                .split(',')
                .map(|host| host.trim().to_ascii_lowercase())
                .filter(|host| !host.is_empty())
                .collect(),
            webhook_timeout: Duration::from_secs(u64::from(number(
                "SPORTELLO_WEBHOOK_TIMEOUT_SECONDS",
                10,
                1..=60,
            )?)),
            reminder_days: number("SPORTELLO_REMINDER_DAYS", 10, 1..=365)?,
            escalation_days: number("SPORTELLO_ESCALATION_DAYS", 5, 1..=365)?,
            trusted_proxies,
            mail_retry_base: Duration::from_secs(u64::from(number(
                "SPORTELLO_MAIL_RETRY_SECONDS",
                30,
                0..=86_400,
            )?)),
            mail_max_attempts: number("SPORTELLO_MAIL_MAX_ATTEMPTS", 10, 1..=100)?,
            log_filter: get("SPORTELLO_LOG").unwrap_or_else(|| "info".into()),
            log_json,
        })
    }
}

/// `KEY=VALUE` lines; blank lines and `#` comments are skipped. Returns the bad line's number.
fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, usize> {
    let mut pairs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or(index + 1)?;
        let value = value.trim().trim_matches('"');
        pairs.push((key.trim().to_string(), value.to_string()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_work_without_any_variable() {
        let config = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(config.answer_days, 30);
        assert!(config.database_url.is_none() && config.smtp_url.is_none());
    }

    #[test]
    fn malformed_values_name_their_key() {
        for (key, value) in [
            ("SPORTELLO_BIND", "localhost"),
            ("SPORTELLO_DATABASE_URL", "postgres://x"),
            ("SPORTELLO_PUBLIC_URL", "ftp://x"),
            ("SPORTELLO_SMTP_URL", "smtp://"),
            ("SPORTELLO_MAIL_FROM", "not an address"),
            ("SPORTELLO_ANSWER_DAYS", "0"),
            ("SPORTELLO_TRUSTED_PROXIES", "10.0.0.1, nope"),
            ("SPORTELLO_LOG_FORMAT", "xml"),
            ("SPORTELLO_PROCESSORS", "queue, mailer"),
            ("SPORTELLO_IMAP_URL", "pop3://u:p@mail.example.it"),
            (
                "SPORTELLO_IMAP_URL",
                "imap://u:p@mail.example.it/INBOX?tls=none",
            ),
            ("SPORTELLO_PEC_IMAP_URL", "imaps://mail.example.it"),
            ("SPORTELLO_PEC_SMTP_URL", "https://pec.example.it"),
            ("SPORTELLO_PEC_FROM", "not an address"),
        ] {
            let error = Config::from_vars(&vars(&[(key, value)])).unwrap_err();
            assert_eq!(error.key, key, "{value}");
        }
    }

    #[test]
    fn a_copy_runs_all_processors_unless_told_which() {
        let all = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(all.processors, None);
        let none = Config::from_vars(&vars(&[("SPORTELLO_PROCESSORS", "none")])).unwrap();
        assert_eq!(none.processors, Some(vec![]));
        let some =
            Config::from_vars(&vars(&[("SPORTELLO_PROCESSORS", "statistics, mail")])).unwrap();
        assert_eq!(
            some.processors,
            Some(vec!["statistics".to_string(), "mail".to_string()])
        );
    }

    #[test]
    fn mail_in_is_off_unless_a_mailbox_is_named_and_its_limits_are_checked() {
        assert!(Config::from_vars(&HashMap::new())
            .unwrap()
            .mail_in
            .is_none());
        let imap = ("SPORTELLO_IMAP_URL", "imaps://urp:s@imap.example.it/INBOX");
        let config = Config::from_vars(&vars(&[imap])).unwrap();
        let mail_in = config.mail_in.unwrap();
        assert!(mail_in.mail.is_some() && mail_in.pec.is_none());
        assert_eq!(mail_in.max_bytes, 25 * 1024 * 1024);
        let error =
            Config::from_vars(&vars(&[imap, ("SPORTELLO_MAIL_IN_MAX_MB", "0")])).unwrap_err();
        assert_eq!(error.key, "SPORTELLO_MAIL_IN_MAX_MB");
        // The PEC address defaults to the PEC mailbox's user; a PEC SMTP needs one.
        let pec = (
            "SPORTELLO_PEC_IMAP_URL",
            "imaps://protocollo%40pec.example.it:s@pec.example.it",
        );
        let smtp = ("SPORTELLO_PEC_SMTP_URL", "smtps://u:p@smtps.pec.example.it");
        let config = Config::from_vars(&vars(&[pec, smtp])).unwrap();
        assert_eq!(
            config.mail_in.unwrap().pec_from.unwrap().email.to_string(),
            "protocollo@pec.example.it"
        );
        let error = Config::from_vars(&vars(&[smtp])).unwrap_err();
        assert_eq!(error.key, "SPORTELLO_PEC_FROM");
    }

    #[test]
    fn the_public_url_loses_its_trailing_slash() {
        let config = Config::from_vars(&vars(&[(
            "SPORTELLO_PUBLIC_URL",
            "https://urp.comune.example.it/",
        )]))
        .unwrap();
        assert_eq!(config.public_url, "https://urp.comune.example.it");
    }

    #[test]
    fn env_files_take_key_value_lines() {
        assert_eq!(
            parse_env_file(
                "# comment\n\nSPORTELLO_BIND=0.0.0.0:80\nSPORTELLO_MAIL_FROM=\"URP <u@x.it>\"\n"
            ),
            Ok(vec![
                ("SPORTELLO_BIND".into(), "0.0.0.0:80".into()),
                ("SPORTELLO_MAIL_FROM".into(), "URP <u@x.it>".into())
            ])
        );
        assert_eq!(parse_env_file("oops"), Err(1));
    }
}
