//! The citizen's data rights: a download of everything the Comune holds about them (JSON and
//! their files, in one ZIP archive), and erasure. Events are never rewritten: a request's
//! personal data is sealed under its own key, so erasing means destroying the key (and deleting
//! the files), then recording `PersonalDataErased`. A rebuild of every projection afterwards
//! finds nothing to open. The request itself stays, counted in the statistics.

use crate::state::Desk;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use sportello_domain::{ErasureReason, RequestCommand};
use sportello_projections::citizen_status;

use crate::citizen_store as store;
use crate::citizen_store::session::{self, CitizenSignedIn};
use crate::event_store::{self, CommandError};
use crate::personal;
use crate::staff::sessions;
use crate::state::AppState;
use crate::web::checked::CsrfForm;
use crate::web::form::Errors;
use crate::web::{AppError, Result};

/// The archive: `dati.json` and the files, under `allegati/<reference>/`.
pub async fn export(State(app): State<AppState>, signed_in: CitizenSignedIn) -> Result<Response> {
    let citizen = &signed_in.citizen;
    let owner = store::owner(&app.pool, citizen).await?;
    let requests = citizen_status::requests_of(&app.pool, &owner).await?;
    let mut zip = crate::zip::Writer::new();
    let mut listed = Vec::new();
    for request in &requests {
        let folder = format!("allegati/{}", request.reference.replace('/', "-"));
        let opened = personal::open(&app.pool, &request.personal).await?;
        let mut files = Vec::new();
        let names = opened
            .as_ref()
            .map(|p| p.attachment_names.clone())
            .unwrap_or_default();
        for attachment in citizen_status::attachments_of(&app.pool, &request.aggregate_id).await? {
            let name = names
                .get(attachment.position as usize)
                .cloned()
                .unwrap_or_else(|| format!("allegato-{}", attachment.position + 1));
            let path = format!("{folder}/{}-{name}", attachment.position + 1);
            if let Some(bytes) = file_bytes(&app, &attachment.file_id).await? {
                zip.add(&path, &bytes);
                files.push(path);
            }
        }
        let mut history = Vec::new();
        for entry in citizen_status::history_of(&app.pool, &request.aggregate_id).await? {
            let message = match &entry.message {
                Some(sealed) => personal::open_text(&app.pool, sealed).await?,
                None => None,
            };
            let mut entry_files = Vec::new();
            for (index, file) in entry.files.iter().enumerate() {
                let name = crate::tracking::attachment_name(&app, file, index).await?;
                let path = format!("{folder}/{}-{}-{name}", entry.sequence, index + 1);
                if let Some(bytes) = file_bytes(&app, &file.file_id).await? {
                    zip.add(&path, &bytes);
                    entry_files.push(path);
                }
            }
            history.push(json!({
                "entry": entry.entry, "at": entry.occurred_at, "message": message,
                "detail": entry.detail, "files": entry_files,
            }));
        }
        listed.push(json!({
            "reference": request.reference, "kind": request.kind, "topic": request.topic_code,
            "channel": request.channel, "status": request.status, "received_at": request.received_at,
            "answer_due": request.answer_due, "stars": request.stars,
            "personal_data": opened, "attachments": files, "history": history,
        }));
    }
    let drafts: Vec<(serde_json::Value, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT fields, updated_at FROM request_drafts WHERE citizen_id = ?")
            .bind(citizen.id.to_string())
            .fetch_all(&app.pool)
            .await?;
    let data = json!({
        "generated_at": app.clock.now(),
        "organisation": app.organisation_name,
        "account": {
            "first_name": citizen.first_name, "last_name": citizen.last_name,
            "email": citizen.email, "email_verified": citizen.email_verified,
            "fiscal_code": citizen.fiscal_code, "phone": citizen.phone,
            "created_at": citizen.created_at, "signs_in_with_oidc": citizen.signs_in_with_oidc,
        },
        "requests": listed,
        "drafts": drafts.into_iter().map(|(fields, at)| json!({"fields": fields, "updated_at": at})).collect::<Vec<_>>(),
    });
    let text = serde_json::to_vec_pretty(&data).map_err(AppError::internal)?;
    zip.add("dati.json", &text);
    tracing::info!(citizen_id = %citizen.id, requests = requests.len(), "citizen data exported");
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"i-miei-dati.zip\"".to_string(),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        zip.finish(),
    )
        .into_response())
}

async fn file_bytes(app: &AppState, file_id: &str) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT bytes FROM files WHERE id = ?")
        .bind(file_id)
        .fetch_optional(&app.pool)
        .await?)
}

/// Erases one request's personal data: its files (unless another request shares them), the
/// receipt's token, the clear token of an unsent mail, and the key — then records it. Safe to
/// run again after a crash at any point; `false` when it had been recorded already.
pub async fn erase_request(
    app: &AppState,
    aggregate_id: &str,
    reason: ErasureReason,
    actor: &str,
) -> Result<bool> {
    let events = event_store::recorded(&app.pool, aggregate_id)
        .await
        .map_err(AppError::internal)?;
    let mut files: Vec<String> = Vec::new();
    let mut key_id = None;
    for recorded in &events {
        use sportello_domain::RequestEvent as E;
        match &recorded.event {
            E::RequestReceived {
                attachments,
                personal,
                ..
            } => {
                key_id = Some(personal.key_id);
                files.extend(
                    attachments
                        .iter()
                        .flat_map(|a| [Some(a.file_id.clone()), a.thumbnail_id.clone()])
                        .flatten(),
                );
            }
            E::CitizenReplied { attachments, .. } | E::RequestAnswered { attachments, .. } => {
                files.extend(
                    attachments
                        .iter()
                        .flat_map(|a| [Some(a.file_id.clone()), a.thumbnail_id.clone()])
                        .flatten(),
                );
            }
            _ => {}
        }
    }
    let Some(key_id) = key_id else {
        return Err(AppError::NotFound);
    };
    sportello_projections::retry("erasure", || {
        delete_stored(&app.pool, aggregate_id, &files, key_id)
    })
    .await?;
    // Another command may land in between (a reply, staff acting): try again on the new version.
    for _ in 0..5 {
        let command = RequestCommand::RecordErasure {
            at: app.clock.now(),
            reason,
        };
        let metadata = event_store::metadata(actor, "system", &uuid::Uuid::new_v4().to_string());
        match event_store::execute(&app.requests, aggregate_id, command, metadata).await {
            Ok(()) => {
                app.events_appended.notify_waiters();
                tracing::info!(aggregate_id, reason = reason.code(), "personal data erased");
                return Ok(true);
            }
            Err(CommandError::Rejected(sportello_domain::RequestError::Erased)) => {
                return Ok(false)
            }
            Err(CommandError::Conflict) => continue,
            Err(error) => return Err(AppError::internal(error)),
        }
    }
    Err(AppError::internal(
        "the erasure kept conflicting with other commands",
    ))
}

/// Deletes in one transaction what a request's erasure takes away: its files no other live
/// request or library document names, the receipt's token, the outbox's clear tokens and the key.
async fn delete_stored(
    pool: &sqlx::MySqlPool,
    aggregate_id: &str,
    files: &[String],
    key_id: uuid::Uuid,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for file in files {
        // Content-addressed files may be shared: keep those another request not yet erased (its
        // key still there) names, as an attachment, a reply's file or an answer's document, and
        // the library's documents.
        let shared: Option<String> = sqlx::query_scalar(
            "SELECT f.aggregate_id FROM citizen_files f
               JOIN citizen_requests r ON r.aggregate_id = f.aggregate_id
              WHERE f.file_id = ? AND f.aggregate_id <> ?
                AND EXISTS (SELECT 1 FROM data_keys k WHERE k.id = JSON_VALUE(r.personal, '$.key_id'))
             UNION ALL
             SELECT id FROM documents WHERE file_id = ?
              LIMIT 1",
        )
        .bind(file)
        .bind(aggregate_id)
        .bind(file)
        .fetch_optional(&mut *tx)
        .await?;
        if shared.is_none() {
            sqlx::query("DELETE FROM files WHERE id = ?")
                .bind(file)
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("DELETE FROM front_office_receipts WHERE aggregate_id = ?")
        .bind(aggregate_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE outbox SET tracking_token = NULL WHERE request_id = ?")
        .bind(aggregate_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM data_keys WHERE id = ?")
        .bind(key_id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The account deletion's form: the password (when the account has one) and the confirmation.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Deletion {
    delete_password: String,
    confirm: String,
}

/// Deleting the account: every request's personal data is erased, then the account itself.
pub async fn delete_account(
    Desk { app, language }: Desk,
    crate::web::ClientIp(client): crate::web::ClientIp,
    signed_in: CitizenSignedIn,
    CsrfForm(form): CsrfForm<Deletion>,
) -> Result<Response> {
    let citizen = &signed_in.citizen;
    let mut errors = Errors::new();
    if citizen.has_password
        && !super::passwords::current_ok(&app, client, citizen.id, &form.delete_password).await?
    {
        errors.add("delete_password", "area.error.current_password");
    }
    if form.confirm != "yes" {
        errors.add("delete_confirm", "area.error.delete_confirm");
    }
    if !errors.is_empty() {
        let view =
            crate::web::View::new("area/profile.html", "/area/profilo", "area.profile.title")
                .with(minijinja::context! {
                    citizen, csrf_token => signed_in.csrf_token,
                    form => minijinja::context! {}, errors => errors.shown(language),
                })
                .status(StatusCode::UNPROCESSABLE_ENTITY);
        return app.render(language, view);
    }
    let erased = erase_citizen(&app, citizen, &format!("citizen:{}", citizen.id)).await?;
    tracing::info!(
        requests = erased,
        "citizen account erased at the citizen's request"
    );
    Ok((
        [(header::SET_COOKIE, session::forget_cookie(&app))],
        Redirect::to("/?avviso=account_eliminato"),
    )
        .into_response())
}

/// Erases a citizen: every request of theirs loses its personal data (the view is caught up
/// first, so a request filed a moment ago is not missed), then the account, its drafts, links
/// and sessions go. Used by the citizen's own deletion and by the front office for someone who
/// asks at the counter. Returns how many requests were erased.
pub async fn erase_citizen(app: &AppState, citizen: &store::Citizen, actor: &str) -> Result<usize> {
    super::area::read_own_writes(app).await?;
    let owner = store::owner(&app.pool, citizen).await?;
    let requests = citizen_status::requests_of(&app.pool, &owner).await?;
    for request in &requests {
        erase_request(
            app,
            &request.aggregate_id,
            ErasureReason::CitizenRequest,
            actor,
        )
        .await?;
    }
    let id = citizen.id.to_string();
    let mut tx = app.pool.begin().await?;
    for table in ["request_drafts", "citizen_tokens"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE citizen_id = ?"))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE outbox SET tracking_token = NULL WHERE citizen_id = ?")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM citizens WHERE id = ?")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO account_erasures (at, requests) VALUES (?, ?)")
        .bind(app.clock.now())
        .bind(requests.len() as i32)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sessions::close_all_citizen(&app.pool, citizen.id).await?;
    Ok(requests.len())
}
