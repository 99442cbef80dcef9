//! A mailbox over IMAP (`async-imap`): connect with TLS, or STARTTLS before signing in; read the
//! folder's UIDVALIDITY and the UIDs waiting; fetch one message's size, headers or whole text;
//! move a message to the processed folder once what it caused is committed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::mail_in::{Mailbox, Security};

/// Where a message goes once dealt with: out of the inbox, kept for the record.
pub const PROCESSED: &str = "Sportello-Elaborati";
const TIMEOUT: Duration = Duration::from_secs(60);
/// How long a healthy server takes at most to acknowledge IDLE, DONE or NOOP.
const ANSWER: Duration = Duration::from_secs(5);

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

/// A signed-in session on the configured folder.
pub struct Connection {
    session: Session<Box<dyn Stream>>,
    /// The folder's UIDVALIDITY: with a UID, a message's identity.
    pub uidvalidity: u32,
    can_move: bool,
    pub can_idle: bool,
}

/// TLS over `tcp`, the server's certificate checked for `host` against the public authorities
/// and the configured ones.
async fn tls(mailbox: &Mailbox, tcp: TcpStream) -> anyhow::Result<Box<dyn Stream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for extra in &mailbox.extra_roots {
        roots.add(rustls::pki_types::CertificateDer::from(extra.clone()))?;
    }
    let host = mailbox.host.as_str();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .context("TLS handshake")?;
    Ok(Box::new(stream))
}

impl Connection {
    /// Connects, signs in and selects the folder (creating the processed folder if missing).
    pub async fn open(mailbox: &Mailbox) -> anyhow::Result<Connection> {
        tokio::time::timeout(TIMEOUT, Connection::open_now(mailbox))
            .await
            .context("IMAP server did not answer in time")?
    }

    async fn open_now(mailbox: &Mailbox) -> anyhow::Result<Connection> {
        let tcp = TcpStream::connect((mailbox.host.as_str(), mailbox.port))
            .await
            .context("IMAP connection")?;
        let client = match mailbox.security {
            Security::Tls => {
                let mut client = Client::new(tls(mailbox, tcp).await?);
                client.read_response().await?.context("no IMAP greeting")?;
                client
            }
            Security::StartTls => {
                let mut plain = Client::new(tcp);
                plain.read_response().await?.context("no IMAP greeting")?;
                plain
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .context("the server refused STARTTLS")?;
                Client::new(tls(mailbox, plain.into_inner()).await?)
            }
            Security::None => {
                let mut client = Client::new(Box::new(tcp) as Box<dyn Stream>);
                client.read_response().await?.context("no IMAP greeting")?;
                client
            }
        };
        let mut session = client
            .login(&mailbox.user, &mailbox.password)
            .await
            .map_err(|(error, _)| error)
            .context("IMAP sign-in refused")?;
        let capabilities = session.capabilities().await?;
        let can_move = capabilities.has_str("MOVE");
        let can_idle = capabilities.has_str("IDLE");
        let folders: Vec<_> = session
            .list(None, Some(PROCESSED))
            .await?
            .try_collect()
            .await?;
        if folders.is_empty() {
            // Another copy may have made it meanwhile: an error here is not a failure.
            let _ = session.create(PROCESSED).await;
        }
        let selected = session.select(&mailbox.folder).await?;
        Ok(Connection {
            session,
            uidvalidity: selected.uid_validity.unwrap_or(0),
            can_move,
            can_idle,
        })
    }

    /// The UIDs in the folder, oldest first.
    pub async fn waiting(&mut self) -> anyhow::Result<Vec<u32>> {
        let mut uids: Vec<u32> = self.session.uid_search("ALL").await?.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The sizes in bytes of the messages `uids` (one command); a message gone is left out.
    pub async fn sizes(&mut self, uids: &[u32]) -> anyhow::Result<HashMap<u32, u64>> {
        if uids.is_empty() {
            return Ok(HashMap::new());
        }
        let fetched: Vec<_> = self
            .session
            .uid_fetch(set(uids), "RFC822.SIZE")
            .await?
            .try_collect()
            .await?;
        Ok(fetched
            .iter()
            .filter_map(|f| Some((f.uid?, u64::from(f.size?))))
            .collect())
    }

    /// The whole messages `uids`, or their headers only, without marking them seen (one
    /// command).
    pub async fn fetch(
        &mut self,
        uids: &[u32],
        header_only: bool,
    ) -> anyhow::Result<HashMap<u32, Vec<u8>>> {
        if uids.is_empty() {
            return Ok(HashMap::new());
        }
        let query = if header_only {
            "BODY.PEEK[HEADER]"
        } else {
            "BODY.PEEK[]"
        };
        let fetched: Vec<_> = self
            .session
            .uid_fetch(set(uids), query)
            .await?
            .try_collect()
            .await?;
        Ok(fetched
            .iter()
            .filter_map(|f| {
                let bytes = if header_only { f.header() } else { f.body() }?;
                Some((f.uid?, bytes.to_vec()))
            })
            .collect())
    }

    /// Moves messages to the processed folder, marked seen (two commands for them all).
    pub async fn processed(&mut self, uids: &[u32]) -> anyhow::Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = set(uids);
        let _: Vec<_> = self
            .session
            .uid_store(&set, "+FLAGS (\\Seen)")
            .await?
            .try_collect()
            .await?;
        if self.can_move {
            self.session.uid_mv(&set, PROCESSED).await?;
        } else {
            self.session.uid_copy(&set, PROCESSED).await?;
            let _: Vec<_> = self
                .session
                .uid_store(&set, "+FLAGS (\\Deleted)")
                .await?
                .try_collect()
                .await?;
            let _: Vec<_> = self.session.expunge().await?.try_collect().await?;
        }
        Ok(())
    }

    /// Waits for the server to say something changed (IDLE), at most `wait`; without IDLE, the
    /// caller polls. Gives the session back.
    pub async fn wait(mut self, wait: Duration) -> anyhow::Result<Connection> {
        // A server that went away must not leave the reader waiting on a dead socket.
        let answer = |what: &'static str| move |_| anyhow::anyhow!("IMAP server silent ({what})");
        if !self.can_idle {
            tokio::time::sleep(wait).await;
            tokio::time::timeout(ANSWER, self.session.noop())
                .await
                .map_err(answer("NOOP"))??;
            return Ok(self);
        }
        let mut idle = self.session.idle();
        tokio::time::timeout(ANSWER, idle.init())
            .await
            .map_err(answer("IDLE"))??;
        let (done, _stop) = idle.wait_with_timeout(wait);
        tokio::time::timeout(wait + ANSWER, done)
            .await
            .map_err(answer("IDLE"))??;
        self.session = tokio::time::timeout(ANSWER, idle.done())
            .await
            .map_err(answer("DONE"))??;
        Ok(self)
    }

    pub async fn close(mut self) {
        let _ = self.session.logout().await;
    }
}

/// `1,5,7` for a UID set.
fn set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
