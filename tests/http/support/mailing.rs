//! Test applications that send their mail to a test SMTP server.

use super::smtp::SmtpServer;
use super::{Options, TestApp};

impl TestApp {
    /// A test application (its own database, the default clock) sending mail to `smtp`.
    pub async fn with_mail(smtp: &SmtpServer) -> TestApp {
        TestApp::start_with(Options {
            smtp_url: Some(smtp.url()),
            ..Default::default()
        })
        .await
    }

    /// Another copy of the server on this one's database (as behind a load balancer), sending
    /// mail to `smtp`, with no cookies.
    pub async fn copy_with_mail(&self, smtp: &SmtpServer) -> TestApp {
        TestApp::on_database(
            self.database_url.clone(),
            Options {
                smtp_url: Some(smtp.url()),
                ..Default::default()
            },
        )
        .await
    }
}
