//! HTTP tests of the whole server against a real MariaDB (one database per test) and a real SMTP
//! server: they drive the router the way a browser does and read what the citizen would read.

// Tests choose their instants; a few need the real time (tokens the OpenID Connect provider
// dates by its own clock, events appended outside any app).
#![allow(clippy::disallowed_methods)]

mod support;

mod admin;
mod api;
mod architecture;
mod attachments;
mod audit;
mod backoffice;
mod citizens;
mod collisions;
mod event_log;
mod faq;
mod frontoffice;
mod inbox_search;
mod intake;
mod mail;
mod mail_in;
mod oidc;
mod open311;
mod pages;
mod projections;
mod references;
mod reminders;
mod site_pages;
mod statistics;
mod tamper;
mod tracking;
mod webhooks;
