//! The execute handler: read the body, decide start or continue, call the catalog and the
//! engine on the blocking pool, render the outcome. Every flow rule lives in the engine.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use flow_engine::{ExecutionId, FlowType, Outcome, RequestContext, Submission, TenantId};

use crate::body::read_object;
use crate::render::{engine_flow_type, render, wso2_flow_type};
use crate::request::ExecuteRequest;
use crate::{Assertions, Wso2Error, Wso2State};

/// An error and the flow type to report with it, when known.
type Failure = (Wso2Error, Option<FlowType>);
/// A started execution: id, type, outcome, user assertion.
type Started = (ExecutionId, FlowType, Outcome, Option<String>);
/// A continued execution: type, outcome, user assertion.
type Continued = (FlowType, Outcome, Option<String>);

/// The user assertion of a completion that signs the user in (auto-login), else `None`.
fn assertion_for(
    assertions: &Assertions,
    issuer: &str,
    flow_type: FlowType,
    outcome: &Outcome,
) -> Result<Option<String>, Wso2Error> {
    match outcome {
        Outcome::Complete {
            user_id: Some(user_id),
            sign_in: true,
            methods,
            ..
        } => assertions
            .sign(
                issuer,
                user_id.as_str(),
                methods.clone(),
                wso2_flow_type(flow_type),
            )
            .map(Some),
        _ => Ok(None),
    }
}

/// `GET /oauth2/jwks` and `GET /.well-known/jwks.json`: every public signing key.
pub(crate) async fn jwks(state: web::Data<Wso2State>) -> HttpResponse {
    let assertions = state.assertions.clone();
    match web::block(move || assertions.jwks()).await {
        Ok(Ok(set)) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .json(set),
        Ok(Err(error)) => error.to_response(None),
        Err(_) => Wso2Error::Internal.to_response(None),
    }
}

/// The tenant of a request. Single-tenant for now: everything runs in the built-in `default`
/// tenant; resolving tenants (WSO2's `/t/{tenant}` prefix, the `Host` header) arrives with
/// tenant management.
fn tenant(_request: &HttpRequest) -> TenantId {
    TenantId::default()
}

/// `POST /api/server/v1/flow/execute` and `POST /flow/execute`.
pub(crate) async fn execute(
    state: web::Data<Wso2State>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let mut requested_type = None;
    match run(&state, &request, payload, &mut requested_type).await {
        Ok(response) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(response),
        Err((error, flow_type)) => {
            let flow_type = flow_type.map(wso2_flow_type).or(requested_type);
            error.to_response(flow_type.as_deref())
        }
    }
}

async fn run(
    state: &web::Data<Wso2State>,
    http: &HttpRequest,
    payload: web::Payload,
    requested_type: &mut Option<String>,
) -> Result<crate::dto::ExecuteResponse, Failure> {
    let object = read_object(payload, state.settings.body_limit)
        .await
        .map_err(|error| (error, None))?;
    let request = ExecuteRequest::from_object(object).map_err(|error| (error, None))?;
    // Report a requested type only when it is one we know, never echo arbitrary text.
    *requested_type = request
        .flow_type
        .as_deref()
        .and_then(engine_flow_type)
        .map(wso2_flow_type);
    let tenant = tenant(http);
    match request.flow_id.clone() {
        Some(flow_id) => continue_flow(state, tenant, flow_id, request).await,
        None => start_flow(state, request_context(http, tenant), request).await,
    }
}

/// What the engine may know about the request that starts an execution.
fn request_context(http: &HttpRequest, tenant: TenantId) -> RequestContext {
    let text = |name: header::HeaderName| {
        http.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    // The peer address only: forwarded headers are trusted by the server's middleware, not
    // here.
    RequestContext::from_request(
        tenant,
        http.peer_addr().map(|address| address.ip().to_string()),
        text(header::USER_AGENT),
        text(header::ORIGIN),
        text(header::ACCEPT_LANGUAGE),
    )
}

/// Starts the default flow of `flowType`, or the active flow `flowName`. Inputs sent with the
/// start are submitted to the first step right away, as WSO2 allows.
async fn start_flow(
    state: &web::Data<Wso2State>,
    context: RequestContext,
    request: ExecuteRequest,
) -> Result<crate::dto::ExecuteResponse, Failure> {
    let requested = match request.flow_type.as_deref() {
        None => None,
        Some(text) => Some(
            engine_flow_type(text)
                .ok_or_else(|| (Wso2Error::InvalidFlowType(text.to_owned()), None))?,
        ),
    };
    if requested.is_none() && request.flow_name.is_none() {
        return Err((Wso2Error::FlowTypeMissing, None));
    }
    let engine = state.engine.clone();
    let catalog = state.catalog.clone();
    let ExecuteRequest {
        flow_name,
        action_id,
        inputs,
        ..
    } = request;
    let assertions = state.assertions.clone();
    let issuer = state.settings.public_url.clone();
    let result = web::block(move || -> Result<Started, Failure> {
        let tenant = context.tenant.clone();
        let program = match (&flow_name, requested) {
            (Some(name), _) => {
                let program = catalog
                    .program_for_name(&tenant, name)
                    .map_err(|error| (Wso2Error::from_catalog(error, name), requested))?;
                if let Some(requested) = requested
                    && requested != program.flow_type
                {
                    return Err((
                        Wso2Error::InvalidFlowType(wso2_flow_type(requested)),
                        Some(program.flow_type),
                    ));
                }
                program
            }
            (None, Some(flow_type)) => {
                catalog
                    .program_for_type(&tenant, flow_type)
                    .map_err(|error| {
                        (
                            Wso2Error::from_catalog(error, &wso2_flow_type(flow_type)),
                            Some(flow_type),
                        )
                    })?
            }
            (None, None) => return Err((Wso2Error::FlowTypeMissing, None)),
        };
        let flow_type = program.flow_type;
        let (id, outcome) = engine
            .start_via(crate::CHANNEL, &program, context)
            .map_err(|error| (Wso2Error::from_engine(error, "(new)"), Some(flow_type)))?;
        let outcome = if !inputs.is_empty() && matches!(outcome, Outcome::Prompt(_)) {
            engine
                .resume_via(
                    crate::CHANNEL,
                    &tenant,
                    &id,
                    Submission { action_id, inputs },
                )
                .map_err(|error| {
                    (
                        Wso2Error::from_engine(error, &id.to_string()),
                        Some(flow_type),
                    )
                })?
        } else {
            outcome
        };
        let assertion = assertion_for(&assertions, &issuer, flow_type, &outcome)
            .map_err(|error| (error, Some(flow_type)))?;
        Ok((id, flow_type, outcome, assertion))
    })
    .await
    .map_err(|_| (Wso2Error::Internal, None))?;
    let (id, flow_type, outcome, assertion) = result?;
    render(id.to_string(), flow_type, outcome, assertion).map_err(|error| (error, Some(flow_type)))
}

/// The inputs under the engine's names: the seed's `tokenResponse` is the passkey credential
/// (the engine reads its base64url as well as plain JSON).
fn engine_inputs(
    mut inputs: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    if let Some(token) = inputs.remove(crate::render::WEBAUTHN_PARAM) {
        inputs
            .entry(flow_engine::FIELD_CREDENTIAL.to_owned())
            .or_insert(token);
    }
    inputs
}

/// Continues execution `flow_id` with the action and inputs; a resent `flowType` is ignored
/// (the execution knows its type), as WSO2 does.
async fn continue_flow(
    state: &web::Data<Wso2State>,
    tenant: TenantId,
    flow_id: String,
    request: ExecuteRequest,
) -> Result<crate::dto::ExecuteResponse, Failure> {
    let id = ExecutionId::parse(&flow_id)
        .ok_or_else(|| (Wso2Error::InvalidFlowId(flow_id.clone()), None))?;
    let engine = state.engine.clone();
    let submission = Submission {
        action_id: request.action_id,
        inputs: engine_inputs(request.inputs),
    };
    let shown_id = flow_id.clone();
    let assertions = state.assertions.clone();
    let issuer = state.settings.public_url.clone();
    let result = web::block(move || -> Result<Continued, Failure> {
        let invalid = || (Wso2Error::InvalidFlowId(shown_id.clone()), None);
        let opened = match engine.open_via(crate::CHANNEL, &tenant, &id) {
            Ok(opened) => opened,
            Err(flow_engine::EngineError::NotFound) => return Err(invalid()),
            Err(error) => return Err((Wso2Error::from_engine(error, &shown_id), None)),
        };
        let flow_type = opened.flow_type();
        let outcome = engine
            .proceed(opened, submission)
            .map_err(|error| (Wso2Error::from_engine(error, &shown_id), Some(flow_type)))?;
        let assertion = assertion_for(&assertions, &issuer, flow_type, &outcome)
            .map_err(|error| (error, Some(flow_type)))?;
        Ok((flow_type, outcome, assertion))
    })
    .await
    .map_err(|_| (Wso2Error::Internal, None))?;
    let (flow_type, outcome, assertion) = result?;
    render(id.to_string(), flow_type, outcome, assertion).map_err(|error| (error, Some(flow_type)))
}
