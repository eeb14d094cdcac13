//! The layers every Latchkey listener's router wears, the org server's and the hub's
//! alike: a random request id (set, and echoed in `x-request-id`), a trace span per
//! request named by its route (never its path, which may carry a secret), and a
//! timeout.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, StatusCode};
use axum::Router;
use latchkey_core::secret::random_alphanumeric;
use secrecy::ExposeSecret;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// How long a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Request ids: 20 random alphanumerics.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        random_alphanumeric(20).expose_secret().parse().ok().map(RequestId::new)
    }
}

/// The route template a request matched (`/reset/{token}`), for logs.
pub fn route_of<B>(req: &axum::http::Request<B>) -> &str {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(no route)", axum::extract::MatchedPath::as_str)
}

/// The timeout layer: 408 after [`REQUEST_TIMEOUT`]. Apply it inside any layer that
/// turns refusals into a surface's wire format.
pub fn timeout() -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT)
}

/// `router` with a trace span per request and a request id, outermost.
pub fn observed<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let request_id = HeaderName::from_static("x-request-id");
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(
                    |req: &Request| tracing::info_span!("http", method = %req.method(), route = route_of(req)),
                )
                // A SOAP fault is HTTP 500 by protocol, not a server failure; handlers log real ones.
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, RandomRequestId))
}
