//! The cross-site request check that browser-facing endpoints run before acting on a POST:
//! SameSite cookies alone are not enough (an HTML form on another site can post a `text/plain`
//! body without a preflight), so a request that a browser marks as coming from a foreign origin
//! is refused. Clients that are not browsers send neither header and are not affected.

use actix_web::HttpRequest;
use actix_web::http::{Method, header};

/// Why a request was refused as cross-site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrossSiteRequest {
    /// The `Origin` header names an origin that is neither this server's nor allowed.
    #[error("requests from origin {0} are not accepted")]
    ForeignOrigin(String),
    /// The browser says the request is cross-site (`Sec-Fetch-Site: cross-site`) and sent no
    /// allowed `Origin`.
    #[error("cross-site requests are not accepted")]
    CrossSite,
}

/// The origins whose pages may post to the server, besides the server's own.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    allowed: Vec<url::Origin>,
}

impl OriginPolicy {
    /// A policy allowing the origins of `urls` (the public URL, the allowed redirect origins);
    /// entries that are not `scheme://host[:port]` URLs are skipped.
    pub fn allowing<'a>(urls: impl IntoIterator<Item = &'a str>) -> Self {
        let allowed = urls
            .into_iter()
            .filter_map(|url| url::Url::parse(url.trim()).ok())
            .map(|url| url.origin())
            .filter(url::Origin::is_tuple)
            .collect();
        Self { allowed }
    }

    /// Checks a request: safe methods always pass; otherwise an `Origin` must be the server's
    /// own (as the request's `Host` names it) or an allowed one, and without `Origin` the
    /// request must not be marked `Sec-Fetch-Site: cross-site`.
    pub fn check(&self, request: &HttpRequest) -> Result<(), CrossSiteRequest> {
        if matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        ) {
            return Ok(());
        }
        let header_text = |name| {
            request
                .headers()
                .get(name)
                .map(|value| value.to_str().unwrap_or("\u{fffd}"))
        };
        if let Some(origin) = header_text(header::ORIGIN) {
            return if self.accepts(request, origin) {
                Ok(())
            } else {
                Err(CrossSiteRequest::ForeignOrigin(
                    crate::echo(origin).into_owned(),
                ))
            };
        }
        match header_text(header::HeaderName::from_static("sec-fetch-site")) {
            Some(site) if site.eq_ignore_ascii_case("cross-site") => {
                Err(CrossSiteRequest::CrossSite)
            }
            _ => Ok(()),
        }
    }

    fn accepts(&self, request: &HttpRequest, origin: &str) -> bool {
        let Ok(parsed) = url::Url::parse(origin) else {
            return false;
        };
        let origin = parsed.origin();
        if !origin.is_tuple() {
            return false;
        }
        if self.allowed.contains(&origin) {
            return true;
        }
        let info = request.connection_info();
        url::Url::parse(&format!("{}://{}", info.scheme(), info.host()))
            .is_ok_and(|own| own.origin() == origin)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn check(policy: &OriginPolicy, headers: &[(&str, &str)]) -> Result<(), CrossSiteRequest> {
        let mut request = TestRequest::post()
            .uri("/api/v3/flows/executor/login/")
            .insert_header((header::HOST, "flowd.example:8080"));
        for &(name, value) in headers {
            request = request.insert_header((name, value));
        }
        policy.check(&request.to_http_request())
    }

    #[test]
    fn own_and_allowed_origins_pass_and_others_are_refused() {
        let policy = OriginPolicy::allowing(["https://app.example.com", "not a url"]);
        assert_eq!(
            check(&policy, &[]),
            Ok(()),
            "no browser headers: not a browser"
        );
        assert_eq!(
            check(&policy, &[("origin", "http://flowd.example:8080")]),
            Ok(())
        );
        assert_eq!(
            check(&policy, &[("origin", "https://app.example.com")]),
            Ok(())
        );
        assert_eq!(
            check(&policy, &[("origin", "https://evil.example")]),
            Err(CrossSiteRequest::ForeignOrigin(
                "https://evil.example".to_owned()
            ))
        );
        assert!(check(&policy, &[("origin", "null")]).is_err());
        assert!(check(&policy, &[("origin", "http://flowd.example:8081")]).is_err());
        assert_eq!(
            check(&policy, &[("sec-fetch-site", "cross-site")]),
            Err(CrossSiteRequest::CrossSite)
        );
        assert_eq!(check(&policy, &[("sec-fetch-site", "same-origin")]), Ok(()));
    }

    #[test]
    fn safe_methods_are_not_checked() {
        let request = TestRequest::get()
            .insert_header(("origin", "https://evil.example"))
            .to_http_request();
        assert_eq!(OriginPolicy::default().check(&request), Ok(()));
    }
}
