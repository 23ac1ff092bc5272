//! Social login: identity providers (OpenID Connect and plain OAuth2), the ports that store
//! them and talk to them, and the pieces of a sign-in that live in an execution.
//!
//! The engine never speaks HTTP: [`FederationClient`] builds the authorization URL and redeems
//! the code (an adapter does discovery, the token request, ID token checks and userinfo), and
//! hands back the provider's claims. What the claims mean for accounts (which user, link or
//! create) is decided here and in the `select_social_provider` step.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{PortError, TenantId, UserId};

/// How a provider is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderProtocol {
    /// OpenID Connect: discovery from the issuer, a signed ID token, then userinfo.
    Oidc,
    /// Plain OAuth2: configured endpoints, an access token, then userinfo (and an e-mail
    /// endpoint for GitHub's shape).
    Oauth2,
}

/// When a first sign-in with a provider may attach itself to an existing account that has the
/// provider's e-mail address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkByEmail {
    /// Never by itself: the person proves the existing account first (the default).
    #[default]
    Never,
    /// Directly, when the provider asserts `email_verified`.
    Verified,
}

/// Which claims of the provider's answer mean what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimMapping {
    /// The claim holding the provider's stable user id (`sub`; GitHub: `id`).
    pub subject: String,
    /// The e-mail address claim.
    pub email: String,
    /// The claim saying the address was verified (a boolean, or the string `"true"`).
    pub email_verified: String,
    /// The display name claim.
    pub name: String,
    /// The user name claim (`preferred_username`; GitHub: `login`).
    pub username: String,
    /// More attributes of a created user: attribute name to claim name.
    pub attributes: BTreeMap<String, String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            subject: "sub".to_owned(),
            email: "email".to_owned(),
            email_verified: "email_verified".to_owned(),
            name: "name".to_owned(),
            username: "preferred_username".to_owned(),
            attributes: BTreeMap::new(),
        }
    }
}

/// An identity provider of a tenant, as configured. The client secret is kept here for the
/// adapter that talks to the provider; [`Debug`] never prints it and the admin API never
/// returns it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProvider {
    /// The slug that flows name in `social_provider_select` (`google`, `github`).
    pub id: String,
    /// OpenID Connect or plain OAuth2.
    pub protocol: ProviderProtocol,
    /// The button text.
    pub display_name: String,
    /// An icon for the button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// The OpenID issuer (discovery at `{issuer}/.well-known/openid-configuration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// OAuth2 authorization endpoint (OIDC: overrides discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// OAuth2 token endpoint (OIDC: overrides discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// Userinfo endpoint (OIDC: overrides discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_url: Option<String>,
    /// GitHub's list of the user's addresses (`/user/emails`): the primary one and whether it
    /// is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails_url: Option<String>,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret; `None` for a public client (PKCE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Scopes asked for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Where the provider sends API clients (WSO2's protocol) back to; `None` means the
    /// server's own callback, which the session protocol (authentik's, the hosted pages)
    /// always uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Which claims mean what.
    #[serde(default)]
    pub claims: ClaimMapping,
    /// Whether a first sign-in may join an existing account with the same e-mail address.
    #[serde(default)]
    pub link_by_email: LinkByEmail,
    /// Whether a first sign-in with no account to join creates one.
    #[serde(default = "yes")]
    pub create_users: bool,
    /// Shown first among the sources (authentik's `promoted`).
    #[serde(default)]
    pub promoted: bool,
}

fn yes() -> bool {
    true
}

impl std::fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("id", &self.id)
            .field("protocol", &self.protocol)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("has_client_secret", &self.client_secret.is_some())
            .finish_non_exhaustive()
    }
}

/// The names of the built-in presets.
pub const PROVIDER_PRESETS: [&str; 5] = ["google", "github", "microsoft", "gitlab", "apple"];

impl IdentityProvider {
    /// A provider with nothing but its id, protocol and client id set.
    pub fn new(id: &str, protocol: ProviderProtocol, client_id: &str) -> Self {
        Self {
            id: id.to_owned(),
            protocol,
            display_name: id.to_owned(),
            icon_url: None,
            issuer: None,
            authorize_url: None,
            token_url: None,
            userinfo_url: None,
            emails_url: None,
            client_id: client_id.to_owned(),
            client_secret: None,
            scopes: Vec::new(),
            redirect_uri: None,
            claims: ClaimMapping::default(),
            link_by_email: LinkByEmail::Never,
            create_users: true,
            promoted: false,
        }
    }

    /// What a preset fills in (everything but the client credentials), or `None` for a name
    /// that is not one of [`PROVIDER_PRESETS`].
    pub fn preset(name: &str) -> Option<Self> {
        let oidc = |display: &str, issuer: &str| {
            let mut provider = Self::new(name, ProviderProtocol::Oidc, "");
            provider.display_name = display.to_owned();
            provider.issuer = Some(issuer.to_owned());
            provider.scopes = vec!["openid".into(), "email".into(), "profile".into()];
            provider
        };
        Some(match name {
            "google" => oidc("Google", "https://accounts.google.com"),
            // The multi-tenant issuer of Microsoft's common endpoint is not one issuer: set
            // `issuer` to `https://login.microsoftonline.com/{tenant}/v2.0`.
            "microsoft" => oidc("Microsoft", "https://login.microsoftonline.com/common/v2.0"),
            "gitlab" => oidc("GitLab", "https://gitlab.com"),
            "apple" => {
                let mut apple = oidc("Apple", "https://appleid.apple.com");
                apple.scopes = vec!["openid".into(), "email".into(), "name".into()];
                apple
            }
            "github" => {
                let mut github = Self::new(name, ProviderProtocol::Oauth2, "");
                github.display_name = "GitHub".to_owned();
                github.authorize_url = Some("https://github.com/login/oauth/authorize".into());
                github.token_url = Some("https://github.com/login/oauth/access_token".into());
                github.userinfo_url = Some("https://api.github.com/user".into());
                github.emails_url = Some("https://api.github.com/user/emails".into());
                github.scopes = vec!["read:user".into(), "user:email".into()];
                github.claims.subject = "id".to_owned();
                github.claims.username = "login".to_owned();
                github
            }
            _ => return None,
        })
    }
}

/// What the provider told about the person, read through [`ClaimMapping`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalIdentity {
    /// The provider's stable id of the person.
    pub subject: String,
    /// The e-mail address, if given.
    pub email: Option<String>,
    /// Whether the provider asserts the address was verified.
    pub email_verified: bool,
    /// The display name.
    pub name: Option<String>,
    /// The user name.
    pub username: Option<String>,
    /// The mapped attributes of [`ClaimMapping::attributes`].
    pub attributes: Map<String, Value>,
}

/// The longest subject or claim text kept from a provider.
const MAX_CLAIM_BYTES: usize = 512;

impl ExternalIdentity {
    /// Reads `claims` through `mapping`; `None` when the subject is missing, empty or too
    /// long. A number subject (GitHub's `id`) is taken as its decimal text.
    pub fn from_claims(claims: &Map<String, Value>, mapping: &ClaimMapping) -> Option<Self> {
        let text = |claim: &str| match claims.get(claim) {
            Some(Value::String(text))
                if !text.trim().is_empty() && text.len() <= MAX_CLAIM_BYTES =>
            {
                Some(text.trim().to_owned())
            }
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        let subject = text(&mapping.subject)?;
        let email_verified = match claims.get(&mapping.email_verified) {
            Some(Value::Bool(verified)) => *verified,
            Some(Value::String(text)) => text == "true",
            _ => false,
        };
        let attributes = mapping
            .attributes
            .iter()
            .filter_map(|(attribute, claim)| {
                let value = claims.get(claim)?;
                let kept = match value {
                    Value::String(text) if text.len() <= MAX_CLAIM_BYTES => value.clone(),
                    Value::Bool(_) | Value::Number(_) => value.clone(),
                    _ => return None,
                };
                Some((attribute.clone(), kept))
            })
            .collect();
        Some(Self {
            subject,
            email: text(&mapping.email),
            email_verified,
            name: text(&mapping.name),
            username: text(&mapping.username),
            attributes,
        })
    }
}

/// A user's link to an account at a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    /// The provider's id.
    pub provider: String,
    /// The provider's id of the person.
    pub subject: String,
    /// The e-mail address the provider gave when the link was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When it was made (Unix seconds).
    pub linked_at: i64,
}

/// Why a provider could not be used or did not sign the person in. Each maps to a stable
/// step error code ([`FederationError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    /// The provider did not answer (in time), or answered what is not a valid answer to
    /// discovery or to a token or userinfo request.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the code (expired, used before, or for another client).
    #[error("the provider refused the code: {0}")]
    CodeRejected(String),
    /// The ID token failed a check: signature, issuer, audience, expiry or nonce.
    #[error("the ID token is not valid: {0}")]
    InvalidToken(String),
    /// The provider's settings cannot work (a missing endpoint, a bad URL).
    #[error("the provider is misconfigured: {0}")]
    Misconfigured(String),
}

impl FederationError {
    /// The stable code of the step error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => SOCIAL_PROVIDER_UNAVAILABLE,
            Self::CodeRejected(_) => SOCIAL_CODE_REJECTED,
            Self::InvalidToken(_) => SOCIAL_INVALID_TOKEN,
            Self::Misconfigured(_) => SOCIAL_PROVIDER_UNAVAILABLE,
        }
    }
}

/// The provider did not answer, or could not be used.
pub const SOCIAL_PROVIDER_UNAVAILABLE: &str = "social_provider_unavailable";
/// The provider refused the authorization code (expired or replayed).
pub const SOCIAL_CODE_REJECTED: &str = "social_code_rejected";
/// The ID token failed a check (signature, issuer, audience, expiry, nonce).
pub const SOCIAL_INVALID_TOKEN: &str = "social_invalid_token";
/// The `state` that came back is not the one this execution sent.
pub const SOCIAL_STATE_MISMATCH: &str = "social_state_mismatch";
/// The person (or the provider) declined: the provider's `error` parameter.
pub const SOCIAL_ACCESS_DENIED: &str = "social_access_denied";
/// No account is linked and the provider may not create one.
pub const SOCIAL_ACCOUNT_NOT_FOUND: &str = "social_account_not_found";
/// The answer lacks a subject.
pub const SOCIAL_INVALID_RESPONSE: &str = "social_invalid_response";
/// None of the node's providers is configured.
pub const SOCIAL_PROVIDERS_UNAVAILABLE: &str = "social_providers_unavailable";
/// The account the provider's e-mail names has no password to prove it with.
pub const SOCIAL_ACCOUNT_EXISTS: &str = "social_account_exists";

/// What the adapter needs to send the person to the provider.
#[derive(Debug)]
pub struct AuthorizationRequest<'a> {
    /// The provider.
    pub provider: &'a IdentityProvider,
    /// Where the provider sends the person back.
    pub redirect_uri: &'a str,
    /// The `state` parameter, bound to the execution.
    pub state: &'a str,
    /// The OpenID `nonce`.
    pub nonce: &'a str,
    /// The PKCE code verifier; the adapter sends its S256 challenge.
    pub pkce_verifier: &'a str,
}

/// What the adapter needs to redeem the code.
#[derive(Debug)]
pub struct CodeRedemption<'a> {
    /// The provider.
    pub provider: &'a IdentityProvider,
    /// The redirect URI the authorization request used.
    pub redirect_uri: &'a str,
    /// The code the provider returned.
    pub code: &'a str,
    /// The nonce the ID token must carry.
    pub nonce: &'a str,
    /// The PKCE code verifier.
    pub pkce_verifier: &'a str,
}

/// Talks to identity providers over HTTP (an adapter: discovery, tokens, userinfo).
pub trait FederationClient: Send + Sync {
    /// The URL to send the person to.
    fn authorization_url(
        &self,
        request: &AuthorizationRequest<'_>,
    ) -> Result<String, FederationError>;

    /// Redeems the code and returns the person's claims: for OpenID Connect those of the
    /// verified ID token (with userinfo merged in, never replacing `sub`); for OAuth2 those of
    /// the userinfo endpoint (and `email`, `email_verified` from an e-mail endpoint).
    fn redeem(&self, request: &CodeRedemption<'_>) -> Result<Map<String, Value>, FederationError>;
}

/// The identity providers of each tenant.
pub trait IdentityProviderStore: Send + Sync {
    /// The providers of `tenant`, by id.
    fn list(&self, tenant: &TenantId) -> Result<Vec<IdentityProvider>, PortError>;

    /// The provider of `tenant` with this id.
    fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<IdentityProvider>, PortError>;

    /// Creates or replaces the provider with its id; `true` when it was created.
    fn put(&self, tenant: &TenantId, provider: &IdentityProvider) -> Result<bool, PortError>;

    /// Deletes the provider; [`PortError::NotFound`] if there is none with this id. The links
    /// users have to it stay (they come back into use if it is configured again).
    fn delete(&self, tenant: &TenantId, id: &str) -> Result<(), PortError>;
}

/// The users' links to provider accounts.
pub trait IdentityLinks: Send + Sync {
    /// The user linked to `subject` at `provider`.
    fn linked_user(
        &self,
        tenant: &TenantId,
        provider: &str,
        subject: &str,
    ) -> Result<Option<UserId>, PortError>;

    /// Links the user; [`PortError::Duplicate`] if that provider account is linked already
    /// (to anyone), [`PortError::NotFound`] if there is no such user.
    fn link(&self, tenant: &TenantId, user: &UserId, link: &IdentityLink) -> Result<(), PortError>;

    /// The user's links, by provider.
    fn links(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<IdentityLink>, PortError>;

    /// Removes the user's link to `provider`; [`PortError::NotFound`] if it has none.
    fn unlink(&self, tenant: &TenantId, user: &UserId, provider: &str) -> Result<(), PortError>;
}

/// A sign-in with a provider in progress, kept in the execution between the redirect and the
/// callback. It holds secrets (the PKCE verifier): [`Debug`] does not print them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederationState {
    /// The step that started it.
    pub step: usize,
    /// The provider's id.
    pub provider: String,
    /// The `state` sent.
    pub state: String,
    /// The nonce sent.
    pub nonce: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// The redirect URI sent.
    pub redirect_uri: String,
    /// The authorization URL, for showing the redirect again.
    pub url: String,
    /// After the callback: the existing account the person must prove before it is linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_link: Option<PendingLink>,
    /// In a flow that creates the account: the link to make once it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_on_create: Option<IdentityLink>,
}

impl std::fmt::Debug for FederationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationState")
            .field("step", &self.step)
            .field("provider", &self.provider)
            .field("pending_link", &self.pending_link)
            .finish_non_exhaustive()
    }
}

/// An existing account that a provider's e-mail address named, waiting for its password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    /// The account.
    pub user_id: UserId,
    /// Its identifier (shown as the hint).
    pub identifier: String,
    /// The provider's id of the person.
    pub subject: String,
    /// The provider's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A provider as a form offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderChoice {
    /// The provider's id (also the action id that picks it).
    pub id: String,
    /// The button text.
    pub name: String,
    /// An icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Shown first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promoted: bool,
}

/// What a social sign-in form carries besides fields and actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialPrompt {
    /// The providers offered (on the choice form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderChoice>,
    /// The provider chosen (on the redirect and link forms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Where to send the person (on the redirect form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn claims_are_read_through_the_mapping() {
        let mut mapping = ClaimMapping::default();
        mapping
            .attributes
            .insert("given_name".into(), "given_name".into());
        let identity = ExternalIdentity::from_claims(
            &claims(
                json!({"sub": "abc", "email": "A@x.org", "email_verified": true,
                "given_name": "Ann", "name": "Ann X"}),
            ),
            &mapping,
        )
        .unwrap();
        assert_eq!(identity.subject, "abc");
        assert_eq!(identity.email.as_deref(), Some("A@x.org"));
        assert!(identity.email_verified);
        assert_eq!(identity.attributes.get("given_name"), Some(&json!("Ann")));
        let github = IdentityProvider::preset("github").unwrap();
        let identity = ExternalIdentity::from_claims(
            &claims(json!({"id": 42, "login": "octo"})),
            &github.claims,
        )
        .unwrap();
        assert_eq!(identity.subject, "42");
        assert_eq!(identity.username.as_deref(), Some("octo"));
        assert!(!identity.email_verified);
    }

    #[test]
    fn a_missing_or_blank_subject_is_no_identity() {
        let mapping = ClaimMapping::default();
        assert!(
            ExternalIdentity::from_claims(&claims(json!({"email": "a@x.org"})), &mapping).is_none()
        );
        assert!(ExternalIdentity::from_claims(&claims(json!({"sub": "  "})), &mapping).is_none());
        assert!(ExternalIdentity::from_claims(&claims(json!({"sub": ["a"]})), &mapping).is_none());
    }

    #[test]
    fn presets_fill_in_endpoints_and_debug_hides_the_secret() {
        for name in PROVIDER_PRESETS {
            let preset = IdentityProvider::preset(name).unwrap();
            assert_eq!(preset.id, name);
            assert!(preset.issuer.is_some() || preset.authorize_url.is_some());
        }
        assert!(IdentityProvider::preset("myspace").is_none());
        let mut google = IdentityProvider::preset("google").unwrap();
        google.client_secret = Some("s3cret-value".into());
        assert!(!format!("{google:?}").contains("s3cret"));
    }
}
