//! The pages' static assets, compiled into the binary: nothing is fetched from elsewhere, and
//! `cargo run` alone serves them (there is no build step).

/// An embedded asset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asset {
    /// The bytes served.
    pub(crate) body: &'static [u8],
    /// Its `Content-Type`.
    pub(crate) content_type: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The asset named `name` under `/if/assets/`, if there is one (`brand.css` is made from the
/// settings instead, see `routes`).
pub(crate) fn asset(name: &str) -> Option<Asset> {
    let (body, content_type): (&'static [u8], _) = match name {
        "flow.js" => (include_bytes!("../assets/flow.js"), JS),
        "account.js" => (include_bytes!("../assets/account.js"), JS),
        "common.js" => (include_bytes!("../assets/common.js"), JS),
        "pages.css" => (include_bytes!("../assets/pages.css"), CSS),
        "favicon.svg" => (include_bytes!("../assets/favicon.svg"), "image/svg+xml"),
        _ => return None,
    };
    Some(Asset { body, content_type })
}

/// A strong validator of `body` (FNV-1a, 64 bits), so that browsers revalidate with
/// `If-None-Match` and get `304` while the binary is unchanged.
pub(crate) fn etag(body: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in body {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{hash:016x}\"")
}
