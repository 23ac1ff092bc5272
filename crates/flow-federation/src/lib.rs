//! flow-federation: the adapter behind the engine's [`FederationClient`] port. It talks to
//! identity providers over HTTP, blocking (the engine runs on a blocking pool):
//!
//! - **OpenID Connect**: discovery from the issuer (cached, with the JWKS), the authorization
//!   URL with PKCE S256, `state` and `nonce`, the code exchange, the ID token's signature,
//!   issuer, audience, expiry and nonce (the `openidconnect` crate), then userinfo merged in.
//! - **OAuth2**: the configured endpoints, the code exchange with PKCE, userinfo, and GitHub's
//!   e-mail list for the primary address and whether it is verified.
//!
//! Every call has a timeout; redirects are never followed; answers are size-capped. Nothing
//! here logs a secret, a code or a token.

mod http_client;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use flow_engine::{
    AuthorizationRequest, CodeRedemption, FederationClient, FederationError, IdentityProvider,
    ProviderProtocol,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    TokenUrl,
};
use serde_json::{Map, Value};

pub use http_client::{HttpClient, HttpError, MAX_RESPONSE_BYTES};

/// How long discovery documents (and their JWKS) are kept before they are fetched again.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(600);

/// The default timeout of one call to a provider.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The adapter's settings.
#[derive(Debug, Clone)]
pub struct FederationOptions {
    /// The timeout of each HTTP call to a provider.
    pub timeout: Duration,
}

impl Default for FederationOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Installs ring as the process's rustls crypto provider, unless one is installed. Every
/// reqwest client of the process needs it (the workspace builds reqwest with
/// `rustls-no-provider`): call it at start-up, before any client is made.
pub fn install_crypto_provider() {
    // An error means a provider is installed already, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The engine's [`FederationClient`] over HTTP.
pub struct HttpFederation {
    http: HttpClient,
    discovered: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for HttpFederation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFederation").finish_non_exhaustive()
    }
}

impl HttpFederation {
    /// A client with these options. It builds its HTTP client on first use, on the thread
    /// that first calls it (a blocking client must not be made on an async runtime's thread).
    pub fn new(options: FederationOptions) -> Self {
        install_crypto_provider();
        Self {
            http: HttpClient::new(options.timeout),
            discovered: Mutex::new(HashMap::new()),
        }
    }

    /// The provider's discovery document (with its JWKS), from the cache when fresh.
    fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, FederationError> {
        if let Some((at, metadata)) = self.cache().get(issuer)
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer_url = IssuerUrl::new(issuer.to_owned())
            .map_err(|error| FederationError::Misconfigured(format!("issuer: {error}")))?;
        let send = |request| self.http.send(request);
        let metadata = CoreProviderMetadata::discover(&issuer_url, &send).map_err(|error| {
            FederationError::Unavailable(format!("discovery of {issuer}: {}", chain(&error)))
        })?;
        self.cache()
            .insert(issuer.to_owned(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// Forgets a provider's discovery document (after a signature failure: its keys may have
    /// rotated).
    fn forget(&self, issuer: &str) {
        self.cache().remove(issuer);
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, CoreProviderMetadata)>> {
        self.discovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn oidc_client(
        &self,
        provider: &IdentityProvider,
        redirect_uri: &str,
    ) -> Result<(OidcClient, String), FederationError> {
        let issuer = provider
            .issuer
            .as_deref()
            .ok_or_else(|| FederationError::Misconfigured("no issuer".to_owned()))?;
        let metadata = self.metadata(issuer)?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.client_id.clone()),
            provider.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect(redirect_uri)?);
        Ok((client, issuer.to_owned()))
    }

    fn oidc_redeem(
        &self,
        request: &CodeRedemption<'_>,
    ) -> Result<Map<String, Value>, FederationError> {
        let provider = request.provider;
        let (client, issuer) = self.oidc_client(provider, request.redirect_uri)?;
        let send = |http_request| self.http.send(http_request);
        let token = client
            .exchange_code(AuthorizationCode::new(request.code.to_owned()))
            .map_err(|error| FederationError::Misconfigured(error.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(request.pkce_verifier.to_owned()))
            .request(&send)
            .map_err(token_error)?;
        let id_token = token
            .id_token()
            .ok_or_else(|| FederationError::InvalidToken("no id_token in the answer".to_owned()))?;
        let verifier = client.id_token_verifier();
        let claims: &CoreIdTokenClaims =
            match id_token.claims(&verifier, &Nonce::new(request.nonce.to_owned())) {
                Ok(claims) => claims,
                Err(error) => {
                    self.forget(&issuer);
                    return Err(FederationError::InvalidToken(chain(&error)));
                }
            };
        let mut merged = match serde_json::to_value(claims) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(FederationError::InvalidToken(
                    "unreadable claims".to_owned(),
                ));
            }
        };
        let subject = claims.subject().as_str().to_owned();
        let userinfo = provider.userinfo_url.clone().or_else(|| {
            self.metadata(&issuer).ok().and_then(|metadata| {
                metadata
                    .userinfo_endpoint()
                    .map(|url| url.as_str().to_owned())
            })
        });
        if let Some(url) = userinfo {
            let info = self.http.get_json(&url, token.access_token().secret())?;
            // Userinfo about someone else is not merged (OpenID Connect Core 5.3.2).
            if info.get("sub").and_then(Value::as_str) == Some(subject.as_str()) {
                for (claim, value) in info {
                    merged.entry(claim).or_insert(value);
                }
            } else {
                tracing::warn!(provider = %provider.id, "userinfo subject differs from the ID token's; ignored");
            }
        }
        Ok(merged)
    }

    fn oauth2_redeem(
        &self,
        request: &CodeRedemption<'_>,
    ) -> Result<Map<String, Value>, FederationError> {
        let provider = request.provider;
        let client = oauth2_client(provider, request.redirect_uri)?;
        let send = |http_request| self.http.send(http_request);
        let token = client
            .exchange_code(AuthorizationCode::new(request.code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(request.pkce_verifier.to_owned()))
            .request(&send)
            .map_err(token_error)?;
        let access = token.access_token().secret();
        let userinfo = provider
            .userinfo_url
            .as_deref()
            .ok_or_else(|| FederationError::Misconfigured("no userinfo_url".to_owned()))?;
        let mut claims = self.http.get_json(userinfo, access)?;
        if let Some(emails) = &provider.emails_url {
            let list = self.http.get_json_value(emails, access)?;
            if let Some(primary) = primary_email(&list) {
                claims.insert(provider.claims.email.clone(), Value::String(primary.0));
                claims.insert(
                    provider.claims.email_verified.clone(),
                    Value::Bool(primary.1),
                );
            }
        }
        Ok(claims)
    }
}

impl FederationClient for HttpFederation {
    fn authorization_url(
        &self,
        request: &AuthorizationRequest<'_>,
    ) -> Result<String, FederationError> {
        let provider = request.provider;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            request.pkce_verifier.to_owned(),
        ));
        let state = request.state.to_owned();
        let scopes = provider
            .scopes
            .iter()
            .filter(|scope| scope.as_str() != "openid");
        let url = match provider.protocol {
            ProviderProtocol::Oidc => {
                let (client, _) = self.oidc_client(provider, request.redirect_uri)?;
                let nonce = request.nonce.to_owned();
                client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        move || CsrfToken::new(state),
                        move || Nonce::new(nonce),
                    )
                    .add_scopes(scopes.map(|scope| Scope::new(scope.clone())))
                    .set_pkce_challenge(challenge)
                    .url()
                    .0
            }
            ProviderProtocol::Oauth2 => {
                let client = oauth2_client(provider, request.redirect_uri)?;
                client
                    .authorize_url(move || CsrfToken::new(state))
                    .add_scopes(
                        provider
                            .scopes
                            .iter()
                            .map(|scope| Scope::new(scope.clone())),
                    )
                    .set_pkce_challenge(challenge)
                    .url()
                    .0
            }
        };
        Ok(url.to_string())
    }

    fn redeem(&self, request: &CodeRedemption<'_>) -> Result<Map<String, Value>, FederationError> {
        match request.provider.protocol {
            ProviderProtocol::Oidc => self.oidc_redeem(request),
            ProviderProtocol::Oauth2 => self.oauth2_redeem(request),
        }
    }
}

/// An OpenID client made from discovery: the token and userinfo endpoints may be missing.
type OidcClient = CoreClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointMaybeSet,
    oauth2::EndpointMaybeSet,
>;

type Oauth2Client = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// A plain OAuth2 client; the credentials go in the request body (GitHub's way, and what
/// most OAuth2-only providers accept).
fn oauth2_client(
    provider: &IdentityProvider,
    redirect_uri: &str,
) -> Result<Oauth2Client, FederationError> {
    let endpoint = |name: &str, value: &Option<String>| {
        value
            .clone()
            .ok_or_else(|| FederationError::Misconfigured(format!("no {name}")))
    };
    let auth = AuthUrl::new(endpoint("authorize_url", &provider.authorize_url)?)
        .map_err(|error| FederationError::Misconfigured(format!("authorize_url: {error}")))?;
    let token = TokenUrl::new(endpoint("token_url", &provider.token_url)?)
        .map_err(|error| FederationError::Misconfigured(format!("token_url: {error}")))?;
    let mut client = oauth2::basic::BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(auth)
        .set_token_uri(token)
        .set_redirect_uri(redirect(redirect_uri)?)
        .set_auth_type(oauth2::AuthType::RequestBody);
    if let Some(secret) = &provider.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

fn redirect(uri: &str) -> Result<RedirectUrl, FederationError> {
    RedirectUrl::new(uri.to_owned())
        .map_err(|error| FederationError::Misconfigured(format!("redirect_uri: {error}")))
}

/// A token endpoint's failure: its `error` answer (`invalid_grant`: an expired or replayed
/// code) or no usable answer at all.
fn token_error<RE, T>(error: oauth2::RequestTokenError<RE, T>) -> FederationError
where
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponse + serde::Serialize + 'static,
{
    match error {
        oauth2::RequestTokenError::ServerResponse(answer) => {
            let code = serde_json::to_value(&answer)
                .ok()
                .and_then(|value| {
                    value
                        .get("error")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            if code == "invalid_client" || code == "unauthorized_client" {
                FederationError::Misconfigured(format!("token endpoint: {code}"))
            } else {
                FederationError::CodeRejected(format!("token endpoint: {code}"))
            }
        }
        other => FederationError::Unavailable(format!("token endpoint: {}", chain(&other))),
    }
}

/// GitHub's `/user/emails`: the primary address and whether it is verified.
fn primary_email(list: &Value) -> Option<(String, bool)> {
    list.as_array()?
        .iter()
        .find(|entry| entry.get("primary").and_then(Value::as_bool) == Some(true))
        .and_then(|entry| {
            let email = entry.get("email")?.as_str()?.to_owned();
            let verified = entry.get("verified").and_then(Value::as_bool) == Some(true);
            Some((email, verified))
        })
}

/// An error with its sources, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn the_primary_email_is_picked_with_its_verification() {
        let list = json!([
            {"email": "old@x.org", "primary": false, "verified": true},
            {"email": "me@x.org", "primary": true, "verified": false}
        ]);
        assert_eq!(primary_email(&list), Some(("me@x.org".to_owned(), false)));
        assert_eq!(primary_email(&json!({"message": "Bad credentials"})), None);
    }

    #[test]
    fn an_unreachable_issuer_is_unavailable_not_a_panic() {
        let federation = HttpFederation::new(FederationOptions {
            timeout: Duration::from_millis(500),
        });
        let mut provider = IdentityProvider::new("test", ProviderProtocol::Oidc, "client");
        // Port 9 (discard) on loopback: nothing listens there.
        provider.issuer = Some("http://127.0.0.1:9".to_owned());
        let error = federation
            .authorization_url(&AuthorizationRequest {
                provider: &provider,
                redirect_uri: "http://127.0.0.1:8080/cb",
                state: "s",
                nonce: "n",
                pkce_verifier: "v".repeat(43).as_str(),
            })
            .unwrap_err();
        assert!(
            matches!(error, FederationError::Unavailable(_)),
            "{error:?}"
        );
    }

    #[test]
    fn an_oauth2_provider_gets_pkce_state_and_scopes_in_its_url() {
        let federation = HttpFederation::new(FederationOptions::default());
        let mut provider = IdentityProvider::preset("github").unwrap();
        provider.client_id = "cid".to_owned();
        let verifier = "v".repeat(43);
        let url = federation
            .authorization_url(&AuthorizationRequest {
                provider: &provider,
                redirect_uri: "http://127.0.0.1:8080/cb",
                state: "the-state",
                nonce: "n",
                pkce_verifier: &verifier,
            })
            .unwrap();
        assert!(
            url.starts_with("https://github.com/login/oauth/authorize?"),
            "{url}"
        );
        for part in [
            "state=the-state",
            "code_challenge_method=S256",
            "client_id=cid",
            "scope=read%3Auser+user%3Aemail",
        ] {
            assert!(url.contains(part), "{part} missing in {url}");
        }
    }
}
