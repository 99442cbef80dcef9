//! FAQ: public pages, Italian-aware search, suggestions while a citizen writes a request and the
//! count of questions they answered, votes, and staff editing with every version kept.

pub mod deflection;
pub mod index;
pub mod public;
pub mod search;
pub mod staff;
pub mod store;
