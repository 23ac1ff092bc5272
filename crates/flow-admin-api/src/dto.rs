//! Wire types of the admin API: the seed-002 response shapes. They carry no logic beyond the
//! conversion from the catalog's types.

use std::collections::BTreeMap;

use flow_engine::{
    IdentityLink, IdentityProvider, Invitation, InvitationState, LinkByEmail, ProviderProtocol,
    StoredFlow, TraceEntry,
};
use flow_model::{Finding, Flow, FlowStatus, FlowType, Report};
use serde::Serialize;
use utoipa::ToSchema;

/// One item of `GET /api/admin/flows`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowSummary {
    /// The flow id.
    pub id: String,
    /// The slug.
    pub name: String,
    /// The display name.
    pub display_name: String,
    /// The flow type.
    #[serde(rename = "type")]
    #[schema(value_type = crate::schemas::FlowType)]
    pub flow_type: FlowType,
    /// The status.
    #[schema(value_type = crate::schemas::FlowStatus)]
    pub status: FlowStatus,
    /// The latest version.
    pub version: u32,
    /// Extension: whether the flow is the default of its type.
    pub is_default: bool,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// Last update (Unix seconds).
    pub updated_at: i64,
}

impl From<&StoredFlow> for FlowSummary {
    fn from(stored: &StoredFlow) -> Self {
        let flow = &stored.flow;
        Self {
            id: flow.id.clone(),
            name: flow.name.as_str().to_owned(),
            display_name: flow.display_name.clone(),
            flow_type: flow.flow_type,
            status: flow.status,
            version: flow.version,
            is_default: stored.is_default,
            created_at: flow.created_at,
            updated_at: flow.updated_at,
        }
    }
}

/// `GET /api/admin/flows`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowList {
    /// The page.
    pub items: Vec<FlowSummary>,
    /// How many flows match the filters in all.
    pub total: u64,
    /// Opaque cursor of the next page; `null` on the last page.
    pub cursor: Option<String>,
}

/// `POST /api/admin/flows` (201).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedFlow {
    /// The new id.
    pub id: String,
    /// The slug.
    pub name: String,
    /// The display name.
    pub display_name: String,
    /// The flow type.
    #[serde(rename = "type")]
    #[schema(value_type = crate::schemas::FlowType)]
    pub flow_type: FlowType,
    /// Always `draft`.
    #[schema(value_type = crate::schemas::FlowStatus)]
    pub status: FlowStatus,
    /// Always 1.
    pub version: u32,
    /// Always false.
    pub compiled: bool,
    /// Extension: whether the flow is the default of its type.
    pub is_default: bool,
    /// Creation time (Unix seconds).
    pub created_at: i64,
}

impl From<&StoredFlow> for CreatedFlow {
    fn from(stored: &StoredFlow) -> Self {
        let flow = &stored.flow;
        Self {
            id: flow.id.clone(),
            name: flow.name.as_str().to_owned(),
            display_name: flow.display_name.clone(),
            flow_type: flow.flow_type,
            status: flow.status,
            version: flow.version,
            compiled: flow.compiled,
            is_default: stored.is_default,
            created_at: flow.created_at,
        }
    }
}

/// `GET /api/admin/flows/:id` and the answer to `PUT`: the whole flow with its graph.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowDetails<'a> {
    /// The flow as seed 002 shows it (unknown fields included).
    #[serde(flatten)]
    #[schema(value_type = crate::schemas::Flow)]
    pub flow: &'a Flow,
    /// Extension: whether the flow is the default of its type.
    pub is_default: bool,
    /// Extension: when the flow was last activated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<i64>,
    /// Extension: when the flow was last deactivated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<i64>,
}

impl<'a> From<&'a StoredFlow> for FlowDetails<'a> {
    fn from(stored: &'a StoredFlow) -> Self {
        Self {
            flow: &stored.flow,
            is_default: stored.is_default,
            activated_at: stored.activated_at,
            deactivated_at: stored.deactivated_at,
        }
    }
}

/// `POST /api/admin/flows/:id/compile`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Compiled {
    /// The flow id.
    pub id: String,
    /// Always true.
    pub compiled: bool,
    /// When it was compiled.
    pub compiled_at: Option<i64>,
    /// The new version.
    pub version: u32,
}

/// `POST /api/admin/flows/:id/activate`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activated {
    /// The flow id.
    pub id: String,
    /// Always `active`.
    #[schema(value_type = crate::schemas::FlowStatus)]
    pub status: FlowStatus,
    /// When it was activated.
    pub activated_at: Option<i64>,
}

/// `POST /api/admin/flows/:id/deactivate`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deactivated {
    /// The flow id.
    pub id: String,
    /// Always `inactive`.
    #[schema(value_type = crate::schemas::FlowStatus)]
    pub status: FlowStatus,
    /// When it was deactivated.
    pub deactivated_at: Option<i64>,
}

/// `GET /api/admin/executions/:id/trace`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Trace {
    /// The execution id.
    pub execution_id: String,
    /// The steps run, oldest first.
    #[schema(value_type = Vec<crate::schemas::TraceEntry>)]
    pub steps: Vec<TraceEntry>,
}

/// An invitation as the admin API shows it (`POST` answers it with 201, `GET` lists it,
/// `DELETE` answers it revoked). Never its code: only the invitee receives that, by mail.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    /// The invitation id.
    #[schema(example = "inv_3f9a1c07b2d45e68")]
    pub id: String,
    /// The invited e-mail address (normalized: trimmed, lower case).
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// `pending`, `used`, `revoked` or `expired`.
    #[schema(example = "pending")]
    pub status: &'static str,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// From this instant on (Unix seconds) the code is refused.
    pub expires_at: i64,
    /// When an account was created with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
    /// When it was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl InvitationView {
    /// The view of `invitation` at `now_secs` (which decides `expired`).
    pub fn new(invitation: &Invitation, now_secs: i64) -> Self {
        Self {
            id: invitation.id.to_string(),
            email: invitation.email.clone(),
            status: match invitation.state(now_secs) {
                InvitationState::Pending => "pending",
                InvitationState::Used => "used",
                InvitationState::Revoked => "revoked",
                InvitationState::Expired => "expired",
            },
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
            used_at: invitation.used_at,
            revoked_at: invitation.revoked_at,
        }
    }
}

/// `GET /api/admin/invitations`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    /// Every invitation of the tenant, newest first.
    pub items: Vec<InvitationView>,
}

/// A user as the admin API shows it: never a password hash or an authenticator secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The user id (a UUID).
    #[schema(example = "0b6f2f5e-8a51-4a8e-9d7c-2f0c54b1e0a1")]
    pub id: String,
    /// The normalized identifier (e-mail address, username or phone number).
    #[schema(example = "ann@example.com")]
    pub identifier: String,
    /// Profile attributes.
    #[schema(value_type = Object, example = json!({"given_name": "Ann"}))]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Enrolled second factors (`totp`, ...).
    pub mfa_methods: Vec<String>,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// `active`, or `disabled` (answered like an unknown identifier: no sign-in, no recovery).
    #[schema(example = "active")]
    pub status: &'static str,
    /// When it was disabled (Unix seconds); `null` while active.
    pub disabled_at: Option<i64>,
    /// The user's links to accounts at identity providers (social login), by provider. In
    /// the answers about one user (`GET`, `POST`, `PATCH`, disable, enable), not in the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_links: Option<Vec<IdentityLinkView>>,
}

impl UserView {
    /// The view with the user's identity links.
    pub fn with_links(mut self, links: &[IdentityLink]) -> Self {
        self.identity_links = Some(links.iter().map(IdentityLinkView::from).collect());
        self
    }
}

/// A user's link to an account at an identity provider: a sign-in with that account signs
/// the user in. `DELETE /api/admin/users/{id}/identity-links/{provider}` removes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityLinkView {
    /// The identity provider's id.
    #[schema(example = "google")]
    pub provider: String,
    /// The provider's id of the person (`sub`; GitHub: the numeric user id).
    #[schema(example = "109876543210987654321")]
    pub subject: String,
    /// The e-mail address the provider gave when the link was made.
    #[schema(example = "ann@example.com")]
    pub email: Option<String>,
    /// When the link was made (Unix seconds).
    pub linked_at: i64,
}

impl From<&IdentityLink> for IdentityLinkView {
    fn from(link: &IdentityLink) -> Self {
        Self {
            provider: link.provider.clone(),
            subject: link.subject.clone(),
            email: link.email.clone(),
            linked_at: link.linked_at,
        }
    }
}

impl From<&flow_engine::User> for UserView {
    fn from(user: &flow_engine::User) -> Self {
        Self {
            id: user.id.as_str().to_owned(),
            identifier: user.identifier.clone(),
            attributes: user.attributes.clone(),
            mfa_methods: user.mfa_methods.clone(),
            created_at: user.created_at,
            status: if user.disabled_at.is_some() {
                "disabled"
            } else {
                "active"
            },
            disabled_at: user.disabled_at,
            identity_links: None,
        }
    }
}

/// A credential of a user, never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    /// `password`, `totp` (the authenticator app) or `passkey`.
    #[serde(rename = "type")]
    #[schema(example = "totp")]
    pub kind: &'static str,
    /// When it was enrolled (Unix seconds), where flowd keeps it (the authenticator app, a
    /// passkey).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// A passkey's credential id (base64url): `DELETE .../credentials/passkey/{id}` removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A passkey's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A passkey's last use (Unix seconds); `null` if never used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// Whether a passkey is backed up (synced to other devices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_state: Option<bool>,
    /// A passkey's signature counter at its last use (0 for authenticators that keep none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_count: Option<u32>,
}

impl From<&flow_engine::CredentialSummary> for CredentialView {
    fn from(credential: &flow_engine::CredentialSummary) -> Self {
        let passkey = credential.passkey.as_ref();
        Self {
            kind: credential.kind.as_str(),
            created_at: credential.created_at,
            id: passkey.map(|passkey| passkey.id.clone()),
            name: passkey.map(|passkey| passkey.name.clone()),
            last_used_at: passkey.and_then(|passkey| passkey.last_used_at),
            backup_state: passkey.map(|passkey| passkey.backup_state),
            sign_count: passkey.map(|passkey| passkey.sign_count),
        }
    }
}

/// `GET /api/admin/users/{id}/credentials`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialList {
    /// The user's credentials.
    pub items: Vec<CredentialView>,
}

/// `GET /api/admin/users`: one page, ordered by identifier.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    /// The users of this page.
    pub items: Vec<UserView>,
    /// The cursor of the next page; `null` on the last one.
    pub cursor: Option<String>,
}

/// `POST /api/admin/users/import`: what the import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Users created.
    pub created: usize,
    /// Lines whose identifier already belonged to a user, left as it was (an import runs
    /// again without harm).
    pub existing: usize,
    /// Lines refused; the first 1000 are in `errors`.
    pub failed: usize,
    /// The refused lines, in order.
    pub errors: Vec<ImportLineError>,
}

/// One refused import line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportLineError {
    /// Its number, from 1.
    #[schema(example = 3)]
    pub line: usize,
    /// The stable code: `invalid_json`, `line_too_long`, `invalid_identifier`,
    /// `identifier_taken` (a look-alike of another user's), `invalid_user_id`,
    /// `user_id_taken`, `invalid_created_at`, `password_hash_unsupported`,
    /// `password_hash_malformed` or `password_hash_too_costly`.
    #[schema(example = "password_hash_unsupported")]
    pub code: &'static str,
    /// What is wrong.
    #[schema(example = "flowd cannot verify password hashes of the scheme 'md5'")]
    pub message: String,
}

impl From<flow_engine::ImportReport> for ImportResult {
    fn from(report: flow_engine::ImportReport) -> Self {
        Self {
            created: report.created,
            existing: report.existing,
            failed: report.failed,
            errors: report
                .errors
                .into_iter()
                .map(|error| ImportLineError {
                    line: error.line,
                    code: error.code,
                    message: error.message,
                })
                .collect(),
        }
    }
}

/// One event of the log: what happened to whom; never a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Unique; ids sort by time.
    #[schema(example = "evt_1764979200000a1b2c3d4e5f60718")]
    pub id: String,
    /// When (Unix milliseconds).
    #[schema(example = 1_764_979_200_000_i64)]
    pub at_ms: i64,
    /// `sign_in`, `registration`, `recovery`, `lockout`, `password_change`,
    /// `credential_added`, `credential_removed` or `admin`.
    #[schema(example = "sign_in")]
    pub kind: &'static str,
    /// `success` or `failure`.
    #[schema(example = "failure")]
    pub outcome: &'static str,
    /// Why (`invalid_credentials`, `account_locked`, `invalid_code`, `user_disabled`,
    /// `too_many_failures`), the credential (`totp`, `password`), or what an administrator
    /// did (`user_created`, `user_disabled`, ...).
    #[schema(example = "invalid_credentials")]
    pub reason: Option<String>,
    /// The user concerned.
    pub user_id: Option<String>,
    /// The normalized identifier concerned (also for an unknown one).
    #[schema(example = "ann@example.com")]
    pub identifier: Option<String>,
    /// The flow, for events of a flow.
    pub flow_id: Option<String>,
    /// The execution, for events of a flow (its trace is at
    /// `/api/admin/executions/{id}/trace`).
    pub execution_id: Option<String>,
    /// The client's address.
    #[schema(example = "203.0.113.7")]
    pub client_address: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

impl From<&flow_engine::Event> for EventView {
    fn from(event: &flow_engine::Event) -> Self {
        Self {
            id: event.id.clone(),
            at_ms: event.at_ms,
            kind: event.kind.as_str(),
            outcome: event.outcome.as_str(),
            reason: event.reason.clone(),
            user_id: event.user_id.as_ref().map(|id| id.as_str().to_owned()),
            identifier: event.identifier.clone(),
            flow_id: event.flow_id.clone(),
            execution_id: event.execution_id.map(|id| id.to_string()),
            client_address: event.client_address.clone(),
            user_agent: event.user_agent.clone(),
        }
    }
}

/// `GET /api/admin/events`: one page, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// The events of this page.
    pub items: Vec<EventView>,
    /// The cursor of the next (older) page; `null` on the last one.
    pub cursor: Option<String>,
}

/// `POST /api/admin/users/{id}/recovery`: where the recovery mail went.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryMailSent {
    /// The address (the identifier, or the `email` attribute of a user without an e-mail
    /// identifier).
    #[schema(example = "ann@example.com")]
    pub sent_to: String,
}

/// The validator's report as the admin API answers it: the model's findings, and the admin
/// API's own warnings, which need the tenant's settings (a `social_provider_select` node
/// naming a provider that is not configured). The OpenAPI document describes it as `Report`.
#[derive(Debug, Serialize)]
pub struct ValidationReport {
    /// True when the flow can be compiled (the admin API's warnings never change it).
    pub valid: bool,
    /// Problems that stop compilation.
    pub errors: Vec<Finding>,
    /// Problems worth knowing about that do not stop compilation.
    pub warnings: Vec<Warning>,
}

impl ValidationReport {
    /// The model's `report` with the admin API's `extra` warnings after its own.
    pub fn new(report: Report, extra: Vec<AdminFinding>) -> Self {
        let mut warnings: Vec<Warning> = report.warnings.into_iter().map(Warning::Model).collect();
        warnings.extend(extra.into_iter().map(Warning::Admin));
        Self {
            valid: report.valid,
            errors: report.errors,
            warnings,
        }
    }
}

/// One warning of a [`ValidationReport`].
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Warning {
    /// The validator's.
    Model(Finding),
    /// The admin API's.
    Admin(AdminFinding),
}

/// A finding of the admin API's own, shaped like the validator's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminFinding {
    /// The stable code (`social_provider_not_configured`).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The node concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
}

/// Which claims of the provider's answer mean what.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimsView {
    /// The claim holding the provider's stable user id.
    #[schema(example = "sub")]
    pub subject: String,
    /// The e-mail address claim.
    #[schema(example = "email")]
    pub email: String,
    /// The claim saying the address was verified.
    #[schema(example = "email_verified")]
    pub email_verified: String,
    /// The display name claim.
    #[schema(example = "name")]
    pub name: String,
    /// The user name claim.
    #[schema(example = "preferred_username")]
    pub username: String,
    /// More attributes of a created user: attribute name to claim name.
    #[schema(example = json!({"given_name": "given_name"}))]
    pub attributes: BTreeMap<String, String>,
}

/// An identity provider as the admin API shows it: never its client secret (only whether
/// one is set), with the callback URL to register at the provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityProviderView {
    /// The id, which `social_provider_select` nodes name.
    #[schema(example = "google")]
    pub id: String,
    /// `oidc` (OpenID Connect: discovery from the issuer, a signed ID token) or `oauth2`
    /// (configured endpoints and userinfo).
    #[serde(rename = "type")]
    #[schema(value_type = crate::schemas::ProviderType)]
    pub protocol: ProviderProtocol,
    /// The button text.
    #[schema(example = "Google")]
    pub display_name: String,
    /// An icon for the button.
    pub icon_url: Option<String>,
    /// The OpenID issuer.
    #[schema(example = "https://accounts.google.com")]
    pub issuer: Option<String>,
    /// The authorization endpoint (OpenID Connect: overrides discovery).
    pub authorize_url: Option<String>,
    /// The token endpoint (OpenID Connect: overrides discovery).
    pub token_url: Option<String>,
    /// The userinfo endpoint (OpenID Connect: overrides discovery).
    pub userinfo_url: Option<String>,
    /// GitHub's list of the user's addresses.
    pub emails_url: Option<String>,
    /// The client id registered at the provider.
    #[schema(example = "1234567890-abc.apps.googleusercontent.com")]
    pub client_id: String,
    /// Whether a client secret is stored (the secret itself is never shown).
    pub has_client_secret: bool,
    /// The scopes asked for.
    #[schema(example = json!(["openid", "email", "profile"]))]
    pub scopes: Vec<String>,
    /// Where the provider sends API clients (the WSO2-style protocol) back to; `null` means
    /// `callback_url`.
    pub redirect_uri: Option<String>,
    /// Which claims mean what.
    pub claims: ClaimsView,
    /// `never` (the person proves the existing account first) or `verified` (a verified
    /// e-mail address of the provider joins the account that has it).
    #[schema(value_type = crate::schemas::LinkByEmail)]
    pub link_by_email: LinkByEmail,
    /// Whether a first sign-in with no account to join creates one.
    pub create_users: bool,
    /// Shown first among the providers.
    pub promoted: bool,
    /// flowd's callback (`{public_url}/source/oauth/callback/{id}/`): register it at the
    /// provider as the redirect URI.
    #[schema(example = "https://id.example.com/source/oauth/callback/google/")]
    pub callback_url: String,
}

impl IdentityProviderView {
    /// The view of `provider` on the server at `public_url`.
    pub fn new(provider: &IdentityProvider, public_url: &str) -> Self {
        let claims = &provider.claims;
        Self {
            id: provider.id.clone(),
            protocol: provider.protocol,
            display_name: provider.display_name.clone(),
            icon_url: provider.icon_url.clone(),
            issuer: provider.issuer.clone(),
            authorize_url: provider.authorize_url.clone(),
            token_url: provider.token_url.clone(),
            userinfo_url: provider.userinfo_url.clone(),
            emails_url: provider.emails_url.clone(),
            client_id: provider.client_id.clone(),
            has_client_secret: provider.client_secret.is_some(),
            scopes: provider.scopes.clone(),
            redirect_uri: provider.redirect_uri.clone(),
            claims: ClaimsView {
                subject: claims.subject.clone(),
                email: claims.email.clone(),
                email_verified: claims.email_verified.clone(),
                name: claims.name.clone(),
                username: claims.username.clone(),
                attributes: claims.attributes.clone(),
            },
            link_by_email: provider.link_by_email,
            create_users: provider.create_users,
            promoted: provider.promoted,
            callback_url: format!(
                "{}/source/oauth/callback/{}/",
                public_url.trim_end_matches('/'),
                provider.id
            ),
        }
    }
}

/// `GET /api/admin/identity-providers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityProviderList {
    /// Every identity provider of the tenant, by id.
    pub items: Vec<IdentityProviderView>,
}
