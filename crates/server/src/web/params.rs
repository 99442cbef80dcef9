//! Query parameters several pages share.

use serde::Deserialize;

/// `?avviso=…`: the notice a page shows after a redirect (each page knows its own).
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    pub avviso: Option<String>,
}

/// `?torna=…`: where to go after signing in (each sign-in page accepts only its own paths).
#[derive(Debug, Default, Deserialize)]
pub struct Back {
    pub torna: Option<String>,
}
