//! Filing a request through the API (channel `api`): the web form's rules and the same filing
//! transaction, the attachments sent base64-encoded in the JSON and checked by content as the
//! form's are. The answer (201) carries the reference only after the event is committed.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sportello_domain::{Channel, FiledBy, Language};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Caller;
use super::body::JsonBody;
use super::clients::Scope;
use super::problem::{ApiError, Fault};
use crate::directory::active_topic_codes;
use crate::files::prepare_uploads;
use crate::intake::{file_request, NewRequestForm, Submission};
use crate::web::upload::{Upload, MAX_FILES, MAX_FILE_BYTES};

/// The citizen who asks, as the web form takes them.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct NewCitizen {
    #[schema(min_length = 1, max_length = 100)]
    first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    last_name: String,
    /// Where the acknowledgement and the answer are sent.
    email: String,
    phone: Option<String>,
}

/// A file sent with the request.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct NewAttachment {
    /// The file's name, as the citizen would see it.
    name: String,
    /// The bytes, base64-encoded (JPEG, PNG, PDF, Office or OpenDocument; at most 10 MB).
    content: String,
}

fn kinds() -> utoipa::openapi::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            sportello_domain::Kind::ALL.into_iter().map(|k| k.code()),
        ))
        .build()
}

fn languages() -> utoipa::openapi::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["it", "en"]))
        .build()
}

/// A new request.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct NewRequestBody {
    /// The kind of request.
    #[schema(schema_with = kinds)]
    kind: String,
    /// A topic's code (see /api/v1/topics).
    topic: String,
    #[schema(min_length = 1, max_length = 150)]
    subject: String,
    #[schema(min_length = 10, max_length = 4000)]
    description: String,
    /// The address or place the request is about.
    #[schema(max_length = 200)]
    place: Option<String>,
    /// Where it is on a map (decimal degrees, WGS 84); both or neither.
    #[schema(minimum = -90, maximum = 90)]
    latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    longitude: Option<f64>,
    citizen: NewCitizen,
    /// The citizen's language for mail: it (default) or en.
    #[schema(schema_with = languages)]
    language: Option<String>,
    /// At most five files.
    #[schema(max_items = 5)]
    attachments: Vec<NewAttachment>,
}

/// The request as filed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiledRequest {
    id: String,
    /// `YYYY/NNNNNNN`, committed. The citizen's private link goes to them by e-mail only.
    reference: String,
}

/// File a request on a citizen's behalf.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests",
    request_body = NewRequestBody,
    responses(
        (status = 201, description = "Filed: the reference is committed", body = FiledRequest,
         headers(("Location" = String, description = "The request in the API"))),
    ),
    security(("bearer" = ["requests:write"])))]
pub async fn file(
    State(app): State<crate::state::AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewRequestBody>,
) -> Result<Response, ApiError> {
    caller.needs(Scope::RequestsWrite)?;
    let mut faults: Vec<Fault> = Vec::new();
    let language = match body.language.as_deref().map(str::trim) {
        None | Some("") => Language::It,
        Some(code) => Language::parse(code).unwrap_or_else(|| {
            faults.push(("language".into(), "api.error.unknown_value", None));
            Language::It
        }),
    };
    let form = NewRequestForm {
        kind: body.kind,
        topic: body.topic,
        subject: body.subject,
        description: body.description,
        place: body.place.unwrap_or_default(),
        first_name: body.citizen.first_name,
        last_name: body.citizen.last_name,
        email_confirmation: body.citizen.email.clone(),
        email: body.citizen.email,
        phone: body.citizen.phone.unwrap_or_default(),
        // The client files on the citizen's behalf and has shown them the privacy notice.
        privacy: "accepted".into(),
        website: String::new(),
        latitude: body.latitude.map(|l| l.to_string()).unwrap_or_default(),
        longitude: body.longitude.map(|l| l.to_string()).unwrap_or_default(),
    };
    if body.attachments.len() > MAX_FILES {
        faults.push(("attachments".into(), "form.error.attachments_count", None));
    }
    let mut uploads = Vec::new();
    for (index, file) in body.attachments.into_iter().take(MAX_FILES).enumerate() {
        match STANDARD.decode(file.content.trim()) {
            Ok(bytes) => uploads.push(Upload {
                oversized: bytes.len() > MAX_FILE_BYTES,
                name: file.name,
                bytes,
            }),
            Err(_) => faults.push((
                format!("attachments[{index}].content"),
                "api.error.base64",
                None,
            )),
        }
    }
    let topics = active_topic_codes(&app.pool, app.organisation_id).await?;
    let own = crate::mail::OwnAddresses::load(&app).await?;
    let parsed = form.parse(&topics, &own);
    let (prepared, file_errors) = prepare_uploads(uploads, false).await?;
    let citizen_field = |field: &str| match field {
        "first_name" | "last_name" | "email" | "phone" => format!("citizen.{field}"),
        "email_confirmation" => "citizen.email".to_string(),
        other => other.to_string(),
    };
    let request = match parsed {
        Ok(request) if faults.is_empty() && file_errors.is_empty() => request,
        parsed => {
            for error in parsed
                .err()
                .unwrap_or_default()
                .into_iter()
                .chain(file_errors)
            {
                faults.push((citizen_field(error.field), error.message, error.detail));
            }
            return Err(ApiError::Invalid(faults));
        }
    };
    let client = &caller.0;
    let submission = Submission {
        request,
        attachments: prepared,
        language,
        channel: Channel::Api,
        actor: format!("api:{}", client.id),
        correlation_id: Uuid::new_v4().to_string(),
        filed_by: FiledBy::default(),
        also: None,
    };
    let filed = file_request(&app, submission).await?;
    app.events_appended.notify_waiters();
    tracing::info!(aggregate_id = %filed.aggregate_id, client_id = %client.id, "request filed through the API");
    let location = format!("/api/v1/requests/{}", filed.aggregate_id);
    let body = FiledRequest {
        id: filed.aggregate_id,
        reference: filed.reference.to_string(),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
