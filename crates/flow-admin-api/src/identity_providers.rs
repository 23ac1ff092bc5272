//! `/api/admin/identity-providers`: the tenant's identity providers for social login (OpenID
//! Connect and plain OAuth2), from a preset or from scratch. The client secret goes in and is
//! never shown again (nor logged): answers say `has_client_secret`. Also the admin API's own
//! check of flows against them: a `social_provider_select` node naming a provider that is not
//! configured is a warning of the validation report.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use flow_engine::{
    Accounts, ClaimMapping, Engine, IdentityProvider, IdentityProviderStore, LinkByEmail,
    PROVIDER_PRESETS, PortError, ProviderProtocol, TenantId,
};
use flow_model::{Flow, NodeType};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::body::{read_object, take};
use crate::dto::{AdminFinding, IdentityProviderList, IdentityProviderView};
use crate::error::ErrorBody;
use crate::routes::tenant;
use crate::users::{origin, refuse_unknown};
use crate::{Admin, AdminError, AdminState};

type Result<T, E = AdminError> = std::result::Result<T, E>;

/// The longest provider id.
const MAX_ID_LEN: usize = 64;
/// The longest display name (characters).
const MAX_DISPLAY_NAME: usize = 100;
/// The longest client id or client secret (characters).
const MAX_CLIENT_TEXT: usize = 512;
/// The longest URL (bytes).
const MAX_URL_LEN: usize = 2048;
/// The most scopes.
const MAX_SCOPES: usize = 20;
/// The longest scope (bytes).
const MAX_SCOPE_LEN: usize = 100;
/// The longest claim or attribute name (characters).
const MAX_CLAIM_LEN: usize = 100;
/// The most mapped attributes.
const MAX_ATTRIBUTES: usize = 50;

/// The code of the validation warning for a provider that is not configured.
pub(crate) const SOCIAL_PROVIDER_NOT_CONFIGURED: &str = "social_provider_not_configured";

/// Serializes the admin API's read-then-write changes (a POST must not replace a provider
/// created in between; a PUT keeps the secret it read) within this process.
static WRITES: Mutex<()> = Mutex::new(());

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> AdminError {
    AdminError::InvalidProvider {
        code,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Whether `id` fits `^[a-z0-9-]{1,64}$`.
fn valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

fn check_id(id: &str) -> Result<()> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(invalid(
            "invalid_provider_id",
            "id",
            "an identity provider id is 1 to 64 lowercase letters, digits and hyphens",
        ))
    }
}

/// A body field: absent, `null`, or a value.
enum Given<T> {
    Absent,
    Null,
    Value(T),
}

fn given<T: DeserializeOwned>(body: &mut Map<String, Value>, key: &str) -> Result<Given<T>> {
    match body.get(key) {
        None => Ok(Given::Absent),
        Some(Value::Null) => {
            body.shift_remove(key);
            Ok(Given::Null)
        }
        Some(_) => Ok(take(body, key)?.map_or(Given::Absent, Given::Value)),
    }
}

/// Sets an optional field: a value replaces, `null` removes, absent keeps.
fn assign<T>(slot: &mut Option<T>, value: Given<T>) {
    match value {
        Given::Absent => {}
        Given::Null => *slot = None,
        Given::Value(value) => *slot = Some(value),
    }
}

/// A text of 1 to `max` characters without control characters.
fn check_text(field: &str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(invalid(
            "missing_provider_field",
            field,
            "must not be empty",
        ));
    }
    if text.chars().count() > max {
        return Err(invalid(
            "value_too_long",
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(
            "invalid_provider_field",
            field,
            "must not hold control characters",
        ));
    }
    Ok(())
}

/// Whether `host` is the loopback interface: `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(domain) => domain.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(address) => address.is_loopback(),
        url::Host::Ipv6(address) => address.is_loopback(),
    }
}

/// An absolute `https` URL (`http` only to a loopback host), without credentials or a
/// fragment. The text is kept as given (an OpenID issuer is compared as a string).
fn check_url(field: &str, text: &str) -> Result<()> {
    if text.len() > MAX_URL_LEN {
        return Err(invalid(
            "value_too_long",
            field,
            format!("must be at most {MAX_URL_LEN} bytes"),
        ));
    }
    let bad = |why: &str| {
        invalid(
            "invalid_url",
            field,
            format!("must be an absolute http(s) URL: {why}"),
        )
    };
    if text.trim() != text || text.chars().any(char::is_control) {
        return Err(bad("it holds spaces or control characters"));
    }
    let url = url::Url::parse(text).map_err(|error| bad(&error.to_string()))?;
    let host = url.host().ok_or_else(|| bad("it has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(invalid(
                "insecure_url",
                field,
                "must use https (plain http only to localhost, 127.0.0.1 or ::1)",
            ));
        }
        _ => return Err(bad("the scheme is not http or https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not hold a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("it must not have a fragment"));
    }
    Ok(())
}

/// At most 20 distinct scopes, each 1 to 100 characters of RFC 6749's scope-token (printable
/// ASCII without spaces, `"` and `\`).
fn check_scopes(scopes: &[String]) -> Result<()> {
    if scopes.len() > MAX_SCOPES {
        return Err(invalid(
            "invalid_scope",
            "scopes",
            format!("at most {MAX_SCOPES} scopes"),
        ));
    }
    for (index, scope) in scopes.iter().enumerate() {
        let field = format!("scopes[{index}]");
        let token = |byte: u8| {
            byte == 0x21 || (0x23..=0x5b).contains(&byte) || (0x5d..=0x7e).contains(&byte)
        };
        if scope.is_empty() || scope.len() > MAX_SCOPE_LEN || !scope.bytes().all(token) {
            return Err(invalid(
                "invalid_scope",
                &field,
                format!(
                    "a scope is 1 to {MAX_SCOPE_LEN} printable ASCII characters without spaces, quotes or backslashes"
                ),
            ));
        }
        if scopes[..index].contains(scope) {
            return Err(invalid("invalid_scope", &field, "is listed twice"));
        }
    }
    Ok(())
}

/// The `claims` of a body: each claim given replaces the preset's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsBody {
    subject: Option<String>,
    email: Option<String>,
    email_verified: Option<String>,
    name: Option<String>,
    username: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
}

fn merge_claims(mapping: &mut ClaimMapping, body: ClaimsBody) -> Result<()> {
    for (key, value, slot) in [
        ("subject", body.subject, &mut mapping.subject),
        ("email", body.email, &mut mapping.email),
        (
            "email_verified",
            body.email_verified,
            &mut mapping.email_verified,
        ),
        ("name", body.name, &mut mapping.name),
        ("username", body.username, &mut mapping.username),
    ] {
        if let Some(claim) = value {
            check_text(&format!("claims.{key}"), &claim, MAX_CLAIM_LEN)?;
            *slot = claim;
        }
    }
    if let Some(attributes) = body.attributes {
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(invalid(
                "invalid_provider_field",
                "claims.attributes",
                format!("at most {MAX_ATTRIBUTES} attributes"),
            ));
        }
        for (attribute, claim) in &attributes {
            let field = format!("claims.attributes.{attribute}");
            check_text("claims.attributes", attribute, MAX_CLAIM_LEN)?;
            check_text(&field, claim, MAX_CLAIM_LEN)?;
        }
        mapping.attributes = attributes;
    }
    Ok(())
}

/// The client secret of a body, read without ever echoing it in an error.
fn take_secret(body: &mut Map<String, Value>) -> Result<Given<String>> {
    match body.shift_remove("client_secret") {
        None => Ok(Given::Absent),
        Some(Value::Null) => Ok(Given::Null),
        Some(Value::String(secret)) => {
            if secret.is_empty() {
                return Err(invalid(
                    "invalid_provider_field",
                    "client_secret",
                    "must not be empty; null removes the secret",
                ));
            }
            if secret.chars().count() > MAX_CLIENT_TEXT {
                return Err(invalid(
                    "value_too_long",
                    "client_secret",
                    format!("must be at most {MAX_CLIENT_TEXT} characters"),
                ));
            }
            if secret.chars().any(char::is_control) {
                return Err(invalid(
                    "invalid_provider_field",
                    "client_secret",
                    "must not hold control characters",
                ));
            }
            Ok(Given::Value(secret))
        }
        Some(_) => Err(AdminError::InvalidRequest {
            field: "client_secret".to_owned(),
            message: "must be a string".to_owned(),
        }),
    }
}

/// A provider from the server's configuration file (`[[identity_providers]]` in
/// `flowd.toml`), read by the same rules as a POST body: presets, checks, the secret.
pub fn provider_from_settings(body: Map<String, Value>) -> Result<IdentityProvider> {
    let ProviderRequest {
        mut provider,
        secret,
    } = parse_provider(body, None)?;
    assign(&mut provider.client_secret, secret);
    Ok(provider)
}

/// What a body asks for, before the stored provider (of a PUT) is known.
struct ProviderRequest {
    provider: IdentityProvider,
    secret: Given<String>,
}

/// Reads a POST or PUT body into a provider: the preset (named by `preset`, else by the id)
/// with every given field over it, then checked as a whole. `path_id` is the id of a PUT.
fn parse_provider(mut body: Map<String, Value>, path_id: Option<&str>) -> Result<ProviderRequest> {
    let body_id: Option<String> = take(&mut body, "id")?;
    let id = match (path_id, body_id) {
        (Some(path), Some(given)) if path != given => {
            return Err(AdminError::InvalidRequest {
                field: "id".to_owned(),
                message: "must be the id of the path (or left out)".to_owned(),
            });
        }
        (Some(path), _) => path.to_owned(),
        (None, Some(given)) => given,
        (None, None) => {
            return Err(invalid("missing_provider_field", "id", "missing field"));
        }
    };
    check_id(&id)?;

    let preset: Option<String> = take(&mut body, "preset")?;
    let protocol: Option<ProviderProtocol> = take(&mut body, "type")?;
    let base = match preset {
        Some(name) => Some(IdentityProvider::preset(&name).ok_or_else(|| {
            invalid(
                "unknown_preset",
                "preset",
                format!("must be one of {}", PROVIDER_PRESETS.join(", ")),
            )
        })?),
        None => IdentityProvider::preset(&id),
    };
    let mut provider = match (base, protocol) {
        (Some(mut preset), protocol) => {
            preset.id.clone_from(&id);
            if let Some(protocol) = protocol {
                preset.protocol = protocol;
            }
            preset
        }
        (None, Some(protocol)) => IdentityProvider::new(&id, protocol, ""),
        (None, None) => {
            return Err(invalid(
                "missing_provider_field",
                "type",
                "oidc or oauth2 is required without a preset",
            ));
        }
    };

    if let Some(name) = take::<String>(&mut body, "display_name")? {
        check_text("display_name", &name, MAX_DISPLAY_NAME)?;
        provider.display_name = name;
    }
    for (key, slot) in [
        ("icon_url", &mut provider.icon_url),
        ("issuer", &mut provider.issuer),
        ("authorize_url", &mut provider.authorize_url),
        ("token_url", &mut provider.token_url),
        ("userinfo_url", &mut provider.userinfo_url),
        ("emails_url", &mut provider.emails_url),
        ("redirect_uri", &mut provider.redirect_uri),
    ] {
        let value = given::<String>(&mut body, key)?;
        if let Given::Value(url) = &value {
            check_url(key, url)?;
        }
        assign(slot, value);
    }
    if let Some(client_id) = take::<String>(&mut body, "client_id")? {
        check_text("client_id", &client_id, MAX_CLIENT_TEXT)?;
        provider.client_id = client_id;
    }
    let secret = take_secret(&mut body)?;
    if let Some(scopes) = take::<Vec<String>>(&mut body, "scopes")? {
        check_scopes(&scopes)?;
        provider.scopes = scopes;
    }
    if let Some(claims) = take::<ClaimsBody>(&mut body, "claims")? {
        merge_claims(&mut provider.claims, claims)?;
    }
    if let Some(link) = take::<LinkByEmail>(&mut body, "link_by_email")? {
        provider.link_by_email = link;
    }
    if let Some(create) = take::<bool>(&mut body, "create_users")? {
        provider.create_users = create;
    }
    if let Some(promoted) = take::<bool>(&mut body, "promoted")? {
        provider.promoted = promoted;
    }
    refuse_unknown(&body)?;

    if provider.client_id.is_empty() {
        return Err(invalid(
            "missing_provider_field",
            "client_id",
            "missing field",
        ));
    }
    let (kind, required) = match provider.protocol {
        ProviderProtocol::Oidc => ("an oidc provider", vec![("issuer", &provider.issuer)]),
        ProviderProtocol::Oauth2 => (
            "an oauth2 provider",
            vec![
                ("authorize_url", &provider.authorize_url),
                ("token_url", &provider.token_url),
                ("userinfo_url", &provider.userinfo_url),
            ],
        ),
    };
    if let Some((field, _)) = required.into_iter().find(|(_, value)| value.is_none()) {
        return Err(invalid(
            "missing_provider_field",
            field,
            format!("{kind} needs it"),
        ));
    }
    Ok(ProviderRequest { provider, secret })
}

/// Runs `call` with the provider store (and the accounts service for the event log, with
/// the client of `request`) on the blocking pool; without the engine the endpoints do not
/// exist.
async fn on_store<T, F>(state: &web::Data<AdminState>, request: &HttpRequest, call: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn IdentityProviderStore, Option<&Accounts>) -> Result<T> + Send + 'static,
{
    let engine = state.engine.clone().ok_or(AdminError::NoRoute)?;
    let accounts = state
        .accounts
        .as_ref()
        .map(|accounts| accounts.with_origin(origin(request)));
    web::block(move || {
        call(
            engine.ports().identity_providers.as_ref(),
            accounts.as_ref(),
        )
    })
    .await
    .map_err(|_| AdminError::Internal)?
}

fn store_error(error: PortError) -> AdminError {
    match error {
        PortError::NotFound => AdminError::ProviderNotFound,
        other => AdminError::ProviderStore(other),
    }
}

/// Logs a change (never the secret) to the trace log and the event log.
fn log_change(accounts: Option<&Accounts>, tenant: &TenantId, id: &str, action: &str) {
    tracing::info!(tenant = %tenant, provider = %id, action, "identity provider changed");
    if let Some(accounts) = accounts {
        accounts.log_identity_provider_change(tenant, action);
    }
}

/// The answer for one provider.
fn view(state: &AdminState, provider: &IdentityProvider) -> IdentityProviderView {
    IdentityProviderView::new(provider, &state.public_url)
}

fn location(id: &str) -> (header::HeaderName, String) {
    (
        header::LOCATION,
        format!("/api/admin/identity-providers/{id}"),
    )
}

/// List the tenant's identity providers, by id (never their client secrets).
#[utoipa::path(
    get,
    path = "/api/admin/identity-providers",
    operation_id = "list_identity_providers",
    tag = "identity-providers",
    responses(
        (status = 200, description = "Every identity provider of the tenant, by id.", body = IdentityProviderList),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn list_providers(
    _: Admin,
    request: HttpRequest,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let tenant = tenant(&request);
    let providers = on_store(&state, &request, move |store, _| {
        store.list(&tenant).map_err(store_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(IdentityProviderList {
        items: providers.iter().map(|p| view(&state, p)).collect(),
    }))
}

/// One identity provider (never its client secret).
#[utoipa::path(
    get,
    path = "/api/admin/identity-providers/{id}",
    operation_id = "get_identity_provider",
    tag = "identity-providers",
    params(("id" = String, Path, description = "Identity provider id", example = "google", pattern = "^[a-z0-9-]{1,64}$")),
    responses(
        (status = 200, description = "The identity provider.", body = IdentityProviderView),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No identity provider has this id (`identity_provider_not_found`).", body = ErrorBody,
            example = json!({"code": "identity_provider_not_found", "message": "no such identity provider"})),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn get_provider(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    if !valid_id(&id) {
        return Err(AdminError::ProviderNotFound);
    }
    let provider = on_store(&state, &request, move |store, _| {
        store
            .get(&tenant, &id)
            .map_err(store_error)?
            .ok_or(AdminError::ProviderNotFound)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(&state, &provider)))
}

/// Create an identity provider, from a preset (`preset`, or an `id` that names one) or from
/// scratch. The answer never holds the client secret; `callback_url` is the redirect URI to
/// register at the provider.
#[utoipa::path(
    post,
    path = "/api/admin/identity-providers",
    operation_id = "create_identity_provider",
    tag = "identity-providers",
    request_body(content = crate::schemas::IdentityProviderRequest, description = "The provider; `id` is required.",
        example = json!({"id": "google", "client_id": "1234567890-abc.apps.googleusercontent.com", "client_secret": "GOCSPX-example"})),
    responses(
        (status = 201, description = "Created.", body = IdentityProviderView,
            headers(("Location" = String, description = "`/api/admin/identity-providers/{id}` of the new provider")),
            example = json!({"id": "google", "type": "oidc", "display_name": "Google", "icon_url": null, "issuer": "https://accounts.google.com", "authorize_url": null, "token_url": null, "userinfo_url": null, "emails_url": null, "client_id": "1234567890-abc.apps.googleusercontent.com", "has_client_secret": true, "scopes": ["openid", "email", "profile"], "redirect_uri": null, "claims": {"subject": "sub", "email": "email", "email_verified": "email_verified", "name": "name", "username": "preferred_username", "attributes": {}}, "link_by_email": "never", "create_users": true, "promoted": false, "callback_url": "https://id.example.com/source/oauth/callback/google/"})),
        (status = 400, description = "Malformed JSON (`invalid_json`), an ill-typed or unknown field (`invalid_request`), or a field that breaks a rule, named in `details.field`: `invalid_provider_id`, `unknown_preset`, `missing_provider_field` (`type`, `client_id`, `issuer` for oidc, `authorize_url`/`token_url`/`userinfo_url` for oauth2), `invalid_provider_field`, `invalid_url`, `insecure_url` (http to a host other than localhost, 127.0.0.1 or ::1), `invalid_scope`, `value_too_long`.", body = ErrorBody,
            example = json!({"code": "missing_provider_field", "message": "token_url: an oauth2 provider needs it", "details": {"field": "token_url"}})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 409, description = "An identity provider has this id (`identity_provider_exists`); PUT replaces it.", body = ErrorBody,
            example = json!({"code": "identity_provider_exists", "message": "an identity provider with the id \"google\" exists; PUT replaces it", "details": {"field": "id"}})),
        (status = 413, description = "The body is larger than the server's limit (`payload_too_large`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn create_provider(
    _: Admin,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let body = read_object(payload, state.body_limit).await?;
    let ProviderRequest {
        mut provider,
        secret,
    } = parse_provider(body, None)?;
    assign(&mut provider.client_secret, secret);
    let tenant = tenant(&request);
    let provider = on_store(&state, &request, move |store, accounts| {
        let _writing = WRITES.lock().unwrap_or_else(PoisonError::into_inner);
        if store
            .get(&tenant, &provider.id)
            .map_err(store_error)?
            .is_some()
        {
            return Err(AdminError::ProviderExists(provider.id));
        }
        store.put(&tenant, &provider).map_err(store_error)?;
        log_change(accounts, &tenant, &provider.id, "identity_provider_created");
        Ok(provider)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(location(&provider.id))
        .json(view(&state, &provider)))
}

/// Create or replace an identity provider with the path's id: the body is the whole
/// provider (a preset applies again). Without `client_secret` the stored secret is kept, so
/// that a provider is edited without entering its secret again; `null` removes it.
#[utoipa::path(
    put,
    path = "/api/admin/identity-providers/{id}",
    operation_id = "put_identity_provider",
    tag = "identity-providers",
    params(("id" = String, Path, description = "Identity provider id", example = "google", pattern = "^[a-z0-9-]{1,64}$")),
    request_body(content = crate::schemas::IdentityProviderRequest, description = "The provider; `id` may be left out.",
        example = json!({"client_id": "1234567890-abc.apps.googleusercontent.com", "promoted": true})),
    responses(
        (status = 200, description = "Replaced.", body = IdentityProviderView),
        (status = 201, description = "Created.", body = IdentityProviderView,
            headers(("Location" = String, description = "`/api/admin/identity-providers/{id}` of the new provider"))),
        (status = 400, description = "Malformed JSON (`invalid_json`), an ill-typed or unknown field or an `id` other than the path's (`invalid_request`), or a field that breaks a rule, named in `details.field` (the codes of POST).", body = ErrorBody,
            example = json!({"code": "insecure_url", "message": "issuer: must use https (plain http only to localhost, 127.0.0.1 or ::1)", "details": {"field": "issuer"}})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 413, description = "The body is larger than the server's limit (`payload_too_large`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn put_provider(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = read_object(payload, state.body_limit).await?;
    let ProviderRequest {
        mut provider,
        secret,
    } = parse_provider(body, Some(&id))?;
    let tenant = tenant(&request);
    let (provider, created) = on_store(&state, &request, move |store, accounts| {
        let _writing = WRITES.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = store.get(&tenant, &provider.id).map_err(store_error)?;
        provider.client_secret = stored.and_then(|stored| stored.client_secret);
        assign(&mut provider.client_secret, secret);
        let created = store.put(&tenant, &provider).map_err(store_error)?;
        let action = if created {
            "identity_provider_created"
        } else {
            "identity_provider_replaced"
        };
        log_change(accounts, &tenant, &provider.id, action);
        Ok((provider, created))
    })
    .await?;
    let answer = view(&state, &provider);
    Ok(if created {
        HttpResponse::Created()
            .insert_header(location(&provider.id))
            .json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// Delete an identity provider: flows stop offering it (their validation warns). The links
/// users have to it stay, and work again if it is configured again with the same id.
#[utoipa::path(
    delete,
    path = "/api/admin/identity-providers/{id}",
    operation_id = "delete_identity_provider",
    tag = "identity-providers",
    params(("id" = String, Path, description = "Identity provider id", example = "google", pattern = "^[a-z0-9-]{1,64}$")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No identity provider has this id (`identity_provider_not_found`).", body = ErrorBody,
            example = json!({"code": "identity_provider_not_found", "message": "no such identity provider"})),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn delete_provider(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    if !valid_id(&id) {
        return Err(AdminError::ProviderNotFound);
    }
    on_store(&state, &request, move |store, accounts| {
        let _writing = WRITES.lock().unwrap_or_else(PoisonError::into_inner);
        store.delete(&tenant, &id).map_err(store_error)?;
        log_change(accounts, &tenant, &id, "identity_provider_deleted");
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The admin API's warnings on `flow`: one for each provider that a `social_provider_select`
/// node names and the tenant has not configured. None without an engine (no provider store).
pub(crate) fn flow_warnings(
    engine: Option<&Engine>,
    tenant: &TenantId,
    flow: &Flow,
) -> Result<Vec<AdminFinding>, PortError> {
    let Some(engine) = engine else {
        return Ok(Vec::new());
    };
    let selects: Vec<_> = flow
        .graph
        .nodes
        .iter()
        .filter(|node| node.node_type == NodeType::SocialProviderSelect)
        .collect();
    if selects.is_empty() {
        return Ok(Vec::new());
    }
    let configured: Vec<String> = engine
        .ports()
        .identity_providers
        .list(tenant)?
        .into_iter()
        .map(|provider| provider.id)
        .collect();
    let mut warnings = Vec::new();
    for node in selects {
        let named = node
            .config
            .as_ref()
            .and_then(|config| config.get("providers"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        let mut seen: Vec<&str> = Vec::new();
        for provider in named {
            if seen.contains(&provider) || configured.iter().any(|id| id == provider) {
                continue;
            }
            seen.push(provider);
            warnings.push(AdminFinding {
                code: SOCIAL_PROVIDER_NOT_CONFIGURED,
                message: format!(
                    "Node '{}' offers the identity provider '{provider}', which is not configured: it is not shown until it is (POST /api/admin/identity-providers)",
                    node.id
                ),
                node_id: Some(node.id.clone()),
            });
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    fn parse(body: Value, path: Option<&str>) -> Result<ProviderRequest> {
        match body {
            Value::Object(map) => parse_provider(map, path),
            _ => panic!("not an object"),
        }
    }

    fn code(body: Value) -> (&'static str, String) {
        match parse(body, None) {
            Err(error) => {
                let field = match &error {
                    AdminError::InvalidProvider { field, .. } => field.clone(),
                    _ => String::new(),
                };
                (error.code(), field)
            }
            Ok(_) => ("ok", String::new()),
        }
    }

    #[test]
    fn presets_fill_in_and_fields_override() {
        let request = parse(
            json!({"id": "google", "client_id": "abc", "issuer": "http://127.0.0.1:9000"}),
            None,
        )
        .unwrap();
        let provider = request.provider;
        assert_eq!(provider.protocol, ProviderProtocol::Oidc);
        assert_eq!(provider.display_name, "Google");
        assert_eq!(provider.issuer.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(provider.scopes, ["openid", "email", "profile"]);

        let github = parse(
            json!({"id": "gh-work", "preset": "github", "client_id": "x",
                   "emails_url": null, "claims": {"email": "mail"}}),
            None,
        )
        .unwrap()
        .provider;
        assert_eq!(github.id, "gh-work");
        assert_eq!(github.protocol, ProviderProtocol::Oauth2);
        assert_eq!(github.emails_url, None);
        // The claims given replace the preset's one by one.
        assert_eq!(github.claims.subject, "id");
        assert_eq!(github.claims.email, "mail");
    }

    #[test]
    fn every_bad_input_has_its_code_and_field() {
        let cases = [
            (
                json!({"id": "Google", "type": "oidc"}),
                "invalid_provider_id",
                "id",
            ),
            (
                json!({"id": "x", "preset": "myspace"}),
                "unknown_preset",
                "preset",
            ),
            (
                json!({"id": "corp", "client_id": "a"}),
                "missing_provider_field",
                "type",
            ),
            (
                json!({"id": "corp", "type": "oidc", "issuer": "https://id.corp"}),
                "missing_provider_field",
                "client_id",
            ),
            (
                json!({"id": "corp", "type": "oidc", "client_id": "a"}),
                "missing_provider_field",
                "issuer",
            ),
            (
                json!({"id": "corp", "type": "oauth2", "client_id": "a",
                       "authorize_url": "https://corp.example/auth", "userinfo_url": "https://corp.example/me"}),
                "missing_provider_field",
                "token_url",
            ),
            (
                json!({"id": "google", "client_id": "a", "issuer": "http://accounts.example.com"}),
                "insecure_url",
                "issuer",
            ),
            (
                json!({"id": "google", "client_id": "a", "issuer": "ftp://x.example"}),
                "invalid_url",
                "issuer",
            ),
            (
                json!({"id": "google", "client_id": "a", "issuer": "/relative"}),
                "invalid_url",
                "issuer",
            ),
            (
                json!({"id": "google", "client_id": "a", "icon_url": "https://u:p@x.example/i.png"}),
                "invalid_url",
                "icon_url",
            ),
            (
                json!({"id": "google", "client_id": "a", "scopes": ["open id"]}),
                "invalid_scope",
                "scopes[0]",
            ),
            (
                json!({"id": "google", "client_id": "a", "scopes": ["a", "a"]}),
                "invalid_scope",
                "scopes[1]",
            ),
            (
                json!({"id": "google", "client_id": "a", "scopes": vec!["s"; 21]}),
                "invalid_scope",
                "scopes",
            ),
            (
                json!({"id": "google", "client_id": "a", "display_name": "x".repeat(101)}),
                "value_too_long",
                "display_name",
            ),
            (
                json!({"id": "google", "client_id": "a".repeat(513)}),
                "value_too_long",
                "client_id",
            ),
            (
                json!({"id": "google", "client_id": "a", "client_secret": "s".repeat(513)}),
                "value_too_long",
                "client_secret",
            ),
            (
                json!({"id": "google", "client_id": "a", "client_secret": ""}),
                "invalid_provider_field",
                "client_secret",
            ),
            (
                json!({"id": "google", "client_id": " "}),
                "missing_provider_field",
                "client_id",
            ),
        ];
        for (body, expected, field) in cases {
            assert_eq!(code(body.clone()), (expected, field.to_owned()), "{body}");
        }
        for (host, ok) in [
            ("http://localhost:8080", true),
            ("http://[::1]:8080", true),
            ("http://127.0.0.1", true),
            ("http://10.0.0.1", false),
            ("https://10.0.0.1", true),
        ] {
            let result = check_url("issuer", host);
            assert_eq!(result.is_ok(), ok, "{host}");
        }
        assert_eq!(
            code(json!({"id": "google", "client_id": "a", "colour": "red"})).0,
            "invalid_request"
        );
        assert_eq!(
            code(json!({"id": "google", "client_id": "a", "claims": {"subjekt": "sub"}})).0,
            "invalid_request"
        );
    }

    #[test]
    fn a_secret_is_never_echoed() {
        let error = parse(
            json!({"id": "google", "client_id": "a", "client_secret": 123_456_789}),
            None,
        )
        .err()
        .unwrap();
        assert!(!error.to_string().contains("123456789"), "{error}");
    }

    #[test]
    fn a_put_body_may_not_name_another_id() {
        let error = parse(json!({"id": "github", "client_id": "a"}), Some("google"))
            .err()
            .unwrap();
        assert_eq!(error.code(), "invalid_request");
        let request = parse(json!({"client_id": "a"}), Some("google")).unwrap();
        assert_eq!(request.provider.id, "google");
        assert!(matches!(request.secret, Given::Absent));
    }
}
