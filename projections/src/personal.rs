//! Personal data sealed into events with a per-request key (AES-256-GCM). The key lives in
//! `data_keys`; deleting it erases the data everywhere — events, projections and backups taken
//! after the erasure — without rewriting any event.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sportello_domain::Sealed;
use sqlx::{MySqlConnection, MySqlPool};
use uuid::Uuid;

/// What a citizen tells about themselves and their request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalData {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub subject: String,
    pub description: String,
    pub place: Option<String>,
    pub attachment_names: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("sealed personal data cannot be opened")]
    Corrupt,
}

/// Creates a key for a new request (inside the caller's transaction) and seals its data.
pub async fn seal(conn: &mut MySqlConnection, data: &PersonalData) -> Result<Sealed, SealError> {
    let key_id = Uuid::new_v4();
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    sqlx::query("INSERT INTO data_keys (id, key_bytes) VALUES (?, ?)")
        .bind(key_id.to_string())
        .bind(&key[..])
        .execute(conn)
        .await?;
    Ok(seal_with(&key, key_id, data))
}

/// Seals later text of a request (a message, a note) under the request's own key, so that one
/// erasure covers everything about it. `None` when the key has been erased.
pub async fn seal_text(
    pool: &MySqlPool,
    key_id: Uuid,
    text: &str,
) -> Result<Option<Sealed>, SealError> {
    let Some(key) = load_key(pool, key_id).await? else {
        return Ok(None);
    };
    Ok(Some(seal_with(&key, key_id, &text)))
}

/// Seals text under a key created in the caller's transaction (not yet visible to the pool).
pub async fn seal_text_in(
    conn: &mut MySqlConnection,
    key_id: Uuid,
    text: &str,
) -> Result<Sealed, SealError> {
    let key = load_key(conn, key_id).await?.ok_or(SealError::Corrupt)?;
    Ok(seal_with(&key, key_id, &text))
}

pub fn seal_with<T: Serialize>(key: &[u8; 32], key_id: Uuid, data: &T) -> Sealed {
    let cipher = Aes256Gcm::new_from_slice(key).expect("a 32-byte key");
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let plaintext = serde_json::to_vec(data).expect("sealed data serialises");
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: key_id.as_bytes(),
            },
        )
        .expect("AES-GCM encryption does not fail for in-memory data");
    Sealed {
        key_id,
        nonce: URL_SAFE_NO_PAD.encode(nonce),
        ciphertext: URL_SAFE_NO_PAD.encode(ciphertext),
    }
}

async fn load_key<'c, E>(executor: E, key_id: Uuid) -> Result<Option<[u8; 32]>, SealError>
where
    E: sqlx::Executor<'c, Database = sqlx::MySql>,
{
    let key: Option<Vec<u8>> = sqlx::query_scalar("SELECT key_bytes FROM data_keys WHERE id = ?")
        .bind(key_id.to_string())
        .fetch_optional(executor)
        .await?;
    key.map(|key| key.try_into().map_err(|_| SealError::Corrupt))
        .transpose()
}

/// Where the matter is on a map, sealed beside a request's personal data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// Seals any value under an existing request key, inside the caller's transaction.
pub async fn seal_value_in<T: Serialize>(
    conn: &mut MySqlConnection,
    key_id: Uuid,
    value: &T,
) -> Result<Sealed, SealError> {
    let key = load_key(conn, key_id).await?.ok_or(SealError::Corrupt)?;
    Ok(seal_with(&key, key_id, value))
}

/// Opens a request's coordinates; `None` when its key has been erased.
pub async fn open_coordinates(
    pool: &MySqlPool,
    sealed: &Sealed,
) -> Result<Option<Coordinates>, SealError> {
    open_value(pool, sealed).await
}

/// Opens a request's personal data; `None` when its key has been erased.
pub async fn open(pool: &MySqlPool, sealed: &Sealed) -> Result<Option<PersonalData>, SealError> {
    open_value(pool, sealed).await
}

/// Opens a request's personal data inside a transaction (projections applying events).
pub async fn open_in(
    conn: &mut MySqlConnection,
    sealed: &Sealed,
) -> Result<Option<PersonalData>, SealError> {
    let Some(key) = load_key(conn, sealed.key_id).await? else {
        return Ok(None);
    };
    open_with(&key, sealed).map(Some)
}

/// Opens many requests' personal data with one query for their keys (a list never reads a key
/// per row); `None` for each whose key has been erased.
pub async fn open_many(
    pool: &MySqlPool,
    sealed: &[Sealed],
) -> Result<Vec<Option<PersonalData>>, SealError> {
    open_all(pool, sealed).await
}

/// Opens many sealed texts (a request's messages) with one query for their keys.
pub async fn open_texts(
    pool: &MySqlPool,
    sealed: &[Sealed],
) -> Result<Vec<Option<String>>, SealError> {
    open_all(pool, sealed).await
}

/// Opens many sealed values of any shape with one query for their keys (the API shows a
/// request's events with their sealed parts opened).
pub async fn open_json(
    pool: &MySqlPool,
    sealed: &[Sealed],
) -> Result<Vec<Option<serde_json::Value>>, SealError> {
    open_all(pool, sealed).await
}

async fn open_all<T: DeserializeOwned>(
    pool: &MySqlPool,
    sealed: &[Sealed],
) -> Result<Vec<Option<T>>, SealError> {
    if sealed.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::new("SELECT id, key_bytes FROM data_keys WHERE id IN (");
    let mut ids = query.separated(", ");
    for item in sealed {
        ids.push_bind(item.key_id.to_string());
    }
    query.push(")");
    let rows: Vec<(String, Vec<u8>)> = query.build_query_as().fetch_all(pool).await?;
    let keys: std::collections::HashMap<String, Vec<u8>> = rows.into_iter().collect();
    sealed
        .iter()
        .map(|item| match keys.get(&item.key_id.to_string()) {
            Some(key) => {
                let key: [u8; 32] = key.as_slice().try_into().map_err(|_| SealError::Corrupt)?;
                open_with(&key, item).map(Some)
            }
            None => Ok(None),
        })
        .collect()
}

/// Opens sealed text; `None` when its key has been erased.
pub async fn open_text(pool: &MySqlPool, sealed: &Sealed) -> Result<Option<String>, SealError> {
    open_value(pool, sealed).await
}

async fn open_value<T: DeserializeOwned>(
    pool: &MySqlPool,
    sealed: &Sealed,
) -> Result<Option<T>, SealError> {
    let Some(key) = load_key(pool, sealed.key_id).await? else {
        return Ok(None);
    };
    open_with(&key, sealed).map(Some)
}

fn open_with<T: DeserializeOwned>(key: &[u8; 32], sealed: &Sealed) -> Result<T, SealError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| SealError::Corrupt)?;
    let nonce = URL_SAFE_NO_PAD
        .decode(&sealed.nonce)
        .map_err(|_| SealError::Corrupt)?;
    let ciphertext = URL_SAFE_NO_PAD
        .decode(&sealed.ciphertext)
        .map_err(|_| SealError::Corrupt)?;
    if nonce.len() != 12 {
        return Err(SealError::Corrupt);
    }
    let plaintext = cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad: sealed.key_id.as_bytes(),
            },
        )
        .map_err(|_| SealError::Corrupt)?;
    serde_json::from_slice(&plaintext).map_err(|_| SealError::Corrupt)
}

/// The blind index of an e-mail address: HMAC-SHA-256 under the installation's secret of the
/// trimmed, lower-cased address. It finds a guest's requests for the citizen who verified that
/// address, without keeping the address itself next to them.
pub async fn email_index(conn: &mut MySqlConnection, email: &str) -> Result<String, SealError> {
    let secret: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'email_index_secret'")
            .fetch_optional(conn)
            .await?;
    let secret = secret.ok_or(SealError::Corrupt)?;
    Ok(email_index_with(secret.as_bytes(), email))
}

pub fn email_index_with(secret: &[u8], email: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(email.trim().to_lowercase().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether a JSON value is a `Sealed` (its three fields and nothing else).
fn is_sealed(value: &serde_json::Value) -> bool {
    value.as_object().is_some_and(|map| {
        map.len() == 3
            && map.contains_key("key_id")
            && map.contains_key("nonce")
            && map.contains_key("ciphertext")
    })
}

/// Every sealed part of `value` (a JSON document: an event's payload), in document order.
pub fn collect_sealed(value: &mut serde_json::Value, into: &mut Vec<Sealed>) {
    if is_sealed(value) {
        if let Ok(sealed) = serde_json::from_value::<Sealed>(value.clone()) {
            into.push(sealed);
        }
        return;
    }
    match value {
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| collect_sealed(v, into)),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| collect_sealed(v, into)),
        _ => {}
    }
}

/// Replaces each sealed part, in the same order, with what it opened to (null once erased).
pub fn fill_sealed(
    value: &mut serde_json::Value,
    opened: &mut impl Iterator<Item = Option<serde_json::Value>>,
) {
    if is_sealed(value) {
        *value = opened.next().flatten().unwrap_or(serde_json::Value::Null);
        return;
    }
    match value {
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| fill_sealed(v, opened)),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| fill_sealed(v, opened)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> PersonalData {
        PersonalData {
            first_name: "Maria".into(),
            last_name: "Rossi".into(),
            email: "maria@example.it".into(),
            phone: None,
            subject: "Lampione spento".into(),
            description: "Il lampione di via Roma è spento da una settimana.".into(),
            place: Some("Via Roma 1".into()),
            attachment_names: vec!["foto.jpg".into()],
        }
    }

    #[test]
    fn sealed_data_opens_with_its_key_only() {
        let key = [7u8; 32];
        let sealed = seal_with(&key, Uuid::new_v4(), &data());
        assert!(!sealed.ciphertext.contains("Rossi"));
        assert_eq!(open_with::<PersonalData>(&key, &sealed).unwrap(), data());
        assert!(open_with::<PersonalData>(&[8u8; 32], &sealed).is_err());
    }

    #[test]
    fn sealed_data_cannot_be_moved_to_another_key_id() {
        let key = [7u8; 32];
        let mut sealed = seal_with(&key, Uuid::new_v4(), &data());
        sealed.key_id = Uuid::new_v4();
        assert!(open_with::<PersonalData>(&key, &sealed).is_err());
    }
}
