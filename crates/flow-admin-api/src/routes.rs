//! The handlers: extract, convert to the catalog's types, call it on the blocking pool, convert
//! back. Every rule lives in `flow_engine::FlowCatalog`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use flow_engine::{
    CatalogError, ExecutionId, FlowCatalog, FlowPatch, FlowQuery, NewFlow, TenantId,
};
use flow_model::{Flow, FlowName, FlowStatus, FlowType, Graph};
use serde::Deserialize;

use crate::body::{read_object, require, take};
use crate::dto::{
    Activated, Compiled, CreatedFlow, Deactivated, FlowDetails, FlowList, FlowSummary, Trace,
};
use crate::{Admin, AdminError, AdminState, node_types};

/// Default page size of the list.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size of the list.
pub const MAX_LIMIT: usize = 100;

type Result<T, E = AdminError> = std::result::Result<T, E>;

/// The tenant of a request. Single-tenant for now: everything is the built-in `default`
/// tenant; resolving tenants from the `Host` header arrives with tenant management.
fn tenant(_request: &HttpRequest) -> TenantId {
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
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => {
                return Err(AdminError::InvalidQuery {
                    parameter: "limit",
                    message: format!("must be an integer from 1 to {MAX_LIMIT}"),
                });
            }
        },
    };
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

/// Cursors are opaque to clients: `c1` + the hex of the last id of the previous page.
fn encode_cursor(id: &str) -> String {
    let hex: String = id.bytes().map(|byte| format!("{byte:02x}")).collect();
    format!("c1{hex}")
}

fn decode_cursor(cursor: &str) -> Result<String> {
    let invalid = || AdminError::InvalidQuery {
        parameter: "cursor",
        message: "not a cursor this server issued".to_owned(),
    };
    let hex = cursor.strip_prefix("c1").ok_or_else(invalid)?;
    if hex.len() % 2 != 0 || hex.len() > 400 {
        return Err(invalid());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|at| {
            hex.get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

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

pub(crate) async fn create_flow(
    _: Admin,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let mut body = read_object(payload, state.body_limit).await?;
    let name: String = require(&mut body, "name")?;
    let name = FlowName::parse(&name).map_err(|_| AdminError::InvalidName)?;
    let display_name: String = require(&mut body, "display_name")?;
    let description: Option<String> = take(&mut body, "description")?;
    let flow_type: FlowType = require(&mut body, "type")?;
    let graph: Graph = require(&mut body, "graph")?;
    let is_default: Option<bool> = take(&mut body, "is_default")?;
    let new = NewFlow {
        name,
        display_name,
        description,
        flow_type,
        graph,
        extra: body,
    };
    let tenant = tenant(&request);
    let stored = catalog(&state, move |catalog| {
        let created = catalog.create(&tenant, new)?;
        match is_default {
            Some(true) => catalog.set_default(&tenant, &created.flow.id, true),
            _ => Ok(created),
        }
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/admin/flows/{}", stored.flow.id),
        ))
        .json(CreatedFlow::from(&stored)))
}

pub(crate) async fn update_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let mut body = read_object(payload, state.body_limit).await?;
    for managed in [
        "id",
        "name",
        "type",
        "status",
        "version",
        "compiled",
        "compiled_at",
        "created_at",
        "updated_at",
    ] {
        if body.contains_key(managed) {
            return Err(AdminError::InvalidRequest {
                field: managed.to_owned(),
                message: "cannot be changed with PUT; only display_name, description, graph and is_default can".to_owned(),
            });
        }
    }
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

pub(crate) async fn validate_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let report = catalog(&state, move |catalog| catalog.validate(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(report))
}

pub(crate) async fn compile_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let stored = catalog(&state, move |catalog| catalog.compile(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(Compiled {
        id: stored.flow.id,
        compiled: stored.flow.compiled,
        compiled_at: stored.flow.compiled_at,
        version: stored.flow.version,
    }))
}

pub(crate) async fn activate_flow(
    _: Admin,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let (tenant, id) = (tenant(&request), path.into_inner());
    let stored = catalog(&state, move |catalog| catalog.activate(&tenant, &id)).await?;
    Ok(HttpResponse::Ok().json(Activated {
        id: stored.flow.id,
        status: stored.flow.status,
        activated_at: stored.activated_at,
    }))
}

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

pub(crate) async fn node_types(_: Admin) -> HttpResponse {
    HttpResponse::Ok().json(node_types::catalogue())
}

pub(crate) async fn execution_trace(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse> {
    let text = path.into_inner();
    let id = ExecutionId::parse(&text).ok_or(AdminError::ExecutionNotFound)?;
    let engine = state.engine.clone().ok_or(AdminError::ExecutionNotFound)?;
    let steps = web::block(move || engine.trace(&id))
        .await
        .map_err(|_| AdminError::Internal)?
        .map_err(|_| AdminError::ExecutionNotFound)?;
    Ok(HttpResponse::Ok().json(Trace {
        execution_id: text,
        steps,
    }))
}

/// Any other path or method under the admin scope.
pub(crate) async fn no_route() -> Result<HttpResponse> {
    Err(AdminError::NoRoute)
}
