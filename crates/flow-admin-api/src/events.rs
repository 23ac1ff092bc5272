//! `GET /api/admin/events`: the event log, newest first, with filters and cursor paging.

use actix_web::{HttpRequest, HttpResponse, web};
use flow_engine::{Accounts, EventKind, EventOutcome, EventQuery, UserId};
use serde::Deserialize;

use crate::dto::{EventList, EventView};
use crate::error::ErrorBody;
use crate::routes::{decode_cursor, encode_cursor, on_service, parse_limit, tenant};
use crate::users::{query, seconds};
use crate::{Admin, AdminError, AdminState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventParams {
    limit: Option<String>,
    cursor: Option<String>,
    kind: Option<String>,
    outcome: Option<String>,
    user_id: Option<String>,
    flow_id: Option<String>,
    from: Option<String>,
    before: Option<String>,
}

/// A query parameter that must be one of a closed set of spellings.
fn one_of<T>(
    parameter: &'static str,
    text: Option<String>,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<Option<T>, AdminError> {
    text.map(|text| {
        parse(&text).ok_or_else(|| AdminError::InvalidQuery {
            parameter,
            message: format!("must be one of {allowed}"),
        })
    })
    .transpose()
}

/// Unix seconds to milliseconds, saturating.
fn millis(seconds: Option<i64>) -> Option<i64> {
    seconds.map(|seconds| seconds.saturating_mul(1000))
}

/// The event log, newest first: sign-ins and their failures, registrations, recoveries,
/// lockouts, password and credential changes, administrators' changes.
#[utoipa::path(
    get,
    path = "/api/admin/events",
    operation_id = "list_events",
    tag = "events",
    params(
        ("kind" = Option<String>, Query, description = "`sign_in`, `registration`, `recovery`, `lockout`, `password_change`, `credential_added`, `credential_removed` or `admin`."),
        ("outcome" = Option<String>, Query, description = "`success` or `failure`."),
        ("user_id" = Option<String>, Query, description = "Only events of this user."),
        ("flow_id" = Option<String>, Query, description = "Only events of this flow."),
        ("from" = Option<i64>, Query, description = "Only events at or after this time (Unix seconds)."),
        ("before" = Option<i64>, Query, description = "Only events before this time (Unix seconds)."),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 100 (default 20)."),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from the previous page's `cursor`."),
    ),
    responses(
        (status = 200, description = "One page of events, newest first; `cursor` is `null` on the last page.", body = EventList),
        (status = 400, description = "An unknown parameter, or a bad `kind`, `outcome`, time, `limit` or `cursor` (`invalid_query`).", body = ErrorBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 503, description = "The store is down (`store_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn list_events(
    _: Admin,
    request: HttpRequest,
    state: web::Data<AdminState>,
) -> Result<HttpResponse, AdminError> {
    let params: EventParams = query(&request)?;
    let kinds = "sign_in, registration, recovery, lockout, password_change, credential_added, \
                 credential_removed, admin";
    let query = EventQuery {
        kind: one_of("kind", params.kind, EventKind::parse, kinds)?,
        outcome: one_of(
            "outcome",
            params.outcome,
            EventOutcome::parse,
            "success, failure",
        )?,
        user_id: params.user_id.map(UserId::new),
        flow_id: params.flow_id,
        from_ms: millis(seconds("from", params.from)?),
        before_ms: millis(seconds("before", params.before)?),
        before_id: params
            .cursor
            .map(|cursor| decode_cursor(&cursor))
            .transpose()?,
        limit: parse_limit(params.limit.as_deref())?,
    };
    let tenant = tenant(&request);
    let (events, next) = on_service(state.accounts.clone(), move |service: &Accounts| {
        service.events(&tenant, query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(EventList {
        items: events.iter().map(EventView::from).collect(),
        cursor: next.as_deref().map(encode_cursor),
    }))
}
