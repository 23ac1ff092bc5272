//! Caps on concurrent connections, per client address and in total, so that one address (or a
//! crowd) holding connections open cannot use up the server's file descriptors.
//!
//! Every accepted connection is counted when it opens ([`ConnectionLimits::on_connect`], given to
//! actix's `HttpServer::on_connect`) and uncounted when it closes. A connection over a cap is
//! still accepted, but [`refuse_over_limit`] answers each of its requests 503 with
//! `Connection: close`, except on the exempt paths (health checks), which keep answering when
//! the server is full. Idle connections are closed by the server's header timeout, and slow
//! bodies by [`crate::BodyDeadline`], so a held connection is always short-lived.

use std::any::Any;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::HttpResponse;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use serde_json::json;

/// The caps and the current counts.
#[derive(Debug)]
pub struct ConnectionLimits {
    per_address: usize,
    total: usize,
    exempt: Vec<String>,
    open: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl ConnectionLimits {
    /// Caps of `per_address` connections per client address and `total` in all (0: no cap).
    pub fn new(per_address: usize, total: usize) -> Self {
        Self {
            per_address,
            total,
            exempt: Vec::new(),
            open: Mutex::new(Counts::default()),
        }
    }

    /// Paths served even on a connection over a cap (health checks).
    pub fn exempting<'a>(mut self, paths: impl IntoIterator<Item = &'a str>) -> Self {
        self.exempt = paths.into_iter().map(str::to_owned).collect();
        self
    }

    /// Connections open now, in all.
    pub fn open(&self) -> usize {
        self.counts().total
    }

    /// The callback for `HttpServer::on_connect`: counts the new connection and records in its
    /// extensions whether it is within the caps.
    pub fn on_connect(self: &Arc<Self>, connection: &dyn Any, extensions: &mut Extensions) {
        let address = connection
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|stream| stream.peer_addr().ok())
            .map(|address| address.ip());
        extensions.insert(self.admit(address));
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a connection from `address` and says whether it is within the caps.
    fn admit(self: &Arc<Self>, address: Option<IpAddr>) -> Admission {
        let mut counts = self.counts();
        counts.total += 1;
        let mut over = self.total > 0 && counts.total > self.total;
        if let Some(address) = address {
            let count = counts.by_address.entry(address).or_default();
            *count += 1;
            over |= self.per_address > 0 && *count > self.per_address;
        }
        Admission {
            limits: self.clone(),
            address,
            over,
        }
    }
}

/// One counted connection; uncounted when the connection (and so this value) is dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    limits: Arc<ConnectionLimits>,
    address: Option<IpAddr>,
    over: bool,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = self.limits.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(address) = self.address
            && let Some(count) = counts.by_address.get_mut(&address)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.by_address.remove(&address);
            }
        }
    }
}

/// The middleware: a request on a connection over a cap gets 503 (`too_many_connections`,
/// `Retry-After: 1`, `Connection: close`), unless its path is exempt.
pub async fn refuse_over_limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let refused = request.conn_data::<Admission>().is_some_and(|admission| {
        admission.over
            && !admission
                .limits
                .exempt
                .iter()
                .any(|path| path == request.path())
    });
    if refused {
        let response = HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, "1"))
            .force_close()
            .json(json!({
                "code": "too_many_connections",
                "message": "too many connections are open; try again shortly",
            }));
        return Ok(request.into_response(response).map_into_right_body());
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn caps_count_per_address_and_in_total_and_closing_frees_a_place() {
        let limits = Arc::new(ConnectionLimits::new(2, 3));
        let first = limits.admit(address(1));
        let second = limits.admit(address(1));
        let third = limits.admit(address(1));
        assert!(!first.over && !second.over);
        assert!(
            third.over,
            "a third connection from one address is over its cap"
        );
        drop(third);
        let other = limits.admit(address(2));
        assert!(!other.over);
        let fourth = limits.admit(address(3));
        assert!(
            fourth.over,
            "the fourth connection in all is over the total"
        );
        assert_eq!(limits.open(), 4);
        drop((first, second, other, fourth));
        assert_eq!(limits.open(), 0);
        assert!(limits.counts().by_address.is_empty());
    }

    #[test]
    fn zero_means_no_cap() {
        let limits = Arc::new(ConnectionLimits::new(0, 0));
        let held: Vec<_> = (0..100).map(|_| limits.admit(address(1))).collect();
        assert!(held.iter().all(|admission| !admission.over));
    }
}
