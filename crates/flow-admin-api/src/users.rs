//! `/api/admin/users`: list, look up, create, delete and unlock users, and remove their links
//! to identity providers. The handlers extract and convert; every rule lives in
//! `flow_engine::Accounts`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::Arc;

use flow_engine::{
    AccountError, Accounts, EventOrigin, NewAccount, TenantId, User, UserId, UserQuery,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body::{read_bytes, read_object, require, take};
use crate::dto::{CredentialList, CredentialView, ImportResult, UserList, UserView};
use crate::error::ErrorBody;
use crate::routes::{decode_cursor, encode_cursor, on_service, parse_limit, tenant};
use crate::{Admin, AdminError, AdminState};

type Result<T, E = AdminError> = std::result::Result<T, E>;

/// The client of `request` as the event log records it: its address and user agent.
pub(crate) fn origin(request: &HttpRequest) -> EventOrigin {
    EventOrigin::new(
        request.peer_addr().map(|address| address.ip().to_string()),
        request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok()),
    )
}

/// Runs `call` on the accounts service in the blocking pool, for the client of `request`
/// (its address and user agent go into the event log).
async fn accounts<T, F>(state: &web::Data<AdminState>, request: &HttpRequest, call: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
{
    let origin = origin(request);
    let service = state
        .accounts
        .as_ref()
        .map(|accounts| Arc::new(accounts.with_origin(origin)));
    on_service(service, call).await
}

/// The answer about one user: the user with its identity links.
fn with_links(service: &Accounts, tenant: &TenantId, user: User) -> Result<UserView, AccountError> {
    let links = service.identity_links(tenant, &user.id)?;
    Ok(UserView::from(&user).with_links(&links))
}

#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
    identifier: Option<String>,
    status: Option<String>,
    created_from: Option<String>,
    created_before: Option<String>,
}

/// The query parameters of `request`; an unknown or ill-typed one is `invalid_query`.
pub(crate) fn query<T: serde::de::DeserializeOwned>(request: &HttpRequest) -> Result<T> {
    web::Query::<T>::from_query(request.query_string())
        .map(web::Query::into_inner)
        .map_err(|error| AdminError::InvalidQuery {
            parameter: "query",
            message: error.to_string(),
        })
}

/// A Unix-seconds query parameter.
pub(crate) fn seconds(parameter: &'static str, text: Option<String>) -> Result<Option<i64>> {
    text.map(|text| {
        text.parse::<i64>().map_err(|_| AdminError::InvalidQuery {
            parameter,
            message: "must be a time in Unix seconds".to_owned(),
        })
    })
    .transpose()
}

/// List users ordered by identifier, optionally those whose identifier starts with a prefix.
#[utoipa::path(
    get,
    path = "/api/admin/users",
    operation_id = "list_users",
    tag = "users",
    params(
        ("identifier" = Option<String>, Query, description = "Only identifiers that start with this text (normalized like an identifier: `ANN` finds `ann@example.com`)."),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 100 (default 20)."),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from the previous page's `cursor`."),
        ("status" = Option<String>, Query, description = "`active` or `disabled`."),
        ("created_from" = Option<i64>, Query, description = "Only users created at or after this time (Unix seconds)."),
        ("created_before" = Option<i64>, Query, description = "Only users created before this time (Unix seconds)."),
    ),
    responses(
        (status = 200, description = "One page of users; `cursor` is `null` on the last page.", body = UserList),
        (status = 400, description = "A bad `limit` or `cursor` (`invalid_query`), or a prefix that cannot be part of an identifier (`invalid_identifier`).", body = ErrorBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn list_users(
    _: Admin,
    request: HttpRequest,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let params: ListParams = query(&request)?;
    let limit = parse_limit(params.limit.as_deref())?;
    let after = params
        .cursor
        .map(|cursor| decode_cursor(&cursor))
        .transpose()?;
    let disabled = match params.status.as_deref() {
        None => None,
        Some("active") => Some(false),
        Some("disabled") => Some(true),
        Some(_) => {
            return Err(AdminError::InvalidQuery {
                parameter: "status",
                message: "must be active or disabled".to_owned(),
            });
        }
    };
    let query = UserQuery {
        identifier_prefix: params.identifier,
        after,
        limit,
        disabled,
        created_from: seconds("created_from", params.created_from)?,
        created_before: seconds("created_before", params.created_before)?,
    };
    let tenant = tenant(&request);
    let page = accounts(&state, &request, move |service| {
        service.list(&tenant, query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserList {
        items: page.users.iter().map(UserView::from).collect(),
        cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// One user.
#[utoipa::path(
    get,
    path = "/api/admin/users/{id}",
    operation_id = "get_user",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, with its `identity_links`.", body = UserView),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`).", body = ErrorBody,
            example = json!({"code": "user_not_found", "message": "no such user"})),
    )
)]
pub(crate) async fn get_user(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), UserId::new(path.into_inner()));
    let user = accounts(&state, &request, move |service| {
        let user = service.get(&tenant, &id)?;
        with_links(service, &tenant, user)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Create a user, with or without a password. The identifier is normalized like a flow's
/// (an e-mail address, a username or a phone number) and the password must pass the same
/// policy as in the flows.
#[utoipa::path(
    post,
    path = "/api/admin/users",
    operation_id = "create_user",
    tag = "users",
    request_body(content = crate::schemas::CreateUserRequest, description = "The user to create.",
        example = json!({"identifier": "ann@example.com", "password": "correct horse battery staple", "attributes": {"given_name": "Ann"}})),
    responses(
        (status = 201, description = "Created.", body = UserView,
            headers(("Location" = String, description = "`/api/admin/users/{id}` of the new user"))),
        (status = 400, description = "Malformed JSON (`invalid_json`), a missing or ill-typed field (`invalid_request`), an identifier flowd does not accept (`invalid_identifier`), or a password the policy refuses (`password_too_short`, `password_too_weak`, `password_matches_identifier`, ...).", body = ErrorBody,
            example = json!({"code": "password_too_short", "message": "The password must be at least 8 characters long.", "details": {"field": "password"}})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 409, description = "The identifier, or one that looks like it, is taken (`identifier_taken`).", body = ErrorBody,
            example = json!({"code": "identifier_taken", "message": "a user with this identifier (or one that looks like it) exists", "details": {"field": "identifier"}})),
        (status = 413, description = "The body is larger than the server's limit (`payload_too_large`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn create_user(
    _: Admin,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let mut object = read_object(payload, state.body_limit).await?;
    let new = NewAccount {
        identifier: require(&mut object, "identifier")?,
        password: take(&mut object, "password")?,
        attributes: take::<Map<String, Value>>(&mut object, "attributes")?.unwrap_or_default(),
    };
    refuse_unknown(&object)?;
    let tenant = tenant(&request);
    let user = accounts(&state, &request, move |service| {
        service.create(&tenant, new)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/admin/users/{}", user.id.as_str()),
        ))
        .json(UserView::from(&user).with_links(&[])))
}

/// Change a user's profile attributes: the given keys are set, a key with `null` is removed,
/// the others are kept.
#[utoipa::path(
    patch,
    path = "/api/admin/users/{id}",
    operation_id = "update_user",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body(content = crate::schemas::UpdateUserRequest, description = "The attributes to merge.",
        example = json!({"attributes": {"family_name": "Lovelace", "nickname": null}})),
    responses(
        (status = 200, description = "The user after the change.", body = UserView),
        (status = 400, description = "Malformed JSON (`invalid_json`), `attributes` missing or not an object, or another field (`invalid_request`).", body = ErrorBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`).", body = ErrorBody),
        (status = 413, description = "The body is larger than the server's limit (`payload_too_large`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn update_user(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let mut object = read_object(payload, state.body_limit).await?;
    let attributes: Map<String, Value> = require(&mut object, "attributes")?;
    refuse_unknown(&object)?;
    let (tenant, id) = (tenant(&request), UserId::new(path.into_inner()));
    let user = accounts(&state, &request, move |service| {
        let user = service.update_attributes(&tenant, &id, &attributes)?;
        with_links(service, &tenant, user)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// A field left in a body after the known ones were taken: refused, so that a misspelt one is
/// never silently ignored.
pub(crate) fn refuse_unknown(object: &Map<String, Value>) -> Result<()> {
    match object.keys().next() {
        Some(field) => Err(AdminError::InvalidRequest {
            field: field.clone(),
            message: "unknown field".to_owned(),
        }),
        None => Ok(()),
    }
}

/// Delete a user with its credentials and failed sign-ins. No execution can sign it in any
/// more, and its browser sessions end at their next request.
#[utoipa::path(
    delete,
    path = "/api/admin/users/{id}",
    operation_id = "delete_user",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn delete_user(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), UserId::new(path.into_inner()));
    accounts(&state, &request, move |service| {
        service.delete(&tenant, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Disable a user: it is answered like an unknown identifier from now on (a sign-in gets the
/// answer of a wrong password, a recovery sends nothing), its identifier stays taken, and its
/// browser sessions end at their next request.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/disable",
    operation_id = "disable_user",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, `disabled` (disabling twice keeps the first `disabled_at`).", body = UserView),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn disable_user(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), UserId::new(path.into_inner()));
    let user = accounts(&state, &request, move |service| {
        let user = service.disable(&tenant, &id)?;
        with_links(service, &tenant, user)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Enable a disabled user again; its password and authenticators are as they were.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/enable",
    operation_id = "enable_user",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, `active`.", body = UserView),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn enable_user(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), UserId::new(path.into_inner()));
    let user = accounts(&state, &request, move |service| {
        let user = service.enable(&tenant, &id)?;
        with_links(service, &tenant, user)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// A user's credentials, without their secrets.
#[utoipa::path(
    get,
    path = "/api/admin/users/{id}/credentials",
    operation_id = "list_user_credentials",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The password when one is set, the authenticator app when one is enrolled.", body = CredentialList,
            example = json!({"items": [{"type": "password"}, {"type": "totp", "created_at": 1700000000}]})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn list_credentials(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), UserId::new(path.into_inner()));
    let found = accounts(&state, &request, move |service| {
        service.credentials(&tenant, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(CredentialList {
        items: found.iter().map(CredentialView::from).collect(),
    }))
}

/// Remove a user's password or authenticator app. Without a password the user signs in only
/// after a recovery flow sets one; without the app, `totp` is no longer one of its second
/// factors.
#[utoipa::path(
    delete,
    path = "/api/admin/users/{id}/credentials/{type}",
    operation_id = "delete_user_credential",
    tag = "users",
    params(
        ("id" = String, Path, description = "User id"),
        ("type" = String, Path, description = "`password`, `totp` or `passkey` (every passkey)"),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`), or it has no credential of this type (`credential_not_found`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn delete_credential(
    _: Admin,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (id, kind) = path.into_inner();
    let (tenant, id) = (tenant(&request), UserId::new(id));
    accounts(&state, &request, move |service| {
        service.remove_credential(&tenant, &id, &kind)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mail the user a link to the password recovery page (the hosted page of the active
/// recovery flow), where it proves its address with a code and chooses a new password. Until
/// it does, its password keeps working.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/recovery",
    operation_id = "send_user_recovery_mail",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 202, description = "The mail is on its way; `sent_to` is the address.", body = crate::dto::RecoveryMailSent,
            example = json!({"sent_to": "ann@example.com"})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`).", body = ErrorBody),
        (status = 409, description = "The user is disabled (`user_disabled`), has no e-mail address (`no_email_address`), or no recovery flow is active (`no_recovery_flow`).", body = ErrorBody),
        (status = 503, description = "The mailer (`mail_unavailable`) or the store (`store_unavailable`) is down.", body = ErrorBody),
    )
)]
pub(crate) async fn send_recovery_mail(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), UserId::new(path.into_inner()));
    let catalog = state.catalog.clone();
    let public_url = state.public_url.trim_end_matches('/').to_owned();
    let sent_to = accounts(&state, &request, move |service| {
        // The user first, so that an unknown id is a 404 whatever the flows.
        service.get(&tenant, &id)?;
        // The default password reset flow, else the default account recovery flow.
        let mut found = Err(AccountError::NoRecoveryFlow);
        for flow_type in [
            flow_engine::FlowType::PasswordReset,
            flow_engine::FlowType::AccountRecovery,
        ] {
            match catalog.active_by_type(&tenant, flow_type) {
                Ok(flow) => {
                    found = Ok(flow);
                    break;
                }
                Err(flow_engine::CatalogError::Store(error)) => {
                    return Err(AccountError::Store(error));
                }
                Err(_) => {}
            }
        }
        let flow = found?;
        let link = format!("{public_url}/if/flow/{}/", flow.flow.flow.name.as_str());
        service.send_recovery_mail(&tenant, &id, link)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(crate::dto::RecoveryMailSent { sent_to }))
}

/// Remove one passkey of a user (the others, and its other credentials, stay).
#[utoipa::path(
    delete,
    path = "/api/admin/users/{id}/credentials/passkey/{credential_id}",
    operation_id = "delete_user_passkey",
    tag = "users",
    params(
        ("id" = String, Path, description = "User id"),
        ("credential_id" = String, Path, description = "The passkey's credential id, as the credentials list shows it"),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`), or it has no such passkey (`credential_not_found`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn delete_passkey(
    _: Admin,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (id, credential_id) = path.into_inner();
    let (tenant, id) = (tenant(&request), UserId::new(id));
    accounts(&state, &request, move |service| {
        service.remove_passkey(&tenant, &id, &credential_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a user's link to its account at an identity provider: a sign-in with that account
/// no longer signs the user in (a later one is a first sign-in again, which links only as the
/// provider's settings allow).
#[utoipa::path(
    delete,
    path = "/api/admin/users/{id}/identity-links/{provider}",
    operation_id = "delete_user_identity_link",
    tag = "users",
    params(
        ("id" = String, Path, description = "User id"),
        ("provider" = String, Path, description = "Identity provider id", example = "google"),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`), or it has no link to this provider (`identity_link_not_found`).", body = ErrorBody,
            example = json!({"code": "identity_link_not_found", "message": "the user has no link to this identity provider"})),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn delete_identity_link(
    _: Admin,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (id, provider) = path.into_inner();
    let (tenant, id) = (tenant(&request), UserId::new(id));
    accounts(&state, &request, move |service| {
        service.remove_identity_link(&tenant, &id, &provider)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lift a user's lockout and forget its failed sign-ins.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/unlock",
    operation_id = "unlock_user",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Unlocked (also when the user was not locked)."),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No user has this id (`user_not_found`).", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn unlock_user(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), UserId::new(path.into_inner()));
    accounts(&state, &request, move |service| {
        service.unlock(&tenant, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The largest import body: about 250,000 users of typical size.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// Import users with their existing password hashes, one JSON object per line; see
/// `docs/admin-api.md` for the line format and the hash encodings. A user whose identifier
/// exists is left as it was, so an import can run again; a refused line writes nothing.
#[utoipa::path(
    post,
    path = "/api/admin/users/import",
    operation_id = "import_users",
    tag = "users",
    request_body(content((String = "application/x-ndjson"), (String = "text/plain")),
        description = "One user per line: `{\"identifier\", \"password_hash\"?, \"attributes\"?, \"disabled\"?, \"created_at\"?, \"id\"?}`; the content type is not checked."),
    responses(
        (status = 200, description = "What the import did, line by line.", body = ImportResult,
            example = json!({"created": 2, "existing": 1, "failed": 1, "errors": [{"line": 4, "code": "password_hash_unsupported", "message": "flowd cannot verify password hashes of the scheme 'md5'"}]})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 413, description = "The body is larger than 64 MiB (`payload_too_large`): split the file.", body = ErrorBody),
        (status = 503, description = "The store is down (`store_unavailable`); the lines before the failure may be imported, and running the import again is safe.", body = ErrorBody),
    )
)]
pub(crate) async fn import_users(
    _: Admin,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let body = read_bytes(payload, MAX_IMPORT_BYTES).await?;
    let tenant = tenant(&request);
    let report = accounts(&state, &request, move |service| {
        service.import(&tenant, &body[..])
    })
    .await?;
    Ok(HttpResponse::Ok().json(ImportResult::from(report)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportParams {
    password_hashes: Option<String>,
}

/// How many users an export reads at a time.
const EXPORT_PAGE: usize = 500;

/// Export every user in the import format, ordered by identifier; password hashes only with
/// `password_hashes=true`.
#[utoipa::path(
    get,
    path = "/api/admin/users/export",
    operation_id = "export_users",
    tag = "users",
    params(("password_hashes" = Option<bool>, Query, description = "`true` to include each user's password hash (default `false`).")),
    responses(
        (status = 200, description = "One user per line, as `POST /api/admin/users/import` reads them.", body = String, content_type = "application/x-ndjson",
            example = json!("{\"id\":\"5b0f…\",\"identifier\":\"ann@example.com\",\"created_at\":1700000000}\n")),
        (status = 400, description = "An unknown parameter, or `password_hashes` not `true` or `false` (`invalid_query`).", body = ErrorBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn export_users(
    _: Admin,
    request: HttpRequest,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let params: ExportParams = query(&request)?;
    let hashes = match params.password_hashes.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(AdminError::InvalidQuery {
                parameter: "password_hashes",
                message: "must be true or false".to_owned(),
            });
        }
    };
    let tenant = tenant(&request);
    // The first page is read before answering, so that a store outage is a 503, not a cut
    // stream; later pages stream as they are read.
    let first = export_page(&state, tenant.clone(), None, hashes).await?;
    let logged = tenant.clone();
    accounts(&state, &request, move |service| {
        service.log_export(&logged, hashes);
        Ok(())
    })
    .await?;
    let pages = futures_util::stream::unfold(
        (Some(first), state, tenant),
        move |(page, state, tenant)| async move {
            let (bytes, next) = page?;
            let following = match next {
                None => None,
                Some(after) => match export_page(&state, tenant.clone(), Some(after), hashes).await
                {
                    Ok(page) => Some(page),
                    Err(error) => {
                        tracing::error!(%error, "user export failed half-way; the answer is cut");
                        return Some((
                            Err(actix_web::error::ErrorServiceUnavailable(error.to_string())),
                            (None, state, tenant),
                        ));
                    }
                },
            };
            Some((Ok::<_, actix_web::Error>(bytes), (following, state, tenant)))
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(pages))
}

/// One page of an export as JSON lines, and the identifier to continue after.
async fn export_page(
    state: &web::Data<AdminState>,
    tenant: flow_engine::TenantId,
    after: Option<String>,
    hashes: bool,
) -> Result<(web::Bytes, Option<String>)> {
    let (records, next) = on_service(state.accounts.clone(), move |service: &Accounts| {
        service.export_page(&tenant, after, EXPORT_PAGE, hashes)
    })
    .await?;
    let mut bytes = Vec::with_capacity(records.len() * 160);
    for record in &records {
        serde_json::to_writer(&mut bytes, record).map_err(|_| AdminError::Internal)?;
        bytes.push(b'\n');
    }
    Ok((web::Bytes::from(bytes), next))
}
