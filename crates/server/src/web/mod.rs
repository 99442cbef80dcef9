//! The HTTP kernel every page uses: templates and the translation catalogue, the language,
//! CSRF tokens, security headers, embedded assets, the client's address and rate limits, and
//! the one error type with its pages.

pub mod assets;
pub mod auth;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod i18n;
pub mod security;
pub mod templates;

pub use client::{ClientIp, RateLimiter};
pub use error::{AppError, Result};
pub use i18n::Lang;
pub use templates::{Page, Templates};
