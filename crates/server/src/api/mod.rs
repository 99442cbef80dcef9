//! The API for other systems (`/api/v1`, JSON): the Comune's website, its app, its GIS, the
//! protocol registry. Each client acts as itself with the scopes an administrator gave it; every
//! error is a problem document; the OpenAPI document is generated from the handlers, each route
//! registered together with its description (utoipa-axum), so the two cannot disagree.

mod actions;
mod auth;
mod body;
mod clients;
mod directory;
mod events;
mod filing;
mod idempotency;
mod problem;
mod reference;
mod requests;
mod statistics;
mod webhooks;

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{middleware, Router};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, Required, ResponseBuilder};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use clients::{
    all as all_clients, by_token as client_by_token, create as create_client,
    revoke as revoke_client, Client, NewClient, Scope,
};
pub use idempotency::sweep as forget_old_keys;
pub use problem::PROBLEM_JSON;

use crate::state::AppState;

pub const DOCUMENT: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sportello API",
        version = "1",
        description = "Requests, the directory and the event log of a Comune's citizen-relations desk. \
                       Every call carries `Authorization: Bearer <token>` of an API client created by \
                       the Comune's administrators; every error is `application/problem+json`."
    ),
    components(schemas(problem::Problem, problem::FieldProblem)),
    tags(
        (name = "requests", description = "Citizens' requests"),
        (name = "directory", description = "Topics, departments and other bodies"),
        (name = "statistics", description = "The dashboard's figures of a period"),
        (name = "events", description = "The event log, in commit order, with its hash chain"),
        (name = "webhooks", description = "Webhook endpoints and their deliveries"),
        (name = "actions", description = "The back office's actions on a request, on the version last read"),
    )
)]
struct ApiDoc;

/// The API's routes and its document, under the layer that writes every error as a problem.
pub fn routes(app: &AppState) -> Router<AppState> {
    let (router, document) = described().split_for_parts();
    let json: Arc<str> = Arc::from(finish(document).to_json().expect("the document serialises"));
    router
        .route(
            DOCUMENT,
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.to_string(),
                    )
                        .into_response()
                }
            }),
        )
        // The reference page is a page of the site (HTML, in the layout), built from the document.
        .route(reference::PAGE, get(reference::page))
        // Anything else under /api is a problem document too, never the site's HTML page.
        .route("/api", any(|| async { problem::ApiError::NotFound }))
        .route(
            "/api/{*rest}",
            any(|| async { problem::ApiError::NotFound }),
        )
        .layer(middleware::from_fn(problem::problems))
        .layer(axum::extract::DefaultBodyLimit::max(
            idempotency::BODY_LIMIT,
        ))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            idempotency::once,
        ))
}

/// The document as served: the bearer scheme, and the problems every operation may answer.
pub fn document() -> Document {
    finish(described().split_for_parts().1)
}

/// Every operation, each registered with its description: the one list of the API's routes.
fn described() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(requests::list, filing::file))
        .routes(routes!(requests::one))
        .routes(routes!(directory::topics))
        .routes(routes!(directory::departments))
        .routes(routes!(directory::bodies))
        .routes(routes!(events::feed))
        .routes(routes!(statistics::figures))
        .routes(routes!(actions::forward))
        .routes(routes!(actions::take_charge))
        .routes(routes!(actions::answer))
        .routes(routes!(actions::ask))
        .routes(routes!(actions::close))
        .routes(routes!(actions::note))
        .routes(routes!(actions::protocol))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::state))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::resend))
}

fn header_parameter(name: &str, description: &str, required: bool) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .description(Some(description))
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(255)),
        ))
        .build()
}

fn finish(mut document: Document) -> Document {
    if let Some(components) = document.components.as_mut() {
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
    let common = [
        ("400", "The request could not be read"),
        ("401", "No valid token"),
        ("403", "The token lacks the scope the operation needs"),
        ("429", "Over the client's allowance; see Retry-After"),
        ("500", "Something failed on our side"),
    ];
    let writes = [
        (
            "409",
            "The first request with this Idempotency-Key is still being answered",
        ),
        ("413", "The body is too large"),
        ("415", "The body is not JSON"),
        (
            "422",
            "A field was refused, or the Idempotency-Key was used with another request",
        ),
    ];
    let actions = [
        ("404", "No such request, or not this client's to see"),
        ("409", "Not open to this client on the request as it stands"),
        (
            "412",
            "The request changed since the version given in If-Match",
        ),
        ("428", "If-Match is missing"),
    ];
    for item in document.paths.paths.values_mut() {
        let reads = [&mut item.get].into_iter().flatten().map(|o| (o, false));
        let posts = [&mut item.post].into_iter().flatten().map(|o| (o, true));
        for (operation, post) in reads.chain(posts) {
            let is_action = operation
                .tags
                .as_ref()
                .is_some_and(|tags| tags.iter().any(|t| t == "actions"));
            let mut problems: Vec<(&str, &str)> = common.to_vec();
            if post {
                problems.extend(writes);
                let parameters = operation.parameters.get_or_insert_with(Vec::new);
                parameters.push(header_parameter(
                    "Idempotency-Key",
                    "Any text up to 255 characters: the same key with the same request replays the first answer for 24 hours",
                    false,
                ));
                if is_action {
                    problems.extend(actions);
                    parameters.push(header_parameter(
                        "If-Match",
                        "The request's version as last read: its ETag",
                        true,
                    ));
                }
            }
            for (status, description) in problems {
                let response = ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build();
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert(response.into());
            }
        }
    }
    document
}
