//! People and bodies many tests set up the same way, and steps they take the same way.

use sportello_server::directory::{self, ExternalBody};
use sportello_server::staff::Role;
use uuid::Uuid;

use super::{Multipart, Receipt, TestApp, TestResponse};

/// The answer staff most often give in these tests.
pub const ANSWER: &str = "Il lampione sarà riparato entro venerdì.";

/// The question staff most often ask the citizen in these tests.
pub const QUESTION: &str = "In quale via si trova la buca?";

impl TestApp {
    /// Creates Anna, an URP operator; returns her e-mail and password.
    pub async fn add_operator(&self) -> (String, String) {
        self.add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
            .await
    }

    /// Creates Anna, an URP operator, and signs her in in this browser; returns her e-mail and
    /// password.
    pub async fn sign_in_operator(&self) -> (String, String) {
        let (email, password) = self.add_operator().await;
        self.signed_in_as(&email, &password).await;
        (email, password)
    }

    /// Files a valid request; returns its receipt and its aggregate id.
    pub async fn file_request(&self, form: Multipart) -> (Receipt, String) {
        let receipt = self.file(form).await;
        let id = self.aggregate_id(&receipt.reference).await;
        (receipt, id)
    }

    /// Anna, an URP operator, signed in on a server copy of her own (see `staff_client`).
    pub async fn operator_client(&self) -> (TestApp, String, String) {
        self.staff_client("Anna Operatrice", &[Role::UrpOperator], &[])
            .await
    }

    /// Adds INPS, which handles pensions, to the directory of external bodies with this address
    /// and phone; returns its id.
    pub async fn add_inps(&self, address: &str, phone: &str) -> Uuid {
        let body = ExternalBody {
            id: Uuid::nil(),
            name: "INPS".into(),
            handles: "Pensioni".into(),
            address: address.into(),
            phone: phone.into(),
            email: String::new(),
            website: "https://www.inps.it".into(),
            hours: String::new(),
            active: true,
        };
        directory::add_external_body(
            &self.pool,
            sportello_server::app::DEFAULT_ORGANISATION,
            &body,
        )
        .await
        .unwrap()
    }

    /// Rates a closed request four stars from its tracking page (`/segui/{token}`), finding the
    /// answer clear and reaching it in two steps; the answer to the POST.
    pub async fn rate_four_stars(&self, tracking_token: &str) -> TestResponse {
        let base = format!("/segui/{tracking_token}");
        let token = self.get(&base).await.input_value("csrf_token").unwrap();
        self.post_urlencoded(
            &format!("{base}/valuta"),
            &[
                ("csrf_token", &token),
                ("stars", "4"),
                ("step", "2"),
                ("reasons", "clear"),
            ],
        )
        .await
    }
}
