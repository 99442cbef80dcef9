//! The open data files: each made once a day and kept under `data_dir/open-data/<date>/` (a
//! cache each server copy makes for itself, never needed by another). The scheduler makes the
//! day's files shortly after midnight, a download streams the kept file, and one made on demand
//! is written once while other downloads wait for it. The records are streamed from the database
//! to the file, a row at a time, so a million requests never sit in memory.

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{json, Map, Value};
use sportello_domain::{rome_date, Language};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::sync::Mutex;

use super::open_data::{description, write_rows, Dataset, Rows, DATASETS, LICENCE};
use crate::state::AppState;
use crate::web::{AppError, Result};

/// A dataset's file being written: the CSV header or the JSON document's head, the rows as they
/// come, then the end.
pub struct Writer {
    file: BufWriter<File>,
    dataset: &'static Dataset,
    json: bool,
    rows: usize,
}

impl Writer {
    async fn start(
        path: &std::path::Path,
        dataset: &'static Dataset,
        head: Option<Value>,
    ) -> Result<Writer> {
        let file = File::create(path).await.map_err(AppError::internal)?;
        let mut writer = Writer {
            file: BufWriter::with_capacity(1 << 16, file),
            dataset,
            json: head.is_some(),
            rows: 0,
        };
        let start = match head {
            // The head's fields, then the rows as the last one.
            Some(head) => {
                let head = serde_json::to_string(&head).map_err(AppError::internal)?;
                format!("{},\"rows\":[", head.trim_end_matches('}'))
            }
            None => {
                let headers: Vec<String> =
                    dataset.columns.iter().map(|c| c.name.to_string()).collect();
                super::export::csv_header(&headers)
            }
        };
        writer.write(start.as_bytes()).await?;
        Ok(writer)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).await.map_err(AppError::internal)
    }

    async fn finish(mut self) -> Result<()> {
        if self.json {
            self.write(b"]}").await?;
        }
        self.file.flush().await.map_err(AppError::internal)?;
        self.file
            .get_mut()
            .sync_all()
            .await
            .map_err(AppError::internal)
    }
}

impl Rows for Writer {
    async fn row(&mut self, row: &Map<String, Value>) -> Result<()> {
        let text = if self.json {
            let separator = if self.rows == 0 { "" } else { "," };
            format!(
                "{separator}{}",
                serde_json::to_string(row).map_err(AppError::internal)?
            )
        } else {
            super::export::csv_line(&csv_cells(self.dataset, row))
        };
        self.rows += 1;
        self.write(text.as_bytes()).await
    }
}

fn csv_cells(dataset: &Dataset, row: &Map<String, Value>) -> Vec<super::report::Cell> {
    use super::report::Cell;
    dataset
        .columns
        .iter()
        .map(|column| match row.get(column.name) {
            None | Some(Value::Null) => Cell::Num(None),
            Some(Value::String(text)) => Cell::Text(text.clone()),
            Some(Value::Bool(b)) => Cell::Text(b.to_string()),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Cell::Int(i),
                None => Cell::Num(n.as_f64()),
            },
            Some(other) => Cell::Text(other.to_string()),
        })
        .collect()
}

/// The file of a dataset in a format as of the end of the day before `today`: the one kept for
/// that day, or made now (once, whatever the number of downloads waiting for it).
pub async fn file(
    app: &AppState,
    dataset: &'static Dataset,
    format: &str,
    today: NaiveDate,
) -> Result<PathBuf> {
    static MAKING: Mutex<()> = Mutex::const_new(());
    let as_of = today.pred_opt().unwrap_or(today);
    let root = app.config.data_dir.join("open-data");
    let path = root
        .join(as_of.to_string())
        .join(format!("{}.{format}", dataset.name));
    let exists = |path: PathBuf| async move { tokio::fs::try_exists(path).await.unwrap_or(false) };
    if exists(path.clone()).await {
        return Ok(path);
    }
    let making = MAKING.lock().await;
    if exists(path.clone()).await {
        return Ok(path);
    }
    // Made in a task of its own: a download given up half-way does not stop it.
    let app = app.clone();
    let format = format.to_string();
    tokio::spawn(async move {
        let _making = making;
        make(&app, dataset, &format, today, &path).await?;
        // Earlier days' files are not served any more.
        if let Ok(mut days) = tokio::fs::read_dir(&root).await {
            while let Ok(Some(day)) = days.next_entry().await {
                if day.file_name() != *as_of.to_string() {
                    let _ = tokio::fs::remove_dir_all(day.path()).await;
                }
            }
        }
        Ok(path)
    })
    .await
    .map_err(AppError::internal)?
}

/// Writes the file at `path` through a partial file renamed at the end.
async fn make(
    app: &AppState,
    dataset: &'static Dataset,
    format: &str,
    today: NaiveDate,
    path: &std::path::Path,
) -> Result<()> {
    let dir = path.parent().expect("a file in a folder");
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(AppError::internal)?;
    let partial = dir.join(format!(
        ".{}.{format}.{}",
        dataset.name,
        uuid::Uuid::new_v4().simple()
    ));
    let as_of = today.pred_opt().unwrap_or(today);
    let head = (format == "json").then(|| {
        json!({
            "dataset": dataset.name,
            "publisher": app.organisation_name,
            "licence": { "name": LICENCE.0, "url": LICENCE.1 },
            "data_as_of": as_of,
            "columns": dataset.columns.iter().map(|c| json!({
                "name": c.name,
                "description_it": description(Language::It, dataset, c),
                "description_en": description(Language::En, dataset, c),
            })).collect::<Vec<_>>(),
        })
    });
    let written = async {
        let mut out = Writer::start(&partial, dataset, head).await?;
        write_rows(app, dataset.name, today, &mut out).await?;
        out.finish().await
    }
    .await;
    if let Err(error) = written {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(error);
    }
    tokio::fs::rename(&partial, path)
        .await
        .map_err(AppError::internal)
}

/// Makes today's files of every dataset, if not made yet (the scheduler, after midnight).
pub async fn make_today(app: &AppState) -> Result<()> {
    let today = rome_date(app.clock.now());
    for dataset in DATASETS {
        for format in ["csv", "json"] {
            file(app, dataset, format, today).await?;
        }
    }
    Ok(())
}

/// `/statistiche/dati/{file}`: `aggregati.csv`, `aggregati.json`, `richieste.csv`, `richieste.json`.
pub async fn download(
    State(app): State<AppState>,
    Path(file_name): Path<String>,
) -> Result<Response> {
    let (name, format) = file_name.rsplit_once('.').ok_or(AppError::NotFound)?;
    let dataset = DATASETS
        .iter()
        .find(|d| d.name == name)
        .ok_or(AppError::NotFound)?;
    if !matches!(format, "csv" | "json") {
        return Err(AppError::NotFound);
    }
    let today = rome_date(app.clock.now());
    let as_of = today.pred_opt().unwrap_or(today);
    let path = file(&app, dataset, format, today).await?;
    let opened = File::open(&path).await.map_err(AppError::internal)?;
    let length = opened.metadata().await.map_err(AppError::internal)?.len();
    let chunks = futures_util::stream::try_unfold(opened, |mut opened| async move {
        let mut chunk = vec![0; 1 << 16];
        let read = opened.read(&mut chunk).await?;
        chunk.truncate(read);
        Ok::<_, std::io::Error>((read > 0).then_some((chunk, opened)))
    });
    let content_type = if format == "csv" {
        "text/csv; charset=utf-8"
    } else {
        "application/json"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                crate::tracking::content_disposition(&format!("{name}-{as_of}.{format}")),
            ),
            (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}
