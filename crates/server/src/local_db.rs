//! A private MariaDB for trying Sportello with no configuration: the distribution's server,
//! its data under the data directory, reachable only through a local socket. It keeps running
//! after the server stops, so the next start is quick; `sportello local-db stop` ends it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::Command;

const DATABASE: &str = "sportello";

/// Starts (or finds running) the private server and returns a URL for `database`.
pub async fn start(data_dir: &Path) -> anyhow::Result<String> {
    let dir = absolute(&data_dir.join("mariadb"))?;
    let socket = socket_path(&dir);
    let server_url = format!("mysql://root@localhost/?socket={}", socket.display());
    if crate::db::connect(&server_url, 1).await.is_err() {
        launch(&dir, &socket).await?;
    }
    let pool = crate::db::connect(&server_url, 1)
        .await
        .context("connecting to the private MariaDB")?;
    sqlx::query(&format!(
        "CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ))
    .execute(&pool)
    .await?;
    Ok(url_for(&socket, DATABASE))
}

/// The URL of one database on the private server (tests create one per test).
pub fn url_for(socket: &Path, database: &str) -> String {
    format!(
        "mysql://root@localhost/{database}?socket={}",
        socket.display()
    )
}

/// Stops the private server if it runs.
pub async fn stop(data_dir: &Path) -> anyhow::Result<()> {
    let dir = absolute(&data_dir.join("mariadb"))?;
    let Ok(pid) = std::fs::read_to_string(dir.join("mariadbd.pid")) else {
        return Ok(());
    };
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.trim())
        .status()
        .await?;
    Ok(())
}

async fn launch(dir: &Path, socket: &Path) -> anyhow::Result<()> {
    let server = find(
        &["mariadbd", "mysqld"],
        &["/usr/sbin", "/usr/libexec", "/usr/local/sbin", "/usr/bin"],
    );
    let installer = find(
        &["mariadb-install-db", "mysql_install_db"],
        &["/usr/bin", "/usr/local/bin", "/usr/sbin"],
    );
    let (Some(server), Some(installer)) = (server, installer) else {
        bail!(
            "no MariaDB server found. Install the distribution's (sudo apt-get install mariadb-server) \
             or set SPORTELLO_DATABASE_URL to an existing MySQL/MariaDB database"
        );
    };
    let data = dir.join("data");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let as_root = running_as_root();
    if !data.join("mysql").exists() {
        tracing::info!(dir = %data.display(), "initialising the private MariaDB");
        let mut install = Command::new(&installer);
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if as_root {
            install.arg("--user=root");
        }
        let status = install
            .status()
            .await
            .context("running mariadb-install-db")?;
        if !status.success() {
            bail!("mariadb-install-db failed for {}", data.display());
        }
    }
    tracing::info!(socket = %socket.display(), "starting the private MariaDB");
    let mut command = std::process::Command::new(&server);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
        .arg(format!("--log-error={}", dir.join("error.log").display()))
        .arg("--skip-networking")
        .arg("--innodb-buffer-pool-size=256M")
        .arg("--max-allowed-packet=64M")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if as_root {
        command.arg("--user=root");
    }
    // Its own process group: a Ctrl-C meant for `cargo run` does not reach the database.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
        .spawn()
        .with_context(|| format!("starting {}", server.display()))?;
    for _ in 0..300 {
        let url = format!("mysql://root@localhost/?socket={}", socket.display());
        if crate::db::connect(&url, 1).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the private MariaDB did not start; see {}",
        dir.join("error.log").display()
    )
}

/// A socket path must fit in 107 bytes; a deep data directory gets one under /tmp instead.
fn socket_path(dir: &Path) -> PathBuf {
    let socket = dir.join("mariadbd.sock");
    if socket.as_os_str().len() < 100 {
        return socket;
    }
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes()));
    PathBuf::from(format!("/tmp/sportello-{}.sock", &digest[..16]))
}

/// The socket the private server of this data directory listens on.
pub fn socket_for(data_dir: &Path) -> anyhow::Result<PathBuf> {
    Ok(socket_path(&absolute(&data_dir.join("mariadb"))?))
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(path.canonicalize()?)
}

fn find(names: &[&str], dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let search = path
        .split(':')
        .map(str::to_string)
        .chain(dirs.iter().map(|d| d.to_string()))
        .collect::<Vec<_>>();
    names
        .iter()
        .flat_map(|name| search.iter().map(move |dir| Path::new(dir).join(name)))
        .find(|candidate| candidate.is_file())
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .map(|line| line.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
