//! The attachment rules: by content, size, count; images cleaned; downloads only as downloads.

use axum::http::StatusCode;

use crate::support::{complaint, jpeg_with_gps, png, TestApp};

#[tokio::test]
async fn a_photo_is_stored_without_its_exif_turned_upright_with_a_thumbnail() {
    let app = TestApp::start().await;
    let original = jpeg_with_gps(80, 40);
    assert!(original.windows(8).any(|w| w == b"GPS-45.4"));
    let receipt = app
        .file(complaint("Con foto").file("attachments", "IMG_0001.jpg", "image/jpeg", original))
        .await;
    let page = app.get(&format!("/segui/{}", receipt.token)).await;
    assert!(page.text().contains("Scarica IMG_0001.jpg"));
    assert!(page.text().contains("alt=\"Anteprima di IMG_0001.jpg\""));

    let download = app
        .get(&format!("/segui/{}/allegati/0", receipt.token))
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("image/jpeg")
    );
    assert_eq!(
        download.header("content-disposition").as_deref(),
        Some("attachment; filename=\"IMG_0001.jpg\"; filename*=UTF-8''IMG_0001.jpg")
    );
    assert_eq!(
        download.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(
        !download.bytes.windows(8).any(|w| w == b"GPS-45.4"),
        "EXIF is gone"
    );
    let stored = image::load_from_memory(&download.bytes).unwrap();
    assert_eq!(
        (stored.width(), stored.height()),
        (40, 80),
        "orientation 6 applied before re-encoding"
    );

    let preview = app
        .get(&format!("/segui/{}/allegati/0/anteprima", receipt.token))
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(image::load_from_memory(&preview.bytes).is_ok());
    assert!(preview
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
}

#[tokio::test]
async fn documents_are_kept_as_sent_and_served_with_the_detected_type() {
    let app = TestApp::start().await;
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let receipt = app
        .file(complaint("Con PDF").file(
            "attachments",
            "modulo compilato è.pdf",
            "text/html",
            pdf.clone(),
        ))
        .await;
    let download = app
        .get(&format!("/segui/{}/allegati/0", receipt.token))
        .await;
    assert_eq!(download.bytes, pdf);
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("application/pdf"),
        "not the declared text/html"
    );
    assert!(download
        .header("content-disposition")
        .unwrap()
        .contains("filename*=UTF-8''modulo%20compilato%20%C3%A8.pdf"));
    assert_eq!(
        app.get(&format!("/segui/{}/allegati/0/anteprima", receipt.token))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/segui/{}/allegati/1", receipt.token))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_file_of_a_type_not_allowed_is_refused_by_its_content() {
    let app = TestApp::start().await;
    let disguised = b"MZ\x90\x00\x03 this is an executable".to_vec();
    let page = app
        .submit(complaint("Eseguibile").file("attachments", "foto.jpg", "image/jpeg", disguised))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page
        .text()
        .contains("Il file «foto.jpg» non è di un tipo ammesso"));
    assert!(
        page.text().contains("selezionali di nuovo (foto.jpg)"),
        "the page says which files to choose again"
    );
    assert_eq!(page.input_value("subject").unwrap(), "Eseguibile");
}

#[tokio::test]
async fn a_file_over_ten_megabytes_is_refused_with_its_name() {
    let app = TestApp::start().await;
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let page = app
        .submit(complaint("Grande").file("attachments", "grande.pdf", "application/pdf", big))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("Il file «grande.pdf» supera i 10 MB."));
}

#[tokio::test]
async fn at_most_five_files_are_accepted() {
    let app = TestApp::start().await;
    let mut form = complaint("Troppi file");
    for index in 0..6 {
        form = form.file(
            "attachments",
            &format!("f{index}.png"),
            "image/png",
            png(4, 4),
        );
    }
    let page = app.submit(form).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("Puoi allegare al massimo 5 file."));
}

#[tokio::test]
async fn an_upload_over_the_total_limit_keeps_the_typed_fields() {
    let app = TestApp::start().await;
    let mut form = complaint("Troppo in totale");
    for index in 0..6 {
        let mut bytes = b"%PDF-1.4\n".to_vec();
        bytes.resize(9 * 1024 * 1024, b' ');
        form = form.file(
            "attachments",
            &format!("f{index}.pdf"),
            "application/pdf",
            bytes,
        );
    }
    let page = app.submit(form).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("Gli allegati superano nel complesso"));
    assert_eq!(page.input_value("subject").unwrap(), "Troppo in totale");
}

#[tokio::test]
async fn an_empty_or_broken_file_is_refused() {
    let app = TestApp::start().await;
    let page = app
        .submit(
            complaint("File rotti")
                .file("attachments", "vuoto.pdf", "application/pdf", Vec::new())
                .file(
                    "attachments",
                    "rotta.png",
                    "image/png",
                    b"\x89PNG\r\n\x1a\nnot really".to_vec(),
                ),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("Il file «vuoto.pdf» è vuoto."));
    assert!(page.text().contains("Il file «rotta.png» è danneggiato"));
}

#[tokio::test]
async fn every_file_named_by_an_event_exists() {
    let app = TestApp::start().await;
    app.file(
        complaint("Due file")
            .file("attachments", "a.png", "image/png", png(8, 8))
            .file(
                "attachments",
                "b.pdf",
                "application/pdf",
                b"%PDF-1.4 x".to_vec(),
            ),
    )
    .await;
    let missing: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events e,
           JSON_TABLE(JSON_EXTRACT(e.payload, '$.RequestReceived.attachments'), '$[*]'
             COLUMNS (file_id CHAR(64) COLLATE utf8mb4_unicode_ci PATH '$.file_id',
                      thumbnail_id CHAR(64) COLLATE utf8mb4_unicode_ci PATH '$.thumbnail_id')) a
          WHERE e.event_type = 'RequestReceived'
            AND (NOT EXISTS (SELECT 1 FROM files f WHERE f.id = a.file_id)
                 OR (a.thumbnail_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM files f WHERE f.id = a.thumbnail_id)))",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(missing, 0);
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(files, 3, "a picture, its thumbnail and a PDF");
}

#[tokio::test]
async fn downloads_and_exports_are_inert_documents_whatever_they_hold() {
    let app = TestApp::start().await;
    let receipt = app
        .file(complaint("Allegato").file("attachments", "foto.png", "image/png", png(20, 20)))
        .await;
    app.settle().await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (email, password) = app
        .add_staff(
            "Marta Responsabile",
            &[
                sportello_server::staff::Role::UrpManager,
                sportello_server::staff::Role::UrpOperator,
            ],
            &[],
        )
        .await;
    let staff = app.browser();
    staff.signed_in_as(&email, &password).await;
    let citizen_downloads = [
        format!("/segui/{}/allegati/0", receipt.token),
        format!("/segui/{}/allegati/0/anteprima", receipt.token),
        "/statistiche/dati/richieste.csv".to_string(),
        "/statistiche/dati/aggregati.json".to_string(),
    ];
    let staff_downloads = [
        format!("/ufficio/richieste/{id}/allegati/0"),
        "/ufficio/statistiche/esporta/csv?tabella=summary".to_string(),
        "/ufficio/statistiche/esporta/xlsx".to_string(),
    ];
    let responses = futures::future::join_all(
        citizen_downloads
            .iter()
            .map(|path| app.get(path))
            .chain(staff_downloads.iter().map(|path| staff.get(path))),
    )
    .await;
    for (path, response) in citizen_downloads
        .iter()
        .chain(staff_downloads.iter())
        .zip(responses)
    {
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert_eq!(
            response.header("content-security-policy").as_deref(),
            Some("default-src 'none'; sandbox"),
            "{path}"
        );
        assert_eq!(
            response.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert!(
            response
                .header("content-disposition")
                .unwrap()
                .starts_with("attachment;"),
            "{path}"
        );
    }
    // Pages keep the page policy.
    let page = app.get(&format!("/segui/{}", receipt.token)).await;
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
}

#[tokio::test]
async fn a_bidirectional_override_cannot_disguise_a_file_name_or_a_subject() {
    let app = TestApp::start().await;
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let receipt = app
        .file(
            complaint("Oggetto \u{202E}gnp.exe\u{202C} e \u{2066}isolato\u{2069}").file(
                "attachments",
                "fdp\u{202E}exe.pdf",
                "application/pdf",
                pdf,
            ),
        )
        .await;
    app.settle().await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (email, password) = app.add_operator().await;
    let staff = app.browser();
    staff.signed_in_as(&email, &password).await;
    let controls = ['\u{202E}', '\u{202C}', '\u{2066}', '\u{2069}'];
    for (who, page) in [
        (
            "tracking",
            app.get(&format!("/segui/{}", receipt.token)).await,
        ),
        ("inbox", staff.get("/ufficio/richieste").await),
        (
            "request",
            staff.get(&format!("/ufficio/richieste/{id}")).await,
        ),
    ] {
        let text = page.text();
        assert!(!text.contains(controls), "{who} shows a control character");
        assert!(text.contains("Oggetto gnp.exe e isolato"), "{who}");
    }
    assert!(app
        .get(&format!("/segui/{}", receipt.token))
        .await
        .text()
        .contains("fdpexe.pdf"));
    let download = app
        .get(&format!("/segui/{}/allegati/0", receipt.token))
        .await;
    let disposition = download.header("content-disposition").unwrap();
    assert!(
        disposition.contains("filename*=UTF-8''fdpexe.pdf"),
        "{disposition}"
    );
}
