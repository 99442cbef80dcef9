//! Statistics from the events: the dashboard for the URP's managers and administrators (a
//! referent sees their departments only), its CSV and XLSX exports, the public transparency page
//! and the open data files. The numbers come from the `statistics` projection.

pub mod charts;
mod dashboard;
pub mod export;
pub mod figures;
pub mod open_data;
pub mod open_files;
pub mod pdf_report;
pub mod period;
pub mod public;
pub mod quantiles;
pub mod report;
pub mod scheduled;

pub use dashboard::{dashboard, download};
