//! Forms that reach a handler only after their CSRF token was checked: `CsrfForm<T>` (a form
//! deserialised into `T`) and `CsrfMultipart<T>` (the same, with the files it carries). A
//! handler that takes one cannot forget the check: a missing or wrong token is the 403 page
//! (`AppError::Csrf`), or, for a handler that asks for `Result<CsrfForm<T>, Refused<T>>`, the
//! fields as typed, so the page can show them again with its own message.
//!
//! A token is good when it is this browser's (the HMAC of its CSRF cookie, `csrf`) or its
//! session's: the staff and citizen session extractors leave their session's token in the
//! request's extensions (`SessionToken`), and axum runs them before the form is read.

use axum::extract::{FromRef, FromRequest, Multipart, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::upload::{read_multipart, Upload};
use super::{cookies, csrf, AppError};

/// The most a form without files may send (the longest texts staff write fit many times).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// What checking a form's token needs: the installation's CSRF secret, and whether cookies are
/// `Secure` (their names differ).
#[derive(Clone)]
pub struct CsrfKey {
    pub secret: std::sync::Arc<Vec<u8>>,
    pub secure: bool,
}

/// A signed-in session's CSRF token, left in the request's extensions by its extractor.
#[derive(Clone, Debug)]
pub struct SessionToken(pub String);

/// A form whose CSRF token was checked, deserialised into `T`.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// A form with files whose CSRF token was checked: the fields as `T`, the files as sent (each
/// still to be checked, `files::prepare_uploads`), and whether the body went over `max_total`.
pub struct CsrfMultipart<T> {
    pub form: T,
    pub uploads: Vec<Upload>,
    pub too_large: bool,
}

/// A form that sends nothing but its token (a button: sign out, confirm).
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoFields {}

/// Why a form did not reach its handler.
#[derive(Debug)]
pub enum Refused<T> {
    /// The token did not check out; the fields as typed.
    Forged(T),
    /// The body could not be read as the form it should be.
    Malformed(AppError),
}

impl<T> IntoResponse for Refused<T> {
    fn into_response(self) -> Response {
        match self {
            Refused::Forged(_) => AppError::Csrf.into_response(),
            Refused::Malformed(error) => error.into_response(),
        }
    }
}

/// A form a handler shows again whatever its token: checked, or refused with the fields as
/// typed.
pub type Submitted<T> = std::result::Result<CsrfForm<T>, Refused<T>>;

/// The same for a form with files.
pub type SubmittedFiles<T> = std::result::Result<CsrfMultipart<T>, Refused<CsrfMultipart<T>>>;

/// A checked form, seen as the fields a refusal keeps.
pub trait Checked {
    type Fields;
    fn fields(self) -> Self::Fields;
}

impl<T> Checked for CsrfForm<T> {
    type Fields = T;
    fn fields(self) -> T {
        self.0
    }
}

impl<T> Checked for CsrfMultipart<T> {
    type Fields = CsrfMultipart<T>;
    fn fields(self) -> CsrfMultipart<T> {
        self
    }
}

/// The fields as typed, and whether their token was forged; a malformed body is its error.
pub fn typed<C: Checked>(
    submitted: std::result::Result<C, Refused<C::Fields>>,
) -> Result<(C::Fields, bool), AppError> {
    match submitted {
        Ok(checked) => Ok((checked.fields(), false)),
        Err(Refused::Forged(fields)) => Ok((fields, true)),
        Err(Refused::Malformed(error)) => Err(error),
    }
}

/// What this request may present a token against: its session's, its browser's cookie nonce.
struct Holder {
    session: Option<String>,
    nonce: Option<String>,
}

impl Holder {
    fn of(parts: &Parts, key: &CsrfKey) -> Holder {
        Holder {
            session: parts
                .extensions
                .get::<SessionToken>()
                .map(|SessionToken(token)| token.clone()),
            nonce: cookies::get(&parts.headers, &cookies::name(csrf::COOKIE, key.secure))
                .map(str::to_string),
        }
    }

    fn accepts(&self, key: &CsrfKey, token: Option<&str>) -> bool {
        let Some(token) = token else {
            return false;
        };
        let session = self
            .session
            .as_deref()
            .is_some_and(|ours| csrf::constant_time_eq(ours.as_bytes(), token.as_bytes()));
        session || csrf::verify(&key.secret, self.nonce.as_deref(), Some(token))
    }
}

/// The fields of a urlencoded body as `T` (`serde_html_form`: a repeated name fills a list).
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_html_form::from_bytes(body).map_err(|_| AppError::BadRequest)
}

fn token_of(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(name, _)| name == "csrf_token")
        .map(|(_, value)| value.into_owned())
}

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
    CsrfKey: FromRef<S>,
{
    type Rejection = Refused<T>;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = CsrfKey::from_ref(state);
        let (parts, body) = request.into_parts();
        let holder = Holder::of(&parts, &key);
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| Refused::Malformed(AppError::PayloadTooLarge))?;
        let form = decode(&bytes).map_err(Refused::Malformed)?;
        if !holder.accepts(&key, token_of(&bytes).as_deref()) {
            return Err(Refused::Forged(form));
        }
        Ok(CsrfForm(form))
    }
}

impl<T, S> FromRequest<S> for CsrfMultipart<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
    CsrfKey: FromRef<S>,
{
    type Rejection = Refused<CsrfMultipart<T>>;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = CsrfKey::from_ref(state);
        let (parts, body) = request.into_parts();
        let holder = Holder::of(&parts, &key);
        let multipart = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| Refused::Malformed(AppError::BadRequest))?;
        let received = read_multipart(multipart)
            .await
            .map_err(Refused::Malformed)?;
        let mut fields = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &received.fields {
            fields.append_pair(name, value);
        }
        let form = decode(fields.finish().as_bytes()).map_err(Refused::Malformed)?;
        let checked = CsrfMultipart {
            form,
            uploads: received.uploads,
            too_large: received.too_large,
        };
        if !holder.accepts(&key, received.csrf_token.as_deref()) {
            return Err(Refused::Forged(checked));
        }
        Ok(checked)
    }
}
