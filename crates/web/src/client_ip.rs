//! The client's address: the TCP peer. (Forwarded headers are honoured only behind a
//! configured trusted proxy — not yet configurable, so never.)

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use latchkey_core::network::{canonical_ip, UNKNOWN_IP};

/// The source address of a request (`::` when the server was not told it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(UNKNOWN_IP, |c| canonical_ip(c.0.ip()));
        Ok(Self(ip))
    }
}
