//! flow-pages' crate root: settings, state and `configure` (the crate documentation is
//! README.md).
#![doc = include_str!("../README.md")]

mod assets;
mod error;
mod language;
mod qr;
mod routes;
mod shell;

use std::sync::Arc;

use actix_web::web;
use flow_authentik_api::Sessions;
use flow_engine::FlowCatalog;
use flow_http::OriginPolicy;

pub use error::PagesError;
pub use language::{Language, negotiate};

/// The prefix of every page path but `/`.
pub const PAGES_PREFIX: &str = "/if";
/// The largest `POST /if/qr` body, in bytes (an `otpauth://` URI is far shorter).
pub const QR_BODY_LIMIT: usize = 1024;
/// The longest URI `POST /if/qr` encodes.
pub const MAX_QR_URI_CHARS: usize = 512;

/// Branding of the pages, from the server's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PagesSettings {
    /// The logo shown above every page (`FLOWD_PAGES_LOGO_URL`): a path on this server or
    /// an `http(s)` URL, whose origin the pages' `Content-Security-Policy` then allows for
    /// images.
    pub logo_url: Option<String>,
    /// The accent colour of buttons and links (`FLOWD_PAGES_ACCENT_COLOR`), `#rgb` or
    /// `#rrggbb`.
    pub accent_color: Option<String>,
}

impl PagesSettings {
    /// Checked settings: a logo that is neither a path (`/...`) nor an `http(s)` URL, or a
    /// colour that is not `#rgb`/`#rrggbb`, is refused (both end up in markup and CSS).
    pub fn new(logo_url: Option<String>, accent_color: Option<String>) -> Result<Self, PagesError> {
        if let Some(logo) = &logo_url
            && logo_origin(logo).is_none()
            && !is_local_path(logo)
        {
            return Err(PagesError::Setting {
                setting: "FLOWD_PAGES_LOGO_URL",
                message: "must be a path starting with / or an http(s) URL".to_owned(),
            });
        }
        if let Some(color) = &accent_color
            && !is_hex_color(color)
        {
            return Err(PagesError::Setting {
                setting: "FLOWD_PAGES_ACCENT_COLOR",
                message: "must be a colour written #rgb or #rrggbb".to_owned(),
            });
        }
        Ok(Self {
            logo_url,
            accent_color,
        })
    }
}

/// Whether `value` is a path on this server (`/x`, not the scheme-relative `//host`) made
/// of characters that need no escaping in an attribute.
fn is_local_path(value: &str) -> bool {
    value.starts_with('/')
        && !value.starts_with("//")
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\'))
}

/// The origin (`scheme://host[:port]`) of an `http(s)` logo URL.
fn logo_origin(value: &str) -> Option<String> {
    let url = url::Url::parse(value).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

/// `#rgb` or `#rrggbb`.
fn is_hex_color(value: &str) -> bool {
    value
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// What the page handlers need: the catalog (slug → flow, the default flows), the branding
/// and the origin policy of state-changing requests.
#[derive(Debug)]
pub struct PagesState {
    pub(crate) catalog: Arc<FlowCatalog>,
    pub(crate) settings: PagesSettings,
    pub(crate) origins: OriginPolicy,
    /// The `Content-Security-Policy` of every answer (made once, from the settings).
    pub(crate) csp: String,
    /// `/if/assets/brand.css`: the accent colour, if one is set.
    pub(crate) brand_css: String,
}

impl PagesState {
    /// The state over `catalog`; `origins` is the executor's policy (the same pages may post).
    pub fn new(catalog: Arc<FlowCatalog>, settings: PagesSettings, origins: OriginPolicy) -> Self {
        let brand_css = match &settings.accent_color {
            // Light mode only: in dark mode a colour chosen for a light page would lack
            // contrast, so the dark palette keeps its own accent.
            Some(color) => format!(
                "@media (prefers-color-scheme: light) {{ :root {{ --accent: {color}; }} }}\n"
            ),
            None => "/* no accent colour set (FLOWD_PAGES_ACCENT_COLOR) */\n".to_owned(),
        };
        let mut state = Self {
            catalog,
            settings,
            origins,
            csp: String::new(),
            brand_css,
        };
        state.csp = state.content_security_policy();
        state
    }
}

/// Mounts `GET /`, `GET /if/flow/{slug}/`, `GET /if/user/`, `POST /if/user/sign-out`,
/// `POST /if/qr` and `GET /if/assets/{name}`, behind the executor's session middleware so
/// that the pages see who signed in.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<PagesState>, sessions: &Sessions) {
    routes::mount(cfg, state, sessions);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branding_settings_are_checked() {
        assert!(PagesSettings::new(Some("/logo.svg".into()), Some("#0a7".into())).is_ok());
        assert!(
            PagesSettings::new(
                Some("https://cdn.example/l.png".into()),
                Some("#00aa77".into())
            )
            .is_ok()
        );
        for logo in [
            "javascript:alert(1)",
            "//evil.example/x.png",
            "/a\"b",
            "data:image/png;base64,x",
        ] {
            assert!(
                PagesSettings::new(Some(logo.into()), None).is_err(),
                "{logo}"
            );
        }
        for color in ["red", "#12", "#12345g", "#1234567", "#fff;}"] {
            assert!(
                PagesSettings::new(None, Some(color.into())).is_err(),
                "{color}"
            );
        }
    }
}
