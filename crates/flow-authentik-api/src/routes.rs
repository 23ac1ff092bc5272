//! The HTTP handlers: read the request and the session, run the [`Executor`] on the blocking
//! pool, apply its session changes, answer. No flow rule lives here.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use flow_engine::{ExecutionId, RequestContext, SessionUser, TenantId, UserId};
use flow_http::BodyError;
use serde_json::{Map, Value, json};

use crate::executor::{Executor, PlanChange, Reply, Turn};
use crate::redirect::ClientQuery;
use crate::render::{DEFAULT_AVATAR, FlowFacts};
use crate::session::FlowSession;
use crate::{AuthentikError, AuthentikState, EXECUTOR_PREFIX};

/// The request id header set by the server's middleware (a fresh id when absent).
const REQUEST_ID_HEADER: &str = "x-request-id";

/// The tenant of a request. Single-tenant for now, like the other surfaces.
fn tenant(_request: &HttpRequest) -> TenantId {
    TenantId::default()
}

/// The request id to quote in flow errors.
fn request_id(request: &HttpRequest) -> String {
    request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty() && value.len() <= 64)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// What the engine may know about the request that starts an execution.
fn request_context(request: &HttpRequest, tenant: TenantId) -> RequestContext {
    let header = |name: header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    RequestContext::from_request(
        tenant,
        request.peer_addr().map(|address| address.ip().to_string()),
        header(header::USER_AGENT),
        header(header::ORIGIN),
        header(header::ACCEPT_LANGUAGE),
    )
    // Identity providers come back to `/source/oauth/callback/{provider}/`, in this session.
    .returning_to_server()
}

pub(crate) fn executor(state: &AuthentikState, request: &HttpRequest) -> Executor {
    Executor {
        engine: state.engine.clone(),
        catalog: state.catalog.clone(),
        tenant: tenant(request),
        redirects: state.settings.redirects.clone(),
        request_id: request_id(request),
    }
}

/// A response that no cache may keep (challenges are per session).
fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// Applies a turn's session changes and builds its response.
fn answer(
    request: &HttpRequest,
    session: &Session,
    slug: &str,
    turn: Turn,
) -> Result<HttpResponse, AuthentikError> {
    let flows = FlowSession::new(session);
    match turn.plan {
        PlanChange::Keep => {}
        PlanChange::Set(id) => flows.set_plan(slug, id)?,
        PlanChange::Clear => flows.clear_plan(slug)?,
    }
    if let Some(user) = &turn.sign_in {
        flows.sign_in(user)?;
    }
    Ok(no_store(match turn.reply {
        Reply::Challenge(envelope) => HttpResponse::Ok().json(envelope),
        // authentik's raw 302 to the very same URL, `?query=` included, with an empty body.
        Reply::Hop => HttpResponse::Found()
            .insert_header((header::LOCATION, request.uri().to_string()))
            .finish(),
    }))
}

/// The flow facts of `slug` on the blocking pool.
async fn facts(executor: Executor, slug: String) -> Result<(Executor, FlowFacts), AuthentikError> {
    web::block(move || executor.facts(&slug).map(|facts| (executor, facts)))
        .await
        .map_err(|error| AuthentikError::Internal(error.to_string()))?
}

/// What an executor request asks the [`Executor`] to do, with what the session knows.
type Action = Box<
    dyn FnOnce(&Executor, &FlowFacts, Option<ExecutionId>, RequestContext, &ClientQuery) -> Turn
        + Send,
>;

/// The shared path of GET and POST: the session's execution, the flow's facts and the action
/// on the blocking pool, the session changes, the answer.
async fn drive(
    state: &AuthentikState,
    request: &HttpRequest,
    slug: String,
    session: &Session,
    action: Action,
) -> HttpResponse {
    let result = async {
        let executor = executor(state, request);
        let flows = FlowSession::new(session);
        let plan = flows.plan(&slug);
        let mut context = request_context(request, executor.tenant.clone());
        // The session's user: MFA setup acts on it, a login flow is done at once for it.
        if let Some(user) = flows.signed_in() {
            context = context.with_user(SessionUser {
                id: UserId::new(user.user_id),
                methods: user.methods,
                signed_in_at: Some(user.at),
            });
        }
        let query = ClientQuery::from_executor_query(request.query_string());
        // One blocking-pool hop for the session's user, the flow's facts and the action.
        let task_slug = slug.clone();
        let (turn, forgotten) = web::block(move || {
            let forgotten = executor.drop_stale_session_user(&mut context)?;
            let facts = executor.facts(&task_slug)?;
            let turn = action(&executor, &facts, plan, context, &query);
            Ok::<_, AuthentikError>((turn, forgotten))
        })
        .await
        .map_err(|error| AuthentikError::Internal(error.to_string()))??;
        if forgotten {
            flows.forget_user();
        }
        answer(request, session, &slug, turn)
    }
    .await;
    result.unwrap_or_else(|error| error.to_response())
}

/// `GET /api/v3/flows/executor/{slug}/`: the current challenge.
pub(crate) async fn executor_get(
    state: web::Data<AuthentikState>,
    request: HttpRequest,
    slug: web::Path<String>,
    session: Session,
) -> HttpResponse {
    let slug = slug.into_inner();
    let task_slug = slug.clone();
    let action: Action = Box::new(move |executor, facts, plan, context, query| {
        executor.show(&task_slug, facts, plan, context, query)
    });
    drive(&state, &request, slug, &session, action).await
}

/// `POST /api/v3/flows/executor/{slug}/`: solve the current challenge.
pub(crate) async fn executor_post(
    state: web::Data<AuthentikState>,
    request: HttpRequest,
    slug: web::Path<String>,
    session: Session,
    payload: web::Payload,
) -> HttpResponse {
    if let Err(error) = state.settings.origins.check(&request) {
        return AuthentikError::from(error).to_response();
    }
    if !declares_json(&request) {
        return AuthentikError::UnsupportedMediaType.to_response();
    }
    let body = match read_object(payload, state.settings.body_limit).await {
        Ok(body) => body,
        Err(error) => return error.to_response(),
    };
    let slug = slug.into_inner();
    let task_slug = slug.clone();
    let action: Action = Box::new(move |executor, facts, plan, context, query| {
        executor.submit(&task_slug, facts, plan, body, context, query)
    });
    drive(&state, &request, slug, &session, action).await
}

/// `GET /api/v3/flows/instances/{slug}/execute/`: `{link}` to the flow's page. It also
/// makes sure the client holds a session (authentik's documented first call for clients
/// that come with a token rather than a cookie).
pub(crate) async fn instance_execute(
    state: web::Data<AuthentikState>,
    request: HttpRequest,
    slug: web::Path<String>,
    session: Session,
) -> HttpResponse {
    let slug = slug.into_inner();
    let result = async {
        let (_, _) = facts(executor(&state, &request), slug.clone()).await?;
        // Touch the session so that a cookie is set.
        session
            .insert("flowd.started", true)
            .map_err(|error| AuthentikError::Session(error.to_string()))?;
        let link = format!(
            "{}{}{}/",
            state.settings.public_url.trim_end_matches('/'),
            EXECUTOR_PREFIX,
            slug
        );
        Ok::<_, AuthentikError>(no_store(HttpResponse::Ok().json(json!({ "link": link }))))
    }
    .await;
    result.unwrap_or_else(|error| error.to_response())
}

/// `GET /api/v3/core/users/me/`: the signed-in user, in authentik's `SessionUser` shape;
/// 403 without a signed-in session.
pub(crate) async fn me(
    state: web::Data<AuthentikState>,
    request: HttpRequest,
    session: Session,
) -> HttpResponse {
    let result = async {
        let signed_in = FlowSession::new(&session)
            .signed_in()
            .ok_or(AuthentikError::NotAuthenticated)?;
        let engine = state.engine.clone();
        let tenant = tenant(&request);
        let session_user = SessionUser {
            id: UserId::new(signed_in.user_id.clone()),
            methods: signed_in.methods.clone(),
            signed_in_at: Some(signed_in.at),
        };
        let user = web::block(move || engine.session_user(&tenant, &session_user))
            .await
            .map_err(|error| AuthentikError::Internal(error.to_string()))?
            .map_err(|error| AuthentikError::Internal(error.to_string()))?;
        // A user deleted or disabled, or whose password changed, since the sign-in no
        // longer counts.
        let user = user.ok_or(AuthentikError::NotAuthenticated)?;
        let text = |key: &str| {
            user.attributes
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let name = [text("given_name"), text("family_name")]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let email = match text("email") {
            email if email.is_empty() && user.identifier.contains('@') => user.identifier.clone(),
            email => email,
        };
        let me = json!({
            "pk": numeric_pk(user.id.as_str()),
            "uid": user.id.as_str(),
            "username": user.identifier,
            "name": name,
            "email": email,
            "is_active": true,
            "is_superuser": false,
            "is_current": true,
            "groups": [],
            "roles": [],
            "avatar": DEFAULT_AVATAR,
            "settings": {},
            "system_permissions": [],
            "type": "internal",
        });
        Ok::<_, AuthentikError>(no_store(
            HttpResponse::Ok().json(json!({"user": me, "users": [me]})),
        ))
    }
    .await;
    result.unwrap_or_else(|error| error.to_response())
}

/// authentik's users have integer primary keys; flowd's ids are UUIDs. `pk` is the UUID's
/// first 48 bits (exact in JavaScript numbers); `uid` carries the full id.
fn numeric_pk(id: &str) -> u64 {
    uuid::Uuid::parse_str(id)
        .map(|uuid| {
            uuid.as_bytes()[..6]
                .iter()
                .fold(0u64, |pk, &byte| (pk << 8) | u64::from(byte))
        })
        .unwrap_or(0)
}

/// `GET /flows/-/cancel/` (`flow_info.cancel_url`): forgets the session's executions and goes
/// to `/`.
pub(crate) async fn cancel(session: Session) -> HttpResponse {
    FlowSession::new(&session).clear_plans();
    no_store(
        HttpResponse::Found()
            .insert_header((header::LOCATION, "/"))
            .finish(),
    )
}

/// Any other path under `/api/v3`.
pub(crate) async fn not_found() -> HttpResponse {
    AuthentikError::FlowNotFound.to_response()
}

/// Whether the request declares a JSON body (`application/json`, parameters allowed), the only
/// kind a challenge response may be.
fn declares_json(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads the whole body, refusing more than `limit` bytes, and parses it as a JSON object.
async fn read_object(
    payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, AuthentikError> {
    flow_http::read_json_object(payload, limit)
        .await
        .map_err(|error| match error {
            BodyError::Unreadable => AuthentikError::BodyUnreadable,
            BodyError::TimedOut => AuthentikError::RequestTimeout,
            BodyError::TooLarge { limit } => AuthentikError::PayloadTooLarge(limit),
            BodyError::InvalidJson { .. } | BodyError::NotAnObject => {
                AuthentikError::InvalidJson(error.to_string())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_pks_are_stable_and_fit_javascript_numbers() {
        let id = "0190f2a4-5b6c-7d8e-9f00-112233445566";
        assert_eq!(numeric_pk(id), 0x0190_f2a4_5b6c);
        assert!(numeric_pk("ffffffff-ffff-ffff-ffff-ffffffffffff") < (1u64 << 53));
        assert_eq!(numeric_pk("not-a-uuid"), 0);
    }
}
