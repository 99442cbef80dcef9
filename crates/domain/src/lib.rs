//! The request aggregate and its vocabulary: commands, events, errors and the rules that decide
//! between them. Pure: no I/O and no clock — time comes in with each command.

mod actions;
mod aggregate;
mod calendar;
mod commands;
mod events;
mod reference;
mod rome;
mod status;
mod vocabulary;

pub use actions::{Action, Capacity};
pub use aggregate::{decide_after, decide_new, Request, RequestError};
pub use calendar::{easter_sunday, WorkingCalendar};
pub use commands::{NewRequest, RequestCommand};
pub use events::{
    Attachment, ErasureReason, FiledBy, RequestEvent, Sealed, EVENT_VERSION, RECEIVED_VERSION,
};
pub use reference::{Reference, ReferenceError};
pub use rome::{rome_date, rome_midnight, rome_year};
pub use status::{Standing, Status};
pub use vocabulary::{Channel, Contact, Kind, Language, Outcome, PecReceipt, ReminderLevel};

#[cfg(test)]
mod tests;
