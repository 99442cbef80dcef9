//! Embeds the front-end assets: bootstrap-italia from the npm package (installed by `npm ci` when
//! node_modules is missing) and our own files under assets/.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../..").canonicalize().unwrap();
    let package = root.join("node_modules/bootstrap-italia");
    if !package.join("package.json").exists() {
        let status = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&root)
            .status()
            .expect("npm is needed to install bootstrap-italia (apt-get install npm)");
        assert!(status.success(), "npm ci failed");
    }
    let version = package_version(&package.join("package.json"));
    println!("cargo:rustc-env=BOOTSTRAP_ITALIA_VERSION={version}");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("package-lock.json").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("assets").display()
    );
    // sqlx::migrate! embeds the migrations but cannot tell cargo about a new file: without this
    // line a binary could be built without its latest migration.
    println!(
        "cargo:rerun-if-changed={}",
        root.join("migrations").display()
    );

    let dist = package.join("dist");
    let mut files: Vec<(String, PathBuf)> = vec![
        (
            "bootstrap-italia/css/bootstrap-italia.min.css".into(),
            dist.join("css/bootstrap-italia.min.css"),
        ),
        (
            "bootstrap-italia/svg/sprites.svg".into(),
            dist.join("svg/sprites.svg"),
        ),
    ];
    for family in ["Titillium_Web", "Roboto_Mono", "Lora"] {
        for entry in std::fs::read_dir(dist.join("fonts").join(family)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "woff2") {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                files.push((format!("bootstrap-italia/fonts/{family}/{name}"), path));
            }
        }
    }
    for entry in std::fs::read_dir(manifest.join("assets")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        files.push((format!("app/{name}"), path));
    }
    files.sort();
    let mut code = String::from(
        "/// (path under the asset prefix, bytes)\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("assets.rs");
    std::fs::write(out, code).unwrap();
}

fn package_version(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let after = text
        .split("\"version\"")
        .nth(1)
        .expect("a version in package.json");
    after
        .split('"')
        .nth(1)
        .expect("a quoted version")
        .to_string()
}
