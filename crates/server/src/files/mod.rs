//! Files people send and staff attach: what is accepted (by content, size and count; images
//! re-encoded without their metadata), and how their bytes are stored before an event names
//! them. Shared by intake, the tracking page's replies, the back office's answers and the
//! documents library.

pub mod attachments;
mod prepare;
mod store;

pub use attachments::{
    prepare, safe_name, AttachmentError, PreparedAttachment, PreparedFile, MAX_FILES,
    MAX_FILE_BYTES,
};
pub use prepare::prepare_uploads;
pub use store::{attachment_records, store_attachments, store_bytes};
