//! Prometheus metrics: the process-wide recorder of the `metrics` facade, rendered at
//! `GET /metrics`. The engine counts flow starts, completions and failures by flow and type; the
//! request middleware counts requests and their duration by route pattern (never by raw path,
//! which would let clients create unbounded series).

use std::sync::OnceLock;

use actix_web::HttpResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (later calls, as in tests, reuse it). `None` if
/// another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|()| handle)
        })
        .as_ref()
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render() -> HttpResponse {
    match install() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable().finish(),
    }
}
