//! E-mail: the outbox worker that sends what handlers queued, the transports (SMTP or `.eml`
//! files), and the messages. No handler talks to SMTP.

mod address;
pub mod conversation;
mod message;
pub(crate) mod notices;
mod transport;
pub mod worker;

pub use address::{is_email, OwnAddresses};
pub use transport::{SendFailure, Transport};

/// What to do with an outbox row: send this message (and record the acknowledgement if it is
/// one), or close the row without sending, with the status given.
pub(crate) enum Plan {
    Send(lettre::Message),
    Close(&'static str),
}
