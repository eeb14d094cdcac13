//! OAuth: connected apps and their client authentication, the authorization-code
//! (web-server) flow, refresh tokens and their policies, and the JWT bearer grant.

pub mod apps;
pub mod authorization_codes;
pub mod jwt_bearer;
pub mod refresh_tokens;
