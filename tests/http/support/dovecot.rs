//! A real IMAP server for the mail-in tests: Debian's Dovecot, started with a throwaway
//! configuration under `target/test-dovecot/` (its own port, sockets and maildirs; nothing
//! system-wide). Any user name signs in with the password `secret` and has its own mailbox, so
//! each test takes a fresh user on the one shared server. Messages arrive as a mail server
//! would deliver them: IMAP `APPEND` to the user's INBOX.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::TryStreamExt;
use tokio::net::TcpStream;

pub const PASSWORD: &str = "secret";

pub struct Dovecot {
    /// Plain IMAP, which offers STARTTLS.
    pub port: u16,
    /// IMAP over TLS from the first byte.
    pub tls_port: u16,
    dir: PathBuf,
    /// Its sockets: a short path under /tmp (a Unix socket's path holds at most 107 bytes).
    run: PathBuf,
}

fn binary() -> &'static str {
    for path in ["/usr/sbin/dovecot", "/usr/bin/dovecot"] {
        if Path::new(path).exists() {
            return path;
        }
    }
    panic!("Dovecot is needed for the mail-in tests: apt-get install dovecot-imapd (tests/run installs it)")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-dovecot")
}

/// Stops the servers that test processes which no longer exist left behind.
fn stop_orphans() {
    let Ok(entries) = std::fs::read_dir(root()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let owner = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = owner.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            stop_dir(&entry.path());
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn stop_dir(dir: &Path) {
    if let Ok(run) = std::fs::read_to_string(dir.join("run-dir")) {
        if let Ok(pid) = std::fs::read_to_string(Path::new(run.trim()).join("master.pid")) {
            // The master leads its own session: every process of this server, the ones serving
            // connections included, goes with it, as when the machine goes down.
            let _ = std::process::Command::new("pkill")
                .args(["-KILL", "-s", pid.trim()])
                .status();
        }
    }
}

/// A throwaway certificate authority and the server's certificate it signs, for `localhost`
/// and 127.0.0.1 (made with the `openssl` tool Dovecot depends on).
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (Dovecot's dependency) makes the test certificates");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Sportello test authority",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

impl Dovecot {
    /// The server all tests share (started once per test process).
    pub async fn shared() -> &'static Dovecot {
        static SHARED: tokio::sync::OnceCell<Dovecot> = tokio::sync::OnceCell::const_new();
        SHARED.get_or_init(Dovecot::start).await
    }

    /// A server of its own (a test that stops and starts it).
    pub async fn start() -> Dovecot {
        stop_orphans();
        let name = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let dir = root().join(&name);
        let run = std::env::temp_dir().join(format!("spdv-{name}"));
        for sub in ["state", "mail"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(dir.join("run-dir"), run.display().to_string()).unwrap();
        // Mail is kept by the `mail` user, never root (Dovecot refuses root for mail).
        std::process::Command::new("chown")
            .args(["-R", "mail:mail"])
            .arg(dir.join("mail"))
            .status()
            .unwrap();
        certificates(&dir);
        let dovecot = Dovecot {
            port: free_port(),
            tls_port: free_port(),
            dir,
            run,
        };
        std::fs::write(dovecot.dir.join("dovecot.conf"), dovecot.config()).unwrap();
        dovecot.run();
        dovecot
    }

    fn config(&self) -> String {
        let dir = self.dir.display();
        let run = self.run.display();
        format!(
            "base_dir = {run}\nstate_dir = {dir}/state\nlog_path = {dir}/dovecot.log\n\
             listen = 127.0.0.1\nprotocols = imap\nssl = yes\nssl_cert = <{dir}/server.pem\n\
             ssl_key = <{dir}/server.key\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nmail_location = maildir:{dir}/mail/%u\n\
             first_valid_uid = 8\nmail_uid = mail\nmail_gid = mail\n\
             default_login_user = dovenull\ndefault_internal_user = dovecot\n\
             passdb {{\n  driver = static\n  args = password={PASSWORD}\n}}\n\
             userdb {{\n  driver = static\n  args = uid=mail gid=mail home={dir}/mail/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n  }}\n}}\n\
             service stats {{\n  unix_listener stats-writer {{\n    mode = 0666\n  }}\n}}\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n",
            port = self.port,
            tls_port = self.tls_port
        )
    }

    /// Starts the server and waits until it answers.
    pub fn run(&self) {
        // No inherited output: the daemon outlives this call and must not hold the test's pipes.
        let status = std::process::Command::new(binary())
            .arg("-c")
            .arg(self.dir.join("dovecot.conf"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("starting Dovecot");
        assert!(
            status.success(),
            "Dovecot did not start: see {}/dovecot.log",
            self.dir.display()
        );
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("Dovecot does not answer on {}", self.port);
    }

    /// Stops the server (its mail stays for the next start).
    pub fn stop(&self) {
        stop_dir(&self.dir);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `SPORTELLO_IMAP_URL` for `user`'s mailbox (no TLS: this machine only).
    pub fn url(&self, user: &str) -> String {
        format!(
            "imap://{user}:{PASSWORD}@127.0.0.1:{}/INBOX?tls=none",
            self.port
        )
    }

    /// `SPORTELLO_IMAP_URL` for `user`'s mailbox over TLS from the first byte, to the name
    /// the server's certificate carries.
    pub fn tls_url(&self, user: &str) -> String {
        format!(
            "imaps://{user}:{PASSWORD}@localhost:{}/INBOX",
            self.tls_port
        )
    }

    /// `SPORTELLO_IMAP_URL` for `user`'s mailbox over plain IMAP upgraded by STARTTLS.
    pub fn starttls_url(&self, user: &str) -> String {
        format!("imap://{user}:{PASSWORD}@localhost:{}/INBOX", self.port)
    }

    /// The test authority that signed the server's certificate (`SPORTELLO_IMAP_CA_FILE`).
    pub fn ca_file(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }

    async fn session(&self, user: &str) -> async_imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        client.login(user, PASSWORD).await.map_err(|e| e.0).unwrap()
    }

    /// Delivers a message to `user`'s INBOX, as a mail server would.
    pub async fn deliver(&self, user: &str, message: &[u8]) {
        let mut session = self.session(user).await;
        session.append("INBOX", None, None, message).await.unwrap();
        session.logout().await.unwrap();
    }

    /// How many messages wait in a folder of `user`'s mailbox.
    pub async fn count(&self, user: &str, folder: &str) -> u32 {
        let mut session = self.session(user).await;
        let count = match session.examine(folder).await {
            Ok(mailbox) => mailbox.exists,
            Err(_) => 0,
        };
        let _: Vec<_> = session
            .list(None, Some("*"))
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        session.logout().await.unwrap();
        count
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        stop_dir(&self.dir);
    }
}
