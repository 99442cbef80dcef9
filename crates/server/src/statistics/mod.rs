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
pub use figures::{compute as compute_figures, Figures, Scope as FiguresScope, AGES};
pub use open_files::make_today as make_open_data;
pub use period::{parse as parse_period, Period};
pub(crate) use scheduled::plan as monthly_report;
pub use scheduled::{load, run as queue_monthly_reports, save, ReportSettings};

/// The public figures and open data, and the staff's dashboard with its exports.
pub fn routes() -> axum::Router<crate::state::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/statistiche", get(public::page))
        .route("/statistiche/dati/{file}", get(open_files::download))
        .route("/ufficio/statistiche", get(dashboard))
        .route("/ufficio/statistiche/esporta/{format}", get(download))
}
