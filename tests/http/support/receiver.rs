//! A webhook receiver for the tests: `tests/webhooks/receiver.py`, run with the Python of the
//! tests' venv (made by `tests/run`; `SPORTELLO_TEST_PYTHON` names another), which verifies every
//! delivery with the Standard Webhooks reference library and logs it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Receiver {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

fn python() -> PathBuf {
    if let Ok(path) = std::env::var("SPORTELLO_TEST_PYTHON") {
        return PathBuf::from(path);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let python = target.join("contract-venv/bin/python");
    assert!(
        python.exists(),
        "the webhook tests need the tests' Python venv with standardwebhooks: run tests/run \
         (it makes {}), or set SPORTELLO_TEST_PYTHON",
        python.display()
    );
    python
}

impl Receiver {
    pub async fn start() -> Receiver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!(
            "sportello-receiver-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secrets.json"), "{}").unwrap();
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/webhooks/receiver.py");
        let child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("the receiver starts");
        for _ in 0..200 {
            if dir.join("ready").exists()
                && tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Receiver { port, dir, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secret the receiver verifies `path`'s deliveries with.
    pub fn trust(&self, path: &str, secret: &str) {
        let file = self.dir.join("secrets.json");
        let mut secrets: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        secrets[path] = serde_json::Value::String(secret.to_string());
        std::fs::write(file, secrets.to_string()).unwrap();
    }

    /// Every delivery received so far, in arrival order.
    pub fn log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The deliveries received on `path`.
    pub fn on(&self, path: &str) -> Vec<serde_json::Value> {
        self.log()
            .into_iter()
            .filter(|e| e["path"] == path)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
