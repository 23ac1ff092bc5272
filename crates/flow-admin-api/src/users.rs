//! `/api/admin/users`: list, look up, create, delete and unlock users. The handlers extract
//! and convert; every rule lives in `flow_engine::Accounts`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use flow_engine::{AccountError, Accounts, NewAccount, UserId, UserQuery};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body::{read_object, require, take};
use crate::dto::{CredentialList, CredentialView, UserList, UserView};
use crate::error::ErrorBody;
use crate::routes::{decode_cursor, encode_cursor, on_service, parse_limit, tenant};
use crate::{Admin, AdminError, AdminState};

type Result<T, E = AdminError> = std::result::Result<T, E>;

/// Runs `call` on the accounts service in the blocking pool.
async fn accounts<T, F>(state: &web::Data<AdminState>, call: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
{
    on_service(state.accounts.clone(), call).await
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

/// A Unix-seconds query parameter.
fn seconds(parameter: &'static str, text: Option<String>) -> Result<Option<i64>> {
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
    let params = web::Query::<ListParams>::from_query(request.query_string())
        .map_err(|error| AdminError::InvalidQuery {
            parameter: "query",
            message: error.to_string(),
        })?
        .into_inner();
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
    let page = accounts(&state, move |service| service.list(&tenant, query)).await?;
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
        (status = 200, description = "The user.", body = UserView),
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
    let user = accounts(&state, move |service| service.get(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
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
    let user = accounts(&state, move |service| service.create(&tenant, new)).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/admin/users/{}", user.id.as_str()),
        ))
        .json(UserView::from(&user)))
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
    let user = accounts(&state, move |service| {
        service.update_attributes(&tenant, &id, &attributes)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
}

/// A field left in a body after the known ones were taken: refused, so that a misspelt one is
/// never silently ignored.
fn refuse_unknown(object: &Map<String, Value>) -> Result<()> {
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
    accounts(&state, move |service| service.delete(&tenant, &id)).await?;
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
    let user = accounts(&state, move |service| service.disable(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
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
    let user = accounts(&state, move |service| service.enable(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
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
    let found = accounts(&state, move |service| service.credentials(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(CredentialList {
        items: found
            .iter()
            .map(|credential| CredentialView {
                kind: credential.kind.as_str(),
                created_at: credential.created_at,
            })
            .collect(),
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
        ("type" = String, Path, description = "`password` or `totp`"),
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
    accounts(&state, move |service| {
        service.remove_credential(&tenant, &id, &kind)
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
    accounts(&state, move |service| service.unlock(&tenant, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
