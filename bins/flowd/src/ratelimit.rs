//! Rate limits per client address on the flow endpoints (the security baseline's "rate limits
//! per client address"): a token bucket per IP (governor), refilled at the configured rate per
//! minute, with a burst. Over the limit: 429 with `Retry-After`. Health, metrics, JWKS and
//! the admin API (random 128-bit tokens) are not limited.
//!
//! The key is the TCP peer address: behind a reverse proxy every client shares the proxy's
//! address, so raise the limit there (or limit at the proxy).

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

/// Path prefixes the limit applies to: the two flow protocols, and the hosted pages that look
/// something up or draw a QR code (their static assets are not limited).
const LIMITED_PREFIXES: [&str; 7] = [
    "/api/server/v1/flow/",
    "/flow/execute",
    "/api/v3/",
    "/flows/-/",
    "/if/flow/",
    "/if/user/",
    "/if/qr",
];

/// The per-address limiter of the flow endpoints (or none: limits off).
#[derive(Debug)]
pub struct RateLimit {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RateLimit {
    /// A limit of `per_minute` requests per address, bursts of `burst` (0: as many as
    /// `per_minute`); no limit at all when `per_minute` is 0.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(burst).unwrap_or(per_minute);
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Self { limiter }
    }

    /// Whether `address` may make one more request now; else how many seconds to wait.
    fn check(&self, address: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&address).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .saturating_add(1)
        })
    }

    /// Forgets addresses whose buckets are full again, so memory follows the active clients.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Whether requests to `path` are limited.
fn limited(path: &str) -> bool {
    LIMITED_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// The middleware: answers 429 for an address over its limit on a limited path.
pub async fn enforce(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let wait = match (
        request.app_data::<web::Data<RateLimit>>(),
        request.peer_addr(),
    ) {
        (Some(limit), Some(peer)) if limited(request.path()) => limit.check(peer.ip()).err(),
        _ => None,
    };
    let Some(wait) = wait else {
        return next
            .call(request)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    metrics::counter!("flowd_rate_limited_total").increment(1);
    let message = format!("Too many requests from this address; retry in {wait} s.");
    // `message` for WSO2-style clients, `detail` for authentik-style ones.
    let response = HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, wait.to_string()))
        .json(json!({"code": "rate_limited", "message": message, "detail": message}));
    Ok(request.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_address_waits_and_others_do_not() {
        let limit = RateLimit::new(60, 2);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(limit.check(a).is_ok() && limit.check(a).is_ok());
        let wait = limit.check(a).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
        assert!(limit.check(b).is_ok());
        let off = RateLimit::new(0, 10);
        assert!((0..100).all(|_| off.check(a).is_ok()));
    }

    #[test]
    fn only_the_flow_protocols_are_limited() {
        for path in [
            "/api/server/v1/flow/execute",
            "/flow/execute",
            "/api/v3/flows/executor/login/",
            "/flows/-/cancel/",
            "/if/flow/default-login/",
            "/if/user/sign-out",
            "/if/qr",
        ] {
            assert!(limited(path), "{path}");
        }
        for path in [
            "/healthz",
            "/metrics",
            "/api/admin/flows",
            "/oauth2/jwks",
            "/if/assets/flow.js",
        ] {
            assert!(!limited(path), "{path}");
        }
    }
}
