//! E-mail: the outbox worker that sends what handlers queued, the transports (SMTP or `.eml`
//! files), and the messages. No handler talks to SMTP.

mod message;
pub(crate) mod notices;
pub mod outbox;
mod transport;

pub use transport::{SendFailure, Transport};
