//! What the staff pages' header shows about the person signed in.

use serde::Serialize;

use super::{Role, Staff};

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
            admin: staff.has(Role::Administrator),
            front_office: staff.has(Role::FrontOffice) || staff.is_urp(),
            auditor: staff.has(Role::Auditor) || staff.has(Role::Administrator),
            statistics: staff.has(Role::UrpManager)
                || staff.has(Role::Administrator)
                || staff.has(Role::Referent),
        }
    }
}
