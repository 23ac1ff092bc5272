//! Logging: a `tracing` subscriber in text or JSON, and a middleware that gives every request a
//! span with a request id, so every log line of the request carries it. Nothing here logs
//! bodies, headers or query strings: they can hold passwords, codes and tokens.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

use crate::config::{Config, LogFormat};

/// The response header that echoes the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Installs the global subscriber (once; later calls, as in tests, keep the first).
pub fn init(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Wraps each request in a span `request{id, method, path}` and logs its status and duration.
pub async fn request_span(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    // The id is the server's, never the client's: handlers that quote it (authentik's
    // `ak-stage-flow-error`) read it from this header.
    if let Ok(value) = HeaderValue::from_str(&id) {
        request
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.path(),
    );
    let started = Instant::now();
    let method = request.method().to_string();
    async move {
        let mut response = next.call(request).await?;
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        tracing::info!(status, elapsed_ms = elapsed.as_millis() as u64, "handled");
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        metrics::counter!(
            "flowd_http_requests_total",
            "method" => method.clone(),
            "route" => route.clone(),
            "status" => status.to_string(),
        )
        .increment(1);
        metrics::histogram!("flowd_http_request_duration_seconds", "method" => method, "route" => route)
            .record(elapsed.as_secs_f64());
        if let Ok(value) = HeaderValue::from_str(&id) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}
