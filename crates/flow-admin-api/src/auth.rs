//! Bearer-token authentication of admin requests, compared in constant time.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{AdminError, AdminState};

/// The admin token, held only as its SHA-256 digest so that the clear token need not stay in
/// memory (or in the database) after start-up.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl AdminToken {
    /// Wraps the digest of a token (as stored).
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self { digest }
    }

    /// Digests a clear token.
    pub fn from_token(token: &str) -> Self {
        Self {
            digest: digest(token),
        }
    }

    /// The stored form: the SHA-256 digest.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Whether `candidate` is the token. Digests of equal length are compared in constant
    /// time, so neither the token's content nor its length leaks through timing.
    pub fn accepts(&self, candidate: &str) -> bool {
        digest(candidate).ct_eq(&self.digest).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Proof that the request carried the admin token; handlers take it as their first argument.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequest for Admin {
    type Error = AdminError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let state = request.app_data::<web::Data<AdminState>>();
        if let Some(state) = state
            && let Err(refused) = state.origins.check(request)
        {
            return ready(Err(AdminError::CrossSite(refused)));
        }
        let accepted = match (presented, state) {
            (Some(token), Some(state)) => state.token.accepts(token),
            _ => false,
        };
        ready(if accepted {
            Ok(Admin)
        } else {
            Err(AdminError::Unauthorized)
        })
    }
}
