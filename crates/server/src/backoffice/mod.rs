//! The back office: staff sign in, work the inbox (the queue projection), open a request and act
//! on it. Every handler checks who is asking against the request's own events before reading or
//! changing it (never a read model that may lag); a request outside someone's reach is a 404.

mod actions;
mod inbox;
mod login;
mod request;
pub mod second_factor;

pub use actions::act;
pub use inbox::inbox;
pub use login::{login, login_form, logout, logout_everywhere};
pub use request::{answer_file, download, page, preview, visible_to, Visible};

use serde::Serialize;

use crate::staff::Staff;

/// What the layout shows about the person signed in.
#[derive(Serialize)]
pub struct StaffBar {
    pub name: String,
    pub csrf_token: String,
    pub urp: bool,
    pub admin: bool,
    pub front_office: bool,
    pub auditor: bool,
    pub statistics: bool,
}

impl StaffBar {
    pub fn new(staff: &Staff, csrf_token: &str) -> StaffBar {
        StaffBar {
            name: staff.name.clone(),
            csrf_token: csrf_token.to_string(),
            urp: staff.is_urp(),
            admin: staff.has(crate::staff::Role::Administrator),
            front_office: staff.has(crate::staff::Role::FrontOffice) || staff.is_urp(),
            auditor: staff.has(crate::staff::Role::Auditor)
                || staff.has(crate::staff::Role::Administrator),
            statistics: staff.has(crate::staff::Role::UrpManager)
                || staff.has(crate::staff::Role::Administrator)
                || staff.has(crate::staff::Role::Referent),
        }
    }
}
