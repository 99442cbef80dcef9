//! A real, minimal SMTP server for the integration tests.
//!
//! It owns the receiving end of outgoing mail: it listens on 127.0.0.1 (port chosen by the OS),
//! speaks just enough RFC 5321 for lettre's plain async client, keeps every accepted message in
//! memory and can simulate outages (temporary and permanent refusals, a server that is down) so
//! the outbox worker's retries and failure events can be tested over a real socket. It also
//! parses received messages with `mail-parser`, so tests assert on what a mail client would show.

// Each test uses only some of these helpers; the rest must not fail the build with warnings.
#![allow(dead_code)]

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mail_parser::{Address, Message, MessageParser, PartType};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the server treats the next client; changeable while the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Behaves like a healthy server: every message is accepted.
    Accept,
    /// Answers MAIL FROM with a 4xx, as a greylisting or overloaded server does.
    TemporaryFailure,
    /// Answers RCPT TO with a 5xx, as for a mailbox that does not exist.
    PermanentFailure,
    /// Resets each new connection before the greeting, as if the server were down.
    Refuse,
}

/// One message as it arrived: the SMTP envelope and the raw RFC 5322 bytes.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

/// The parts of a received message that tests assert on, decoded.
#[derive(Debug, Clone)]
pub struct ParsedMail {
    pub subject: String,
    pub to: Vec<String>,
    pub text: String,
    pub html: String,
    pub headers: Vec<(String, String)>,
}

pub struct SmtpServer {
    port: u16,
    shared: Shared,
    accept_loop: JoinHandle<()>,
}

/// State seen by the test (through `SmtpServer`) and by every connection task.
#[derive(Clone)]
struct Shared {
    mailbox: Arc<Mutex<Vec<ReceivedMail>>>,
    mode: Arc<Mutex<Mode>>,
}

impl Shared {
    fn mode(&self) -> Mode {
        *lock(&self.mode)
    }
}

impl SmtpServer {
    /// Binds 127.0.0.1 on a free port and starts accepting connections in the background.
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the test SMTP server to 127.0.0.1");
        let port = listener
            .local_addr()
            .expect("reading the test SMTP server's address")
            .port();
        let shared = Shared {
            mailbox: Arc::new(Mutex::new(Vec::new())),
            mode: Arc::new(Mutex::new(Mode::Accept)),
        };
        let accept_loop = tokio::spawn(accept_connections(listener, shared.clone()));
        SmtpServer {
            port,
            shared,
            accept_loop,
        }
    }

    /// The value for SPORTELLO_SMTP_URL: plain SMTP, no TLS, no credentials.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Changes how the server answers from the next command (or connection, for `Refuse`) on.
    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    /// A copy of every message accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.mailbox).clone()
    }

    pub fn count(&self) -> usize {
        lock(&self.shared.mailbox).len()
    }

    /// Waits until at least `count` messages have arrived and returns all of them.
    ///
    /// Mail is sent by a background worker, so tests cannot know when it lands; polling keeps
    /// the test fast when delivery is quick and the timeout bounds it when delivery is broken.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "expected at least {count} e-mail(s) within {timeout:?}, \
                     but the test SMTP server received {}",
                    messages.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpServer {
    // Stop listening when the test lets go of the server, so the port is not held any longer.
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// Decodes a received message the way a mail client would.
///
/// `text` and `html` are the first text/plain and text/html bodies, empty when there is none;
/// `to` holds the addresses of the To header (not the envelope); `headers` keeps the top-level
/// header names and unfolded raw values in message order, so tests can check exact encodings.
pub fn parse(mail: &ReceivedMail) -> ParsedMail {
    let message = MessageParser::default()
        .parse(mail.data.as_slice())
        .expect("the test SMTP server received data that is not an e-mail message");
    ParsedMail {
        subject: message.subject().unwrap_or_default().to_string(),
        to: addresses(message.to()),
        text: first_body(&message, &message.text_body, false),
        html: first_body(&message, &message.html_body, true),
        headers: message
            .headers_raw()
            .map(|(name, value)| (name.to_string(), unfold(value)))
            .collect(),
    }
}

fn addresses(address: Option<&Address<'_>>) -> Vec<String> {
    let addrs: Vec<_> = match address {
        Some(Address::List(list)) => list.iter().collect(),
        Some(Address::Group(groups)) => groups
            .iter()
            .flat_map(|group| group.addresses.iter())
            .collect(),
        None => Vec::new(),
    };
    addrs
        .into_iter()
        .filter_map(|addr| addr.address.as_deref())
        .map(str::to_string)
        .collect()
}

/// mail-parser lists an HTML part among the text bodies (and vice versa) when a message lacks
/// the other alternative; matching on the part type keeps `text` and `html` honest.
fn first_body(message: &Message<'_>, part_ids: &[u32], html: bool) -> String {
    part_ids
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .find_map(|part| match (&part.body, html) {
            (PartType::Text(body), false) | (PartType::Html(body), true) => Some(body.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Joins folded header lines (RFC 5322 section 2.2.3) and drops the line ending.
fn unfold(raw: &str) -> String {
    raw.replace("\r\n", "").replace('\n', "").trim().to_string()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test must not turn every later look at the mailbox into a second panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept_connections(listener: TcpListener, shared: Shared) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // Transient accept errors (e.g. too many open files) must not spin the CPU.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if shared.mode() == Mode::Refuse {
            // A reset before the 220 greeting is what a client sees from a server that is down:
            // lettre reports a network error, not an SMTP reply it could mistake for a verdict.
            let _ = stream.set_zero_linger();
            drop(stream);
            continue;
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            // A client hanging up mid-session is normal (lettre drops the socket after QUIT).
            let _ = serve_session(stream, shared).await;
        });
    }
}

/// The envelope being built between MAIL FROM and the end of DATA.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    to: Vec<String>,
}

const EHLO_REPLY: &str = "250-127.0.0.1 Sportello test SMTP\r\n250-8BITMIME\r\n250 SMTPUTF8";

async fn serve_session(stream: TcpStream, shared: Shared) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    reply(&mut writer, "220 127.0.0.1 Sportello test SMTP ready").await?;

    let mut transaction = Transaction::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line);
        let command = command.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        match verb.to_ascii_uppercase().as_str() {
            // EHLO and HELO start over, as RFC 5321 section 4.1.4 asks.
            "EHLO" => {
                transaction = Transaction::default();
                reply(&mut writer, EHLO_REPLY).await?;
            }
            "HELO" => {
                transaction = Transaction::default();
                reply(&mut writer, "250 127.0.0.1").await?;
            }
            "MAIL" => {
                if shared.mode() == Mode::TemporaryFailure {
                    reply(&mut writer, "451 4.3.0 try again later").await?;
                    continue;
                }
                let Some(from) = path_argument(argument, "FROM:") else {
                    reply(&mut writer, "501 5.5.4 syntax: MAIL FROM:<address>").await?;
                    continue;
                };
                transaction = Transaction {
                    from: Some(from),
                    to: Vec::new(),
                };
                reply(&mut writer, "250 2.1.0 Ok").await?;
            }
            "RCPT" => {
                if transaction.from.is_none() {
                    reply(&mut writer, "503 5.5.1 MAIL first").await?;
                    continue;
                }
                if shared.mode() == Mode::PermanentFailure {
                    reply(&mut writer, "550 5.1.1 mailbox unavailable").await?;
                    continue;
                }
                let Some(to) = path_argument(argument, "TO:") else {
                    reply(&mut writer, "501 5.5.4 syntax: RCPT TO:<address>").await?;
                    continue;
                };
                transaction.to.push(to);
                reply(&mut writer, "250 2.1.5 Ok").await?;
            }
            "DATA" => {
                if transaction.to.is_empty() {
                    reply(&mut writer, "503 5.5.1 RCPT first").await?;
                    continue;
                }
                reply(&mut writer, "354 End data with <CR><LF>.<CR><LF>").await?;
                let Some(data) = read_data(&mut reader).await? else {
                    // The client vanished before the final dot: nothing was delivered.
                    return Ok(());
                };
                let Transaction { from, to } = std::mem::take(&mut transaction);
                let mail = ReceivedMail {
                    from: from.unwrap_or_default(),
                    to,
                    data,
                };
                lock(&shared.mailbox).push(mail);
                reply(&mut writer, "250 2.0.0 Ok: queued").await?;
            }
            "RSET" => {
                transaction = Transaction::default();
                reply(&mut writer, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut writer, "250 2.0.0 Ok").await?,
            "QUIT" => {
                reply(&mut writer, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut writer, "502 5.5.2 command not recognised").await?,
        }
    }
}

/// Extracts the address from `FROM:<a@b> PARAMS` or `TO:<a@b>`; `<>` (null sender) gives "".
fn path_argument(argument: &str, keyword: &str) -> Option<String> {
    let argument = argument.trim_start();
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    // Parameters such as BODY=8BITMIME or SMTPUTF8 may follow the path; they change nothing here.
    let path = argument[keyword.len()..].trim_start().strip_prefix('<')?;
    let (address, _parameters) = path.split_once('>')?;
    Some(address.to_string())
}

/// Reads the message after 354 up to the line holding only ".", undoing dot-stuffing.
///
/// Returns `None` when the connection closes first. Lines are kept as bytes because 8BITMIME
/// allows any octet, and stored with CRLF endings as they travel on the wire.
async fn read_data(reader: &mut BufReader<OwnedReadHalf>) -> io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let content = line.strip_suffix(b"\n").unwrap_or(line.as_slice());
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content == b"." {
            return Ok(Some(data));
        }
        // The client doubled every leading dot (RFC 5321 section 4.5.2); take one away.
        let content = content.strip_prefix(b".").unwrap_or(content);
        data.extend_from_slice(content);
        data.extend_from_slice(b"\r\n");
    }
}

async fn reply(writer: &mut OwnedWriteHalf, text: &str) -> io::Result<()> {
    writer.write_all(text.as_bytes()).await?;
    writer.write_all(b"\r\n").await?;
    writer.flush().await
}
