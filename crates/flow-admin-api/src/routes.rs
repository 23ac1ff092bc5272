//! The handlers: extract, convert to the catalog's types, call it on the blocking pool, convert
//! back. Every rule lives in `flow_engine::FlowCatalog`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use flow_engine::{
    CatalogError, Engine, EngineError, ExecutionId, FlowCatalog, FlowPatch, FlowQuery,
    InvitationError, InvitationId, InvitationService, NewFlow, TenantId,
};
use flow_model::{Flow, FlowName, FlowStatus, FlowType, Graph, Report};
use serde::Deserialize;

use crate::body::{read_object, require, take};
use crate::dto::{
    Activated, Compiled, CreatedFlow, Deactivated, FlowDetails, FlowList, FlowSummary,
    InvitationList, InvitationView, Trace, ValidationReport,
};
use crate::error::ErrorBody;
use crate::{Admin, AdminError, AdminState, identity_providers, node_types};

/// Default page size of the list.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size of the list.
pub const MAX_LIMIT: usize = 100;

type Result<T, E = AdminError> = std::result::Result<T, E>;

/// The tenant of a request. Single-tenant for now: everything is the built-in `default`
/// tenant; resolving tenants from the `Host` header arrives with tenant management.
pub(crate) fn tenant(_request: &HttpRequest) -> TenantId {
    TenantId::default()
}

/// Runs a catalog call on the blocking pool (the repository may be a database).
async fn catalog<T, F>(state: &web::Data<AdminState>, call: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&FlowCatalog) -> Result<T, CatalogError> + Send + 'static,
{
    let catalog = state.catalog.clone();
    web::block(move || call(&catalog))
        .await
        .map_err(|_| AdminError::Internal)?
        .map_err(AdminError::from)
}

/// Runs `call` (a compile or an activation of flow `id`) on the blocking pool like
/// [`catalog`]; when the flow does not validate, the 422's report also holds the admin API's
/// own warnings.
async fn catalog_validating<T, F>(
    state: &web::Data<AdminState>,
    tenant: TenantId,
    id: String,
    call: F,
) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&FlowCatalog, &TenantId, &str) -> Result<T, CatalogError> + Send + 'static,
{
    let catalog = state.catalog.clone();
    let engine = state.engine.clone();
    web::block(move || match call(&catalog, &tenant, &id) {
        Err(CatalogError::Invalid(report)) => Err(invalid_flow(
            &catalog,
            engine.as_deref(),
            &tenant,
            &id,
            report,
        )),
        other => other.map_err(AdminError::from),
    })
    .await
    .map_err(|_| AdminError::Internal)?
}

/// The 422 of flow `id` with the validator's `report` and the admin API's warnings. The
/// request fails anyway, so a store failure here only leaves those warnings out.
fn invalid_flow(
    catalog: &FlowCatalog,
    engine: Option<&Engine>,
    tenant: &TenantId,
    id: &str,
    report: Report,
) -> AdminError {
    let extra = match catalog.get(tenant, id) {
        Ok(stored) => identity_providers::flow_warnings(engine, tenant, &stored.flow)
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "identity providers unreadable: the report lacks their warnings");
                Vec::new()
            }),
        Err(_) => Vec::new(),
    };
    AdminError::InvalidFlow(Box::new(ValidationReport::new(report, extra)))
}

#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
    #[serde(rename = "type")]
    flow_type: Option<String>,
    status: Option<String>,
}

fn parse_list_query(request: &HttpRequest) -> Result<FlowQuery> {
    let params = web::Query::<ListParams>::from_query(request.query_string())
        .map_err(|error| AdminError::InvalidQuery {
            parameter: "query",
            message: error.to_string(),
        })?
        .into_inner();
    let limit = parse_limit(params.limit.as_deref())?;
    let flow_type = params
        .flow_type
        .map(|text| {
            serde_json::from_value::<FlowType>(serde_json::Value::String(text)).map_err(|_| {
                AdminError::InvalidQuery {
                    parameter: "type",
                    message: "unknown flow type".to_owned(),
                }
            })
        })
        .transpose()?;
    let status = params
        .status
        .map(|text| {
            serde_json::from_value::<FlowStatus>(serde_json::Value::String(text)).map_err(|_| {
                AdminError::InvalidQuery {
                    parameter: "status",
                    message: "must be active, inactive or draft".to_owned(),
                }
            })
        })
        .transpose()?;
    let after = params
        .cursor
        .map(|cursor| decode_cursor(&cursor))
        .transpose()?;
    Ok(FlowQuery {
        flow_type,
        status,
        after,
        limit,
    })
}

/// The `limit` query parameter: [`DEFAULT_LIMIT`] when absent, else 1 to [`MAX_LIMIT`].
pub(crate) fn parse_limit(text: Option<&str>) -> Result<usize> {
    match text {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            _ => Err(AdminError::InvalidQuery {
                parameter: "limit",
                message: format!("must be an integer from 1 to {MAX_LIMIT}"),
            }),
        },
    }
}

/// Cursors are opaque to clients: `c1` + the hex of the last id of the previous page.
pub(crate) fn encode_cursor(id: &str) -> String {
    format!("c1{}", hex::encode(id))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<String> {
    let invalid = || AdminError::InvalidQuery {
        parameter: "cursor",
        message: "not a well-formed cursor".to_owned(),
    };
    let hex = cursor.strip_prefix("c1").ok_or_else(invalid)?;
    if hex.len() % 2 != 0 || hex.len() > 400 {
        return Err(invalid());
    }
    let bytes = hex::decode(hex).map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

/// List flows (ordered by id) with filters and an opaque cursor.
#[utoipa::path(
    get,
    path = "/api/admin/flows",
    operation_id = "list_flows",
    tag = "flows",
    params(
        ("limit" = Option<u32>, Query, description = "Page size: 1 to 100 (default 20); other values are 400 `invalid_query`.", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from the previous page's `cursor`."),
        ("type" = Option<crate::schemas::FlowType>, Query, description = "Only flows of this type."),
        ("status" = Option<crate::schemas::FlowStatus>, Query, description = "Only flows with this status."),
    ),
    responses(
        (status = 200, description = "One page of flows; `total` counts all matches; `cursor` is `null` on the last page.", body = FlowList),
        (status = 400, description = "A bad query parameter (`invalid_query`, naming it).", body = ErrorBody,
            example = json!({"code": "invalid_query", "message": "query parameter limit: must be an integer from 1 to 100", "details": {"parameter": "limit"}})),
        (status = 401, response = crate::openapi::Unauthorized),
    )
)]
pub(crate) async fn list_flows(
    _: Admin,
    request: HttpRequest,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let query = parse_list_query(&request)?;
    let tenant = tenant(&request);
    let page = catalog(&state, move |catalog| catalog.list(&tenant, &query)).await?;
    Ok(HttpResponse::Ok().json(FlowList {
        items: page.items.iter().map(FlowSummary::from).collect(),
        total: page.total,
        cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// Get a flow with its full graph.
#[utoipa::path(
    get,
    path = "/api/admin/flows/{id}",
    operation_id = "get_flow",
    tag = "flows",
    params(
        ("id" = String, Path, description = "Flow id", example = "flow_social_login"),
    ),
    responses(
        (status = 200, description = "The flow.", body = FlowDetails),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::FlowNotFound),
    )
)]
pub(crate) async fn get_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let stored = catalog(&state, move |catalog| catalog.get(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(FlowDetails::from(&stored)))
}

/// Fields of a flow the server manages, which a create body may not hold (400
/// `invalid_request` naming the field): a new flow is always a draft at version 1, not
/// compiled, not the default, with the server's id and timestamps.
const CREATE_MANAGED: &[&str] = &[
    "id",
    "status",
    "version",
    "compiled",
    "compiled_at",
    "is_default",
    "created_at",
    "updated_at",
    "activated_at",
    "deactivated_at",
];

/// Fields a PUT body may not hold: the managed ones, and the name and type, which are fixed
/// at creation.
const UPDATE_MANAGED: &[&str] = &[
    "id",
    "name",
    "type",
    "status",
    "version",
    "compiled",
    "compiled_at",
    "created_at",
    "updated_at",
    "activated_at",
    "deactivated_at",
];

/// Refuses a body holding any of the `managed` fields, naming the first one.
fn refuse_managed(
    body: &serde_json::Map<String, serde_json::Value>,
    managed: &[&str],
    message: &str,
) -> Result<()> {
    match managed.iter().find(|field| body.contains_key(**field)) {
        Some(field) => Err(AdminError::InvalidRequest {
            field: (*field).to_owned(),
            message: message.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Create a flow: a draft at version 1, not compiled. Drafts may hold invalid graphs.
#[utoipa::path(
    post,
    path = "/api/admin/flows",
    operation_id = "create_flow",
    tag = "flows",
    request_body(content = crate::schemas::CreateFlowRequest, description = "The new flow.", example = crate::schemas::examples::create_flow),
    responses(
        (status = 201, description = "Created.", body = CreatedFlow,
            headers(("Location" = String, description = "`/api/admin/flows/{id}` of the new flow"))),
        (status = 400, description = "Malformed JSON or a repeated key (`invalid_json`, with line and column), a missing or ill-typed field (`invalid_request`, with its path), a server-managed field such as `status`, `id` or `is_default` (`invalid_request`), or a name that breaks the naming rule (`invalid_name`).", body = ErrorBody,
            example = json!({"code": "invalid_request", "message": "graph.nodes[1].type: missing field", "details": {"field": "graph.nodes[1].type"}})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 409, description = "Another flow already has this name (`name_taken`).", body = ErrorBody,
            example = json!({"code": "name_taken", "message": "a flow named \"social-login\" already exists"})),
        (status = 413, description = "The body is larger than the server's limit (`payload_too_large`).", body = ErrorBody,
            example = json!({"code": "payload_too_large", "message": "the body is larger than 1048576 bytes", "details": {"limit": 1048576}})),
    )
)]
pub(crate) async fn create_flow(
    _: Admin,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let mut body = read_object(payload, state.body_limit).await?;
    refuse_managed(
        &body,
        CREATE_MANAGED,
        "cannot be set on create: the server manages it; a flow becomes active through activate and the default of its type through PUT",
    )?;
    let name: String = require(&mut body, "name")?;
    let name = FlowName::parse(&name).map_err(|_| AdminError::InvalidName)?;
    let display_name: String = require(&mut body, "display_name")?;
    let description: Option<String> = take(&mut body, "description")?;
    let flow_type: FlowType = require(&mut body, "type")?;
    let graph: Graph = require(&mut body, "graph")?;
    let new = NewFlow {
        name,
        display_name,
        description,
        flow_type,
        graph,
        extra: body,
    };
    let tenant = tenant(&request);
    let stored = catalog(&state, move |catalog| catalog.create(&tenant, new)).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/admin/flows/{}", stored.flow.id),
        ))
        .json(CreatedFlow::from(&stored)))
}

/// Update a flow's display name, description, graph or default mark; a changed graph
/// clears `compiled`.
#[utoipa::path(
    put,
    path = "/api/admin/flows/{id}",
    operation_id = "update_flow",
    tag = "flows",
    params(
        ("id" = String, Path, description = "Flow id", example = "flow_social_login"),
    ),
    request_body(content = crate::schemas::UpdateFlowRequest, description = "The fields to change.", example = crate::schemas::examples::update_flow),
    responses(
        (status = 200, description = "The updated flow.", body = FlowDetails),
        (status = 400, description = "Malformed JSON (`invalid_json`, with line and column), a missing or ill-typed field (`invalid_request`, with its path), or a server-managed field such as `name` or `status` (`invalid_request`).", body = ErrorBody,
            example = json!({"code": "invalid_request", "message": "graph.nodes[1].type: missing field", "details": {"field": "graph.nodes[1].type"}})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::FlowNotFound),
        (status = 413, description = "The body is larger than the server's limit (`payload_too_large`).", body = ErrorBody,
            example = json!({"code": "payload_too_large", "message": "the body is larger than 1048576 bytes", "details": {"limit": 1048576}})),
    )
)]
pub(crate) async fn update_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let mut body = read_object(payload, state.body_limit).await?;
    refuse_managed(
        &body,
        UPDATE_MANAGED,
        "cannot be changed with PUT; only display_name, description, graph and is_default can",
    )?;
    let patch = FlowPatch {
        display_name: take(&mut body, "display_name")?,
        description: take(&mut body, "description")?,
        graph: take(&mut body, "graph")?,
        extra: Default::default(),
    };
    let is_default: Option<bool> = take(&mut body, "is_default")?;
    let patch = FlowPatch {
        extra: body,
        ..patch
    };
    let (tenant, id) = (tenant(&request), path.into_inner());
    let stored = catalog(&state, move |catalog| {
        let updated = catalog.update(&tenant, &id, patch)?;
        match is_default {
            Some(flag) => catalog.set_default(&tenant, &id, flag),
            None => Ok(updated),
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(FlowDetails::from(&stored)))
}

/// Delete a flow and its compiled versions; executions in flight keep running.
#[utoipa::path(
    delete,
    path = "/api/admin/flows/{id}",
    operation_id = "delete_flow",
    tag = "flows",
    params(
        ("id" = String, Path, description = "Flow id", example = "flow_social_login"),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::FlowNotFound),
    )
)]
pub(crate) async fn delete_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    catalog(&state, move |catalog| catalog.delete(&tenant, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Validate a flow's current graph: 200 with the report, valid or not. Besides the
/// validator's findings, a `social_provider_select` node naming an identity provider the
/// tenant has not configured is a warning (`social_provider_not_configured`).
#[utoipa::path(
    post,
    path = "/api/admin/flows/{id}/validate",
    operation_id = "validate_flow",
    tag = "flows",
    params(
        ("id" = String, Path, description = "Flow id", example = "flow_social_login"),
    ),
    responses(
        (status = 200, description = "The validator's report.", body = crate::schemas::Report),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::FlowNotFound),
    )
)]
pub(crate) async fn validate_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let catalog = state.catalog.clone();
    let engine = state.engine.clone();
    let report = web::block(move || {
        let stored = catalog.get(&tenant, &id)?;
        let report = catalog.validate(&tenant, &id)?;
        let extra = identity_providers::flow_warnings(engine.as_deref(), &tenant, &stored.flow)
            .map_err(AdminError::ProviderStore)?;
        Ok::<_, AdminError>(ValidationReport::new(report, extra))
    })
    .await
    .map_err(|_| AdminError::Internal)??;
    Ok(HttpResponse::Ok().json(report))
}

/// Compile a flow's current graph into a new version.
#[utoipa::path(
    post,
    path = "/api/admin/flows/{id}/compile",
    operation_id = "compile_flow",
    tag = "flows",
    params(
        ("id" = String, Path, description = "Flow id", example = "flow_social_login"),
    ),
    responses(
        (status = 200, description = "Compiled.", body = Compiled),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::FlowNotFound),
        (status = 422, description = "The flow does not validate (`invalid_flow`); `details` is the validator's report.", body = ErrorBody,
            example = json!({"code": "invalid_flow", "message": "the flow is invalid; see details", "details": {"valid": false, "errors": [{"code": "missing_start_node", "message": "Flow is missing a start node"}], "warnings": []}})),
    )
)]
pub(crate) async fn compile_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let stored = catalog_validating(&state, tenant, id, |catalog, tenant, id| {
        catalog.compile(tenant, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Compiled {
        id: stored.flow.id,
        compiled: stored.flow.compiled,
        compiled_at: stored.flow.compiled_at,
        version: stored.flow.version,
    }))
}

/// Activate a flow, compiling it first if needed.
#[utoipa::path(
    post,
    path = "/api/admin/flows/{id}/activate",
    operation_id = "activate_flow",
    tag = "flows",
    params(
        ("id" = String, Path, description = "Flow id", example = "flow_social_login"),
    ),
    responses(
        (status = 200, description = "Active.", body = Activated),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::FlowNotFound),
        (status = 422, description = "The flow does not validate (`invalid_flow`); `details` is the validator's report.", body = ErrorBody,
            example = json!({"code": "invalid_flow", "message": "the flow is invalid; see details", "details": {"valid": false, "errors": [{"code": "missing_start_node", "message": "Flow is missing a start node"}], "warnings": []}})),
    )
)]
pub(crate) async fn activate_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let stored = catalog_validating(&state, tenant, id, |catalog, tenant, id| {
        catalog.activate(tenant, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Activated {
        id: stored.flow.id,
        status: stored.flow.status,
        activated_at: stored.activated_at,
    }))
}

/// Deactivate a flow: no new execution starts on it; those in flight finish.
#[utoipa::path(
    post,
    path = "/api/admin/flows/{id}/deactivate",
    operation_id = "deactivate_flow",
    tag = "flows",
    params(
        ("id" = String, Path, description = "Flow id", example = "flow_social_login"),
    ),
    responses(
        (status = 200, description = "Inactive.", body = Deactivated),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::FlowNotFound),
    )
)]
pub(crate) async fn deactivate_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let stored = catalog(&state, move |catalog| catalog.deactivate(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(Deactivated {
        id: stored.flow.id,
        status: stored.flow.status,
        deactivated_at: stored.deactivated_at,
    }))
}

/// Extension: export a flow as a document that import reads back.
#[utoipa::path(
    get,
    path = "/api/admin/flows/{id}/export",
    operation_id = "export_flow",
    tag = "extensions",
    params(
        ("id" = String, Path, description = "Flow id", example = "flow_social_login"),
    ),
    responses(
        (status = 200, description = "The flow document, as an attachment.", body = crate::schemas::Flow,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"<name>.json\"`"))),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::FlowNotFound),
    )
)]
pub(crate) async fn export_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let flow = catalog(&state, move |catalog| catalog.export(&tenant, &id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.json\"", flow.name),
        ))
        .json(&flow))
}

/// Extension: import a flow document (an export, a fixture) as a new draft.
#[utoipa::path(
    post,
    path = "/api/admin/flows/import",
    operation_id = "import_flow",
    tag = "extensions",
    request_body(content = crate::schemas::ImportFlowRequest, description = "A flow document."),
    responses(
        (status = 201, description = "Imported as a new draft.", body = FlowDetails,
            headers(("Location" = String, description = "`/api/admin/flows/{id}` of the new flow"))),
        (status = 400, description = "Malformed JSON or a repeated key (`invalid_json`, with line and column), a missing or ill-typed field (`invalid_request`, with its path), a server-managed field such as `status`, `id` or `is_default` (`invalid_request`), or a name that breaks the naming rule (`invalid_name`).", body = ErrorBody,
            example = json!({"code": "invalid_request", "message": "graph.nodes[1].type: missing field", "details": {"field": "graph.nodes[1].type"}})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 409, description = "Another flow already has this name (`name_taken`).", body = ErrorBody,
            example = json!({"code": "name_taken", "message": "a flow named \"social-login\" already exists"})),
        (status = 413, description = "The body is larger than the server's limit (`payload_too_large`).", body = ErrorBody,
            example = json!({"code": "payload_too_large", "message": "the body is larger than 1048576 bytes", "details": {"limit": 1048576}})),
    )
)]
pub(crate) async fn import_flow(
    _: Admin,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let body = read_object(payload, state.body_limit).await?;
    let flow = Flow::from_value(serde_json::Value::Object(body)).map_err(|error| match error {
        flow_model::ModelError::InvalidField { path, .. } if path == "name" => {
            AdminError::InvalidName
        }
        other => AdminError::InvalidRequest {
            field: other.path().unwrap_or(".").to_owned(),
            message: other.to_string(),
        },
    })?;
    let tenant = tenant(&request);
    let stored = catalog(&state, move |catalog| catalog.import(&tenant, flow)).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/admin/flows/{}", stored.flow.id),
        ))
        .json(FlowDetails::from(&stored)))
}

/// Extension: the catalogue of built-in node types with their config fields.
#[utoipa::path(
    get,
    path = "/api/admin/node-types",
    operation_id = "list_node_types",
    tag = "extensions",
    responses(
        (status = 200, description = "The catalogue.", body = crate::schemas::NodeTypeCatalogue),
        (status = 401, response = crate::openapi::Unauthorized),
    )
)]
pub(crate) async fn node_types(_: Admin) -> HttpResponse {
    HttpResponse::Ok().json(node_types::catalogue())
}

/// Extension: the engine's step trace of one flow execution.
#[utoipa::path(
    get,
    path = "/api/admin/executions/{id}/trace",
    operation_id = "get_execution_trace",
    tag = "extensions",
    params(
        ("id" = String, Path, description = "Execution id"),
    ),
    responses(
        (status = 200, description = "The steps run, oldest first.", body = Trace),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No execution has this id (`execution_not_found`).", body = ErrorBody,
            example = json!({"code": "execution_not_found", "message": "no such flow execution"})),
        (status = 503, description = "The execution store is unavailable (`store_unavailable`): an outage is never a 404.", body = ErrorBody,
            example = json!({"code": "store_unavailable", "message": "the execution store is unavailable"})),
    )
)]
pub(crate) async fn execution_trace(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let text = path.into_inner();
    let id = ExecutionId::parse(&text).ok_or(AdminError::ExecutionNotFound)?;
    let engine = state.engine.clone().ok_or(AdminError::ExecutionNotFound)?;
    let tenant = tenant(&request);
    let steps = web::block(move || engine.trace(&tenant, &id))
        .await
        .map_err(|_| AdminError::Internal)?
        .map_err(|error| match error {
            EngineError::Store(cause) => AdminError::ExecutionStore(cause),
            EngineError::NotFound | EngineError::Expired => AdminError::ExecutionNotFound,
            _ => AdminError::Internal,
        })?;
    Ok(HttpResponse::Ok().json(Trace {
        execution_id: text,
        steps,
    }))
}

/// Runs `call` on `service` in the blocking pool (stores may be databases, mailers SMTP);
/// without the service (`None`) its endpoints do not exist.
pub(crate) async fn on_service<S, T, E, F>(service: Option<Arc<S>>, call: F) -> Result<T>
where
    S: Send + Sync + 'static,
    T: Send + 'static,
    E: Into<AdminError> + Send + 'static,
    F: FnOnce(&S) -> Result<T, E> + Send + 'static,
{
    let service = service.ok_or(AdminError::NoRoute)?;
    web::block(move || call(&service))
        .await
        .map_err(|_| AdminError::Internal)?
        .map_err(Into::into)
}

/// Runs an invitation call on the blocking pool.
async fn invitations<T, F>(state: &web::Data<AdminState>, call: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&InvitationService) -> Result<T, InvitationError> + Send + 'static,
{
    on_service(state.invitations.clone(), call).await
}

/// Invite someone by e-mail: stores an invitation and mails its one-time code and link. The
/// code is not in the answer.
#[utoipa::path(
    post,
    path = "/api/admin/invitations",
    operation_id = "create_invitation",
    tag = "invitations",
    request_body(content = crate::schemas::CreateInvitationRequest, description = "Whom to invite.",
        example = json!({"email": "ada@example.com", "expires_in": 86400})),
    responses(
        (status = 201, description = "Created, and the mail sent (status `pending`).", body = InvitationView,
            headers(("Location" = String, description = "`/api/admin/invitations/{id}` of the new invitation")),
            example = json!({"id": "inv_3f9a1c07b2d45e68", "email": "ada@example.com", "status": "pending", "created_at": 1700000000, "expires_at": 1700086400})),
        (status = 400, description = "Malformed JSON (`invalid_json`), a missing or ill-typed field (`invalid_request`), not an e-mail address (`invalid_email`), or `expires_in` outside 60 to 2592000 seconds (`invalid_expiry`).", body = ErrorBody,
            example = json!({"code": "invalid_expiry", "message": "expires_in must be from 60 to 2592000 seconds", "details": {"field": "expires_in", "min": 60, "max": 2592000}})),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 413, description = "The body is larger than the server's limit (`payload_too_large`).", body = ErrorBody,
            example = json!({"code": "payload_too_large", "message": "the body is larger than 1048576 bytes", "details": {"limit": 1048576}})),
        (status = 503, description = "The mail could not be sent (`mail_unavailable`; the invitation is revoked, invite again) or the store is down (`store_unavailable`).", body = ErrorBody,
            example = json!({"code": "mail_unavailable", "message": "the invitation mail could not be sent; the invitation was revoked"})),
    )
)]
pub(crate) async fn create_invitation(
    _: Admin,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let mut object = read_object(payload, state.body_limit).await?;
    let email: String = require(&mut object, "email")?;
    let expires_in: Option<i64> = take(&mut object, "expires_in")?;
    let tenant = tenant(&request);
    let (invitation, now) = invitations(&state, move |service| {
        let invitation = service.create(&tenant, &email, expires_in)?;
        Ok((invitation, service.now_secs()))
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/admin/invitations/{}", invitation.id),
        ))
        .json(InvitationView::new(&invitation, now)))
}

/// List the tenant's invitations, newest first, with their status (never their codes).
#[utoipa::path(
    get,
    path = "/api/admin/invitations",
    operation_id = "list_invitations",
    tag = "invitations",
    responses(
        (status = 200, description = "Every invitation, newest first.", body = InvitationList),
        (status = 401, response = crate::openapi::Unauthorized),
    )
)]
pub(crate) async fn list_invitations(
    _: Admin,
    request: HttpRequest,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let tenant = tenant(&request);
    let (list, now) = invitations(&state, move |service| {
        Ok((service.list(&tenant)?, service.now_secs()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(InvitationList {
        items: list
            .iter()
            .map(|invitation| InvitationView::new(invitation, now))
            .collect(),
    }))
}

/// Revoke an invitation: its code is refused from now on. A used invitation stays `used`
/// (the account exists); revoking twice changes nothing.
#[utoipa::path(
    delete,
    path = "/api/admin/invitations/{id}",
    operation_id = "revoke_invitation",
    tag = "invitations",
    params(
        ("id" = String, Path, description = "Invitation id", example = "inv_3f9a1c07b2d45e68"),
    ),
    responses(
        (status = 200, description = "The invitation after the call (`revoked`, or `used`).", body = InvitationView),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "No invitation has this id (`invitation_not_found`).", body = ErrorBody,
            example = json!({"code": "invitation_not_found", "message": "no such invitation"})),
    )
)]
pub(crate) async fn revoke_invitation(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), InvitationId::new(path.into_inner()));
    let (invitation, now) = invitations(&state, move |service| {
        Ok((service.revoke(&tenant, &id)?, service.now_secs()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(InvitationView::new(&invitation, now)))
}

/// Any other path or method under the admin scope.
pub(crate) async fn no_route() -> Result<HttpResponse> {
    Err(AdminError::NoRoute)
}
