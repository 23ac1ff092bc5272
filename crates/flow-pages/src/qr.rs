//! The QR code of an authenticator app's `otpauth://` URI, as SVG, drawn here by the
//! `qrcode` crate: the secret in the URI never reaches an outside service or a URL.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::{MAX_QR_URI_CHARS, PagesError};

/// The SVG of `uri`, which must be an `otpauth://` URI of at most [`MAX_QR_URI_CHARS`].
pub(crate) fn otpauth_svg(uri: &str) -> Result<String, PagesError> {
    if !uri.starts_with("otpauth://") || uri.chars().count() > MAX_QR_URI_CHARS {
        return Err(PagesError::NotOtpauth);
    }
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|_| PagesError::NotOtpauth)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_otpauth_uri_becomes_an_svg_without_its_text() {
        let uri = "otpauth://totp/flowd:alice?secret=JBSWY3DPEHPK3PXP&issuer=flowd";
        let svg = otpauth_svg(uri).unwrap_or_default();
        assert!(svg.starts_with("<?xml"), "{svg}");
        assert!(svg.contains("<svg"), "{svg}");
        assert!(!svg.contains("JBSWY3DPEHPK3PXP"));
        assert!(
            !svg.contains("style="),
            "no inline style: the CSP forbids it"
        );
    }

    #[test]
    fn other_uris_and_long_ones_are_refused() {
        assert!(matches!(
            otpauth_svg("https://example.com"),
            Err(PagesError::NotOtpauth)
        ));
        let long = format!("otpauth://totp/x?secret={}", "A".repeat(MAX_QR_URI_CHARS));
        assert!(matches!(otpauth_svg(&long), Err(PagesError::NotOtpauth)));
    }
}
