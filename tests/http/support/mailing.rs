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

/// A test application reading `user`'s mailbox on `dovecot` and sending mail to `smtp`.
pub async fn with_mailbox(
    smtp: &SmtpServer,
    dovecot: &super::dovecot::Dovecot,
    user: &str,
    extra: Vec<(&'static str, String)>,
) -> TestApp {
    let mut extra = extra;
    extra.push(("SPORTELLO_IMAP_URL", dovecot.url(user)));
    TestApp::start_with(Options {
        smtp_url: Some(smtp.url()),
        extra,
        ..Default::default()
    })
    .await
}

impl TestApp {
    /// Reads the configured mailboxes once, as the background readers do, then lets the
    /// processors and the mail worker run: what the messages caused is in the read models and
    /// the sent mail.
    pub async fn read_mailbox(&self) -> usize {
        use sportello_server::mail_in::{drain, imap::Connection, Which};
        let config = self
            .app
            .config
            .mail_in
            .clone()
            .expect("a mailbox is configured");
        let mut dealt = 0;
        for (which, mailbox) in [(Which::Mail, config.mail), (Which::Pec, config.pec)] {
            let Some(mailbox) = mailbox else { continue };
            let mut connection = Connection::open(&mailbox).await.unwrap();
            dealt += drain(&self.app, which, &mut connection, None)
                .await
                .unwrap();
            connection.close().await;
        }
        self.settle().await;
        dealt
    }
}
