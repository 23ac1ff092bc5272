//! Documentation-only schema types for the OpenAPI document.
//!
//! The flow model's types (`Flow`, `Graph`, `Report`, ...) live in `flow-model`, which does not
//! depend on utoipa, and the create/update handlers parse their bodies field by field (for
//! better error paths), so these mirrors describe those shapes to the document. They are never
//! built; the `openapi` integration tests check them against real responses and against the
//! model's enums so that they cannot drift silently.

// Never constructed: these types exist only to be described by `utoipa::ToSchema`.
#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;

/// The journey a flow implements.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum FlowType {
    /// Sign an existing user in.
    Login,
    /// Create a new user.
    Registration,
    /// Set a new password for a user who forgot theirs.
    PasswordReset,
    /// Enrol a new authentication factor.
    MfaSetup,
    /// Regain access to an account.
    AccountRecovery,
    /// Create a user from an invitation (extension).
    InvitedRegistration,
}

/// A flow's lifecycle status.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum FlowStatus {
    /// Being edited; may hold an invalid graph; cannot be executed.
    Draft,
    /// Compiled and executable.
    Active,
    /// Switched off; executions in flight finish, new ones cannot start.
    Inactive,
}

/// The nodes and edges of a flow. Unknown fields are kept and written back unchanged.
#[derive(ToSchema)]
pub(crate) struct Graph {
    /// The nodes, in the order the editor saved them.
    nodes: Vec<Node>,
    /// The edges, in the order the editor saved them.
    edges: Vec<Edge>,
}

/// One step of a flow. Unknown fields are kept and written back unchanged.
#[derive(ToSchema)]
pub(crate) struct Node {
    /// Unique id within the graph; edges refer to it.
    #[schema(example = "password")]
    id: String,
    /// The node type: a built-in type (see `GET /api/admin/node-types`) or a registered one.
    /// Unknown types are accepted in drafts; validation reports them.
    #[schema(rename = "type", example = "password_input")]
    node_type: String,
    /// The type's settings (see the type's config fields in `GET /api/admin/node-types`): an
    /// object in a valid flow; a draft keeps whatever JSON was sent, and validation reports
    /// `invalid_node_config` (schemathesis found a draft with an array here).
    config: Option<Value>,
    /// Where the editor placed the node.
    position: Option<Position>,
}

/// A node's place on the editor's canvas.
#[derive(ToSchema)]
pub(crate) struct Position {
    /// Horizontal coordinate.
    x: f64,
    /// Vertical coordinate.
    y: f64,
}

/// A directed connection between two nodes. Unknown fields are kept and written back unchanged.
#[derive(ToSchema)]
pub(crate) struct Edge {
    /// Id of the node the edge leaves.
    source: String,
    /// Id of the node the edge enters.
    target: String,
    /// The branch this edge takes: `true`/`false` from a condition, a case value or `default`
    /// from a switch; absent on the single edge of an ordinary node.
    condition: Option<String>,
}

/// A flow document: what `GET /api/admin/flows/:id` shows (with the extension fields of
/// `FlowDetails`) and what export writes. Unknown top-level fields are kept.
#[derive(ToSchema)]
pub(crate) struct Flow {
    /// Stable id.
    #[schema(example = "flow_login_mfa")]
    id: String,
    /// Unique slug per tenant: 1 to 64 lowercase letters, digits and hyphens.
    #[schema(pattern = "^[a-z0-9-]{1,64}$", example = "mfa-login")]
    name: String,
    /// Human-readable name.
    #[schema(example = "MFA Login Flow")]
    display_name: String,
    /// Optional longer description (absent when empty).
    description: Option<String>,
    /// What journey this flow implements.
    #[schema(rename = "type")]
    flow_type: FlowType,
    /// Lifecycle status.
    status: FlowStatus,
    /// Version number, starting at 1; each compile makes a new one.
    #[schema(minimum = 1)]
    version: u32,
    /// The nodes and edges.
    graph: Graph,
    /// Whether the current graph has been compiled.
    compiled: bool,
    /// When the current graph was compiled (Unix seconds); absent when not compiled.
    compiled_at: Option<i64>,
    /// Creation time (Unix seconds).
    created_at: i64,
    /// Last update time (Unix seconds).
    updated_at: i64,
}

/// Body of `POST /api/admin/flows`. Unknown fields are kept on the flow. The fields the server
/// manages (`id`, `status`, `version`, `compiled`, `compiled_at`, `is_default`, `created_at`,
/// `updated_at`, `activated_at`, `deactivated_at`) are refused (400 `invalid_request`): a new
/// flow is a draft; activate it, then mark it default with PUT.
#[derive(ToSchema)]
pub(crate) struct CreateFlowRequest {
    /// Unique slug: 1 to 64 lowercase letters, digits and hyphens (else 400 `invalid_name`;
    /// taken: 409 `name_taken`).
    #[schema(pattern = "^[a-z0-9-]{1,64}$", example = "social-login")]
    name: String,
    /// Display name.
    #[schema(example = "Social Login Flow")]
    display_name: String,
    /// Description.
    description: Option<String>,
    /// The flow type.
    #[schema(rename = "type")]
    flow_type: FlowType,
    /// The graph; a draft may hold an invalid graph (validate says what is wrong).
    graph: Graph,
}

/// Body of `POST /api/admin/invitations`. Unknown fields are ignored.
#[derive(ToSchema)]
pub(crate) struct CreateInvitationRequest {
    /// The address to invite: the identifier of the account the invitation creates (else 400
    /// `invalid_email`).
    #[schema(example = "ada@example.com")]
    email: String,
    /// Lifetime in seconds: 60 to 2592000 (30 days), default 604800 (7 days); else 400
    /// `invalid_expiry`.
    #[schema(minimum = 60, maximum = 2592000, example = 86400)]
    expires_in: Option<i64>,
}

/// Body of `POST /api/admin/users`. An unknown field is refused (400 `invalid_request`), so
/// that a misspelt `password` never creates a user without one.
#[derive(ToSchema)]
pub(crate) struct CreateUserRequest {
    /// An e-mail address, a username or a phone number; normalized like a flow's identifier
    /// (trimmed, case-folded), else 400 `invalid_identifier`.
    #[schema(example = "ann@example.com")]
    identifier: String,
    /// The initial password (at least 8 characters, not guessable, not the identifier);
    /// without it the user has no password until a recovery flow sets one.
    #[schema(example = "correct horse battery staple")]
    password: Option<String>,
    /// Profile attributes.
    #[schema(value_type = Option<Object>, example = json!({"given_name": "Ann"}))]
    attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Body of `PATCH /api/admin/users/:id`. Another field is refused (400 `invalid_request`).
#[derive(ToSchema)]
pub(crate) struct UpdateUserRequest {
    /// The attributes to merge: a key with `null` is removed, keys not named are kept.
    #[schema(value_type = Object, example = json!({"family_name": "Lovelace"}))]
    attributes: serde_json::Map<String, serde_json::Value>,
}

/// Body of `PUT /api/admin/flows/:id`: any of these fields; a changed graph clears `compiled`.
/// `id`, `name`, `type`, `status`, `version`, `compiled`, `compiled_at`, `created_at` and
/// `updated_at` are managed by the server and refused (400 `invalid_request`). Other unknown
/// fields are stored (`null` removes one).
#[derive(ToSchema)]
pub(crate) struct UpdateFlowRequest {
    /// New display name.
    display_name: Option<String>,
    /// New description (empty removes it).
    description: Option<String>,
    /// New graph.
    graph: Option<Graph>,
    /// Extension: mark or unmark the flow as the default of its type.
    is_default: Option<bool>,
}

/// Body of `POST /api/admin/flows/import` (extension): a flow document as export writes it.
/// Only `name`, `type` and `graph` are required. The result is a new draft at version 1: the
/// document's status, version, compile state and timestamps are ignored. The id is kept when
/// it is well formed and free, else a new one is made.
#[derive(ToSchema)]
pub(crate) struct ImportFlowRequest {
    /// Preferred id.
    id: Option<String>,
    /// Unique slug: 1 to 64 lowercase letters, digits and hyphens.
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    name: String,
    /// Display name (defaults to the name).
    display_name: Option<String>,
    /// Description.
    description: Option<String>,
    /// The flow type.
    #[schema(rename = "type")]
    flow_type: FlowType,
    /// The graph.
    graph: Graph,
}

/// The validator's report: `valid` is true exactly when `errors` is empty. Both lists are
/// always present.
#[derive(ToSchema)]
pub(crate) struct Report {
    /// True when the flow can be compiled.
    valid: bool,
    /// Problems that stop compilation.
    errors: Vec<Finding>,
    /// Problems worth knowing about that do not stop compilation.
    warnings: Vec<Finding>,
}

/// One thing the validator found.
#[derive(ToSchema)]
pub(crate) struct Finding {
    /// The stable machine code.
    code: FindingCode,
    /// A sentence for people.
    #[schema(example = "Node 'fallback' is unreachable")]
    message: String,
    /// The node concerned.
    node_id: Option<String>,
    /// The edge concerned.
    edge: Option<EdgeRef>,
}

/// An edge named by its endpoints.
#[derive(ToSchema)]
pub(crate) struct EdgeRef {
    /// The node the edge leaves.
    source: String,
    /// The node the edge enters.
    target: String,
}

/// The stable codes of validation findings. `unused_node` and
/// `social_provider_not_configured` are warnings; the rest are errors.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum FindingCode {
    /// No node of type `start`.
    MissingStartNode,
    /// More than one `start` node.
    MultipleStartNodes,
    /// Two nodes share an id.
    DuplicateNodeId,
    /// A node's type is neither built in nor registered.
    UnknownNodeType,
    /// A node's config does not fit its type.
    InvalidNodeConfig,
    /// An edge's source or target does not exist.
    InvalidEdge,
    /// An edge's `condition` is not one its source node can produce.
    InvalidEdgeCondition,
    /// No success node can be reached from the start.
    UnreachableSuccess,
    /// A node cannot be reached from the start (warning).
    UnusedNode,
    /// A node that is not a terminal has no way out.
    DeadEnd,
    /// A condition lacks its `true` or `false` edge.
    MissingBranch,
    /// A switch lacks its `default` edge.
    MissingDefault,
    /// A node has more than one edge for the same outcome.
    AmbiguousEdge,
    /// A cycle that could spin forever without asking the user anything.
    LoopWithoutInput,
    /// A node type that makes no sense in this flow type.
    NodeNotAllowed,
    /// A success or failure node has an outgoing edge.
    TerminalHasOutgoingEdge,
    /// A condition or switch expression may cost more to evaluate than the limit allows.
    ExpressionTooCostly,
    /// A `social_provider_select` node names an identity provider the tenant has not
    /// configured (warning, from the admin API: the person is not offered it).
    SocialProviderNotConfigured,
}

/// `GET /api/admin/node-types` (extension): the catalogue of built-in node types.
#[derive(ToSchema)]
pub(crate) struct NodeTypeCatalogue {
    /// One entry per built-in type.
    items: Vec<NodeTypeInfo>,
}

/// One built-in node type.
#[derive(ToSchema)]
pub(crate) struct NodeTypeInfo {
    /// The type name as used in `graph.nodes[].type`.
    #[schema(rename = "type", example = "password_input")]
    node_type: String,
    /// `control`, `input` or `action`.
    #[schema(example = "input")]
    category: Option<String>,
    /// What the node does.
    description: String,
    /// The fields of the node's `config`.
    config: Vec<ConfigField>,
}

/// One config field of a node type.
#[derive(ToSchema)]
pub(crate) struct ConfigField {
    /// The field name.
    name: String,
    /// Its JSON type (`string`, `boolean`, `array`, ...).
    #[schema(rename = "type")]
    field_type: String,
    /// Whether the field must be present.
    required: bool,
    /// The default when absent, or `null`.
    default: Value,
    /// A note for editors.
    note: String,
}

/// One step of an execution trace.
#[derive(ToSchema)]
pub(crate) struct TraceEntry {
    /// Index of the step in the program.
    step: u64,
    /// The graph node the step came from.
    node_id: String,
    /// The step's operation (`verify_password`).
    op: String,
    /// A short result code (`prompt`, `accepted`, `rejected:invalid_credentials`, `true`).
    result: String,
    /// Extra detail for operators.
    detail: Option<String>,
    /// When the step ran (Unix milliseconds).
    at_ms: i64,
}

/// How an identity provider is spoken to.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum ProviderType {
    /// OpenID Connect: discovery from `issuer`, a signed ID token, then userinfo.
    Oidc,
    /// Plain OAuth2: `authorize_url`, `token_url`, `userinfo_url` (and GitHub's `emails_url`).
    Oauth2,
}

/// When a first sign-in with a provider may join an existing account with the provider's
/// e-mail address.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum LinkByEmail {
    /// Never by itself: the person proves the existing account first (the default).
    Never,
    /// Directly, when the provider asserts the address is verified.
    Verified,
}

/// The built-in identity provider presets.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum ProviderPreset {
    /// Google (OpenID Connect, `https://accounts.google.com`).
    Google,
    /// GitHub (OAuth2, with its e-mail endpoint).
    Github,
    /// Microsoft (OpenID Connect; set `issuer` to your directory's).
    Microsoft,
    /// GitLab.com (OpenID Connect).
    Gitlab,
    /// Sign in with Apple (OpenID Connect).
    Apple,
}

/// Which claims mean what; a claim not given keeps the preset's (or the default: `sub`,
/// `email`, `email_verified`, `name`, `preferred_username`). Another field is refused.
#[derive(ToSchema)]
pub(crate) struct ClaimsRequest {
    /// The claim holding the provider's stable user id (1 to 100 characters).
    #[schema(example = "sub", min_length = 1, max_length = 100)]
    subject: Option<String>,
    /// The e-mail address claim.
    #[schema(min_length = 1, max_length = 100)]
    email: Option<String>,
    /// The claim saying the address was verified.
    #[schema(min_length = 1, max_length = 100)]
    email_verified: Option<String>,
    /// The display name claim.
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// The user name claim.
    #[schema(min_length = 1, max_length = 100)]
    username: Option<String>,
    /// More attributes of a created user: attribute name to claim name (at most 50).
    #[schema(value_type = Option<Object>, example = json!({"given_name": "given_name"}))]
    attributes: Option<serde_json::Map<String, Value>>,
}

/// Body of `POST /api/admin/identity-providers` and `PUT /api/admin/identity-providers/{id}`.
///
/// A preset (`preset`, or an `id` that names one: `google`, `github`, `microsoft`, `gitlab`,
/// `apple`) fills in the type, display name, endpoints, scopes and claims; every field given
/// overrides the preset's (`null` removes an optional one). Without a preset, `type` and
/// `client_id` are required, and `issuer` (`oidc`) or `authorize_url`, `token_url` and
/// `userinfo_url` (`oauth2`). Every URL is an absolute `https` URL (`http` only to
/// `localhost`, `127.0.0.1` or `::1`). An unknown field is refused (400 `invalid_request`).
#[derive(ToSchema)]
pub(crate) struct IdentityProviderRequest {
    /// 1 to 64 lowercase letters, digits and hyphens (else 400 `invalid_provider_id`); in a
    /// PUT, the path's id (another one is refused).
    #[schema(pattern = "^[a-z0-9-]{1,64}$", example = "google")]
    id: Option<String>,
    /// The preset to start from (else 400 `unknown_preset`).
    preset: Option<ProviderPreset>,
    /// `oidc` or `oauth2`.
    #[schema(rename = "type")]
    provider_type: Option<ProviderType>,
    /// The button text (1 to 100 characters; default: the preset's name, or the id).
    #[schema(example = "Google", max_length = 100)]
    display_name: Option<String>,
    /// An icon for the button.
    icon_url: Option<String>,
    /// The OpenID issuer.
    #[schema(example = "https://accounts.google.com")]
    issuer: Option<String>,
    /// The authorization endpoint.
    authorize_url: Option<String>,
    /// The token endpoint.
    token_url: Option<String>,
    /// The userinfo endpoint.
    userinfo_url: Option<String>,
    /// GitHub's e-mail endpoint (`https://api.github.com/user/emails`).
    emails_url: Option<String>,
    /// The client id registered at the provider (1 to 512 characters).
    #[schema(
        example = "1234567890-abc.apps.googleusercontent.com",
        max_length = 512
    )]
    client_id: Option<String>,
    /// The client secret (1 to 512 characters); never shown again. A PUT without it keeps
    /// the stored one; `null` removes it (a public client, PKCE only).
    #[schema(max_length = 512)]
    client_secret: Option<String>,
    /// The scopes to ask for: at most 20, each 1 to 100 characters without spaces (else 400
    /// `invalid_scope`).
    #[schema(example = json!(["openid", "email", "profile"]))]
    scopes: Option<Vec<String>>,
    /// Where the provider sends API clients (WSO2-style protocol) back to; default flowd's
    /// callback.
    redirect_uri: Option<String>,
    /// Which claims mean what.
    claims: Option<ClaimsRequest>,
    /// `never` (default) or `verified`.
    link_by_email: Option<LinkByEmail>,
    /// Whether a first sign-in with no account to join creates one (default `true`).
    create_users: Option<bool>,
    /// Shown first among the providers (default `false`).
    promoted: Option<bool>,
}

/// The request examples of seed 002, shown as the request bodies' examples.
pub(crate) mod examples {
    use serde_json::Value;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or(Value::Null)
    }

    pub(crate) fn create_flow() -> Value {
        parse(include_str!(
            "../../../fixtures/seed-002/create-flow-request.json"
        ))
    }

    pub(crate) fn update_flow() -> Value {
        parse(include_str!(
            "../../../fixtures/seed-002/update-flow-request.json"
        ))
    }
}
