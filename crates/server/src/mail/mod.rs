//! E-mail: the outbox worker that sends what handlers queued, the transports (SMTP or `.eml`
//! files), and the messages. No handler talks to SMTP.

mod message;
pub(crate) mod notices;
pub mod outbox;
mod own;
mod transport;

pub use own::OwnAddresses;
pub use transport::{SendFailure, Transport};
