//! Sportello's server: configuration, the web application, e-mail, the private database for
//! trials, and the background processors. `main.rs` is only the command line.

pub mod admin;
pub mod api;
pub mod app;
pub mod audit;
pub mod backoffice;
pub mod citizen_store;
pub mod citizens;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod directory;
pub mod documents;
pub mod event_store;
pub mod faq;
pub mod files;
pub mod frontoffice;
pub mod intake;
pub mod local_db;
pub mod log_page;
pub mod mail;
pub mod mail_in;
pub mod open311;
pub mod pages;
pub mod pdf;
pub mod processors;
pub mod recent;
pub mod reminders;
pub mod search;
pub mod settings;
pub mod site_pages;
pub mod staff;
pub mod state;
pub mod statistics;
pub mod tracking;
pub mod web;
pub mod webhooks;
pub mod zip;

/// Sealing personal data lives with the projections, which open it too.
pub use sportello_projections::personal;
