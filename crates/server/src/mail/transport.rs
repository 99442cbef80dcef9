//! Where mail goes: an SMTP server, or `.eml` files under the data directory when none is
//! configured (a trial install, the browser tests).

use std::path::PathBuf;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

use crate::config::Config;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Why a message was not accepted. The text never carries the server's reply, which may quote
/// the recipient's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Worth trying again later: connection refused, timeout, 4xx.
    Transient(String),
    /// The server refused for good (5xx).
    Permanent(String),
}

impl Transport {
    pub fn from_config(config: &Config) -> anyhow::Result<Transport> {
        Ok(match &config.smtp_url {
            Some(url) => Transport::smtp(url)?,
            None => Transport::Files(config.data_dir.join("mail")),
        })
    }

    /// An SMTP server by its URL (`smtps://user:password@host`, …).
    pub fn smtp(url: &str) -> anyhow::Result<Transport> {
        Ok(Transport::Smtp(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
                .timeout(Some(Duration::from_secs(30)))
                .build(),
        ))
    }

    pub async fn send(&self, message: Message) -> Result<(), SendFailure> {
        let envelope = message.envelope().clone();
        self.send_as(&envelope, &message.formatted()).await
    }

    /// Sends `bytes` with `envelope` (a PEC mail leaves from the PEC address).
    pub async fn send_as(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), SendFailure> {
        match self {
            Transport::Smtp(smtp) => {
                smtp.send_raw(envelope, bytes)
                    .await
                    .map(|_| ())
                    .map_err(|error| {
                        let code = error.status().map(|code| code.to_string());
                        let reason = match &code {
                            Some(code) => format!("smtp {code}"),
                            None if error.is_timeout() => "smtp timeout".into(),
                            None if error.is_tls() => "smtp tls".into(),
                            None => "smtp connection".into(),
                        };
                        if error.is_permanent() {
                            SendFailure::Permanent(reason)
                        } else {
                            SendFailure::Transient(reason)
                        }
                    })
            }
            Transport::Files(dir) => write_file(dir, bytes).await,
        }
    }
}

/// Writes the message next to its final name and renames it, so a reader never sees half a file.
// The file's name starts with the time it was written, so a directory listing reads in order;
// it is no fact of a request's life, which is why the wall clock is fine here.
#[allow(clippy::disallowed_methods)]
async fn write_file(dir: &PathBuf, bytes: &[u8]) -> Result<(), SendFailure> {
    let fail = |_| SendFailure::Transient("mail directory not writable".into());
    tokio::fs::create_dir_all(dir).await.map_err(fail)?;
    let name = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
        Uuid::new_v4()
    );
    let partial = dir.join(format!("{name}.part"));
    tokio::fs::write(&partial, bytes).await.map_err(fail)?;
    tokio::fs::rename(&partial, dir.join(format!("{name}.eml")))
        .await
        .map_err(fail)
}
