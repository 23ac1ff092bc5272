//! The request deadline: once a request's headers are in, its body must arrive within a
//! bounded time, so that a client trickling a body (or sending none after promising one) cannot
//! hold a connection, and its file descriptor, for as long as it likes.
//!
//! [`enforce_body_deadline`] wraps every request's body stream: past the deadline the stream
//! fails, [`crate::read_json_object`] reports [`crate::BodyError::TimedOut`] (the adapters answer
//! 408), and the middleware marks the response `Connection: close`.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::rt::time::{Sleep, sleep};
use actix_web::web::{self, Bytes};
use futures_util::Stream;

/// How long a request's body may take to arrive, counted from when its headers were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDeadline(pub Duration);

impl Default for BodyDeadline {
    /// Ten seconds: far more than any flow body needs on a slow mobile link.
    fn default() -> Self {
        Self(Duration::from_secs(10))
    }
}

/// The error a body stream yields once the deadline has passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive before the deadline")]
struct DeadlinePassed;

/// Whether a payload error is the deadline's (rather than a broken connection).
pub(crate) fn is_deadline_error(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<DeadlinePassed>()))
}

/// A body stream that fails once its deadline passes.
struct Deadlined {
    inner: Payload,
    timer: Pin<Box<Sleep>>,
    fired: Rc<Cell<bool>>,
}

impl Stream for Deadlined {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.fired.get() {
            return Poll::Ready(None);
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.fired.set(true);
            let error = std::io::Error::new(std::io::ErrorKind::TimedOut, DeadlinePassed);
            return Poll::Ready(Some(Err(PayloadError::Io(error))));
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// The middleware: bounds the body of every request by the [`BodyDeadline`] in the app data
/// (the default when there is none), and closes the connection of a request that missed it.
pub async fn enforce_body_deadline(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let deadline = request
        .app_data::<web::Data<BodyDeadline>>()
        .map(|deadline| *deadline.get_ref())
        .unwrap_or_default();
    let fired = Rc::new(Cell::new(false));
    let body = Deadlined {
        inner: std::mem::replace(request.parts_mut().1, Payload::None),
        timer: Box::pin(sleep(deadline.0)),
        fired: fired.clone(),
    };
    request.set_payload(Payload::Stream {
        payload: Box::pin(body),
    });
    let mut response = next.call(request).await?;
    if fired.get() {
        let head = response.response_mut().head_mut();
        head.set_connection_type(actix_web::http::ConnectionType::Close);
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::{App, HttpResponse, middleware, test};

    use super::*;
    use crate::{BodyError, read_json_object};

    async fn read(payload: web::Payload) -> HttpResponse {
        match read_json_object(payload, 1024).await {
            Ok(_) => HttpResponse::Ok().finish(),
            Err(BodyError::TimedOut) => HttpResponse::RequestTimeout().finish(),
            Err(_) => HttpResponse::BadRequest().finish(),
        }
    }

    #[actix_rt::test]
    async fn a_body_that_never_ends_times_out_and_closes_the_connection() {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(BodyDeadline(Duration::from_millis(50))))
                .wrap(middleware::from_fn(enforce_body_deadline))
                .route("/", web::post().to(read)),
        )
        .await;
        // A body stream that yields one chunk and then never another.
        let (mut sender, payload) = actix_http::h1::Payload::create(false);
        sender.feed_data(Bytes::from_static(b"{"));
        let (request, _) = test::TestRequest::post()
            .uri("/")
            .to_request()
            .replace_payload(Payload::from(payload));
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status().as_u16(), 408);
        assert_eq!(response.headers().get(header::CONNECTION).unwrap(), "close");
        drop(sender);
    }

    #[actix_rt::test]
    async fn a_prompt_body_passes() {
        let app = test::init_service(
            App::new()
                .wrap(middleware::from_fn(enforce_body_deadline))
                .route("/", web::post().to(read)),
        )
        .await;
        let request = test::TestRequest::post()
            .uri("/")
            .set_payload("{}")
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status().as_u16(), 200);
    }
}
