//! Where a request's matter is, for staff: its coordinates and a link to OpenStreetMap (a link,
//! not an embedded map: no third-party content on the page, and it works without JavaScript).

use sportello_domain::Sealed;

use crate::personal;
use crate::state::AppState;
use crate::web::Result;

/// The coordinates as shown, and the map's address; `None` without a position (or once erased).
pub async fn map(app: &AppState, location: Option<&Sealed>) -> Result<Option<(String, String)>> {
    let Some(sealed) = location else {
        return Ok(None);
    };
    let coordinates = personal::open_coordinates(&app.pool, sealed).await?;
    Ok(coordinates.map(|c| {
        (
            format!("{:.6}, {:.6}", c.latitude, c.longitude),
            format!(
                "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=18/{lat:.6}/{lon:.6}",
                lat = c.latitude,
                lon = c.longitude
            ),
        )
    }))
}
