//! The OpenAPI document and the docs page: served without the token, complete (every operation,
//! status, the bearer scheme), true to the routes, and true to the real responses.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::test;
use flow_model::{FindingCode, FlowStatus, FlowType};
use serde_json::{Value, json};

use crate::support::{app, app_with_limit, call, seed, send};

const OPERATIONS: [&str; 38] = [
    "list_flows",
    "get_flow",
    "create_flow",
    "update_flow",
    "delete_flow",
    "validate_flow",
    "compile_flow",
    "activate_flow",
    "deactivate_flow",
    "export_flow",
    "import_flow",
    "list_node_types",
    "get_execution_trace",
    "create_invitation",
    "list_invitations",
    "revoke_invitation",
    "list_users",
    "get_user",
    "create_user",
    "delete_user",
    "unlock_user",
    "disable_user",
    "enable_user",
    "list_user_credentials",
    "import_users",
    "export_users",
    "list_events",
    "send_user_recovery_mail",
    "delete_user_passkey",
    "delete_user_credential",
    "update_user",
    "delete_user_identity_link",
    "list_identity_providers",
    "get_identity_provider",
    "create_identity_provider",
    "put_identity_provider",
    "delete_identity_provider",
    "get_webhook_secret",
];

/// The nine endpoints of seed 002.
const SEED_ENDPOINTS: [(&str, &str); 9] = [
    ("get", "/api/admin/flows"),
    ("get", "/api/admin/flows/{id}"),
    ("post", "/api/admin/flows"),
    ("put", "/api/admin/flows/{id}"),
    ("delete", "/api/admin/flows/{id}"),
    ("post", "/api/admin/flows/{id}/validate"),
    ("post", "/api/admin/flows/{id}/compile"),
    ("post", "/api/admin/flows/{id}/activate"),
    ("post", "/api/admin/flows/{id}/deactivate"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// Fetches the document without a token.
pub(crate) async fn document() -> Value {
    let app = app().await;
    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/admin/openapi.json")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get("content-type").unwrap();
    assert_eq!(content_type, "application/json");
    test::read_body_json(response).await
}

/// Every operation as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_owned(), path.clone(), operation));
            }
        }
    }
    found
}

fn operation<'a>(doc: &'a Value, id: &str) -> &'a Value {
    operations(doc)
        .into_iter()
        .find(|(_, _, operation)| operation["operationId"] == id)
        .unwrap_or_else(|| panic!("no operation {id}"))
        .2
}

/// A response object, following a `$ref` into `components.responses`.
fn resolve<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(target) => {
            let name = target
                .strip_prefix("#/components/responses/")
                .unwrap_or_else(|| panic!("unexpected response $ref {target}"));
            let resolved = &doc["components"]["responses"][name];
            assert!(resolved.is_object(), "dangling {target}");
            resolved
        }
        None => response,
    }
}

fn statuses(operation: &Value) -> BTreeSet<String> {
    operation["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[actix_web::test]
async fn the_document_is_openapi_3_with_every_operation_and_the_bearer_scheme() {
    let doc = document().await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "flowd admin API");

    let ids: BTreeSet<&str> = operations(&doc)
        .iter()
        .map(|(_, _, operation)| operation["operationId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, OPERATIONS.into_iter().collect());

    for (method, path) in SEED_ENDPOINTS {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }

    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["type"],
        "http"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{"bearer": []}]));
}

#[actix_web::test]
async fn the_path_list() {
    let doc = document().await;
    let mut listed: Vec<String> = operations(&doc)
        .into_iter()
        .map(|(method, path, operation)| {
            format!(
                "{} {path} {}",
                method.to_uppercase(),
                operation["operationId"]
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "DELETE /api/admin/flows/{id} \"delete_flow\"",
            "DELETE /api/admin/identity-providers/{id} \"delete_identity_provider\"",
            "DELETE /api/admin/invitations/{id} \"revoke_invitation\"",
            "DELETE /api/admin/users/{id} \"delete_user\"",
            "DELETE /api/admin/users/{id}/credentials/passkey/{credential_id} \"delete_user_passkey\"",
            "DELETE /api/admin/users/{id}/credentials/{type} \"delete_user_credential\"",
            "DELETE /api/admin/users/{id}/identity-links/{provider} \"delete_user_identity_link\"",
            "GET /api/admin/events \"list_events\"",
            "GET /api/admin/executions/{id}/trace \"get_execution_trace\"",
            "GET /api/admin/flows \"list_flows\"",
            "GET /api/admin/flows/{id} \"get_flow\"",
            "GET /api/admin/flows/{id}/export \"export_flow\"",
            "GET /api/admin/identity-providers \"list_identity_providers\"",
            "GET /api/admin/identity-providers/{id} \"get_identity_provider\"",
            "GET /api/admin/invitations \"list_invitations\"",
            "GET /api/admin/node-types \"list_node_types\"",
            "GET /api/admin/users \"list_users\"",
            "GET /api/admin/users/export \"export_users\"",
            "GET /api/admin/users/{id} \"get_user\"",
            "GET /api/admin/users/{id}/credentials \"list_user_credentials\"",
            "GET /api/admin/webhooks/secret \"get_webhook_secret\"",
            "PATCH /api/admin/users/{id} \"update_user\"",
            "POST /api/admin/flows \"create_flow\"",
            "POST /api/admin/flows/import \"import_flow\"",
            "POST /api/admin/flows/{id}/activate \"activate_flow\"",
            "POST /api/admin/flows/{id}/compile \"compile_flow\"",
            "POST /api/admin/flows/{id}/deactivate \"deactivate_flow\"",
            "POST /api/admin/flows/{id}/validate \"validate_flow\"",
            "POST /api/admin/identity-providers \"create_identity_provider\"",
            "POST /api/admin/invitations \"create_invitation\"",
            "POST /api/admin/users \"create_user\"",
            "POST /api/admin/users/import \"import_users\"",
            "POST /api/admin/users/{id}/disable \"disable_user\"",
            "POST /api/admin/users/{id}/enable \"enable_user\"",
            "POST /api/admin/users/{id}/recovery \"send_user_recovery_mail\"",
            "POST /api/admin/users/{id}/unlock \"unlock_user\"",
            "PUT /api/admin/flows/{id} \"update_flow\"",
            "PUT /api/admin/identity-providers/{id} \"put_identity_provider\"",
        ]
    );
}

#[actix_web::test]
async fn every_operation_documents_its_statuses_and_the_error_shape() {
    let doc = document().await;
    let expected: [(&str, &[&str]); 22] = [
        ("list_flows", &["200", "400", "401"]),
        ("get_flow", &["200", "401", "404"]),
        ("create_flow", &["201", "400", "401", "409", "413"]),
        ("update_flow", &["200", "400", "401", "404", "413"]),
        ("delete_flow", &["204", "401", "404"]),
        ("validate_flow", &["200", "401", "404"]),
        ("compile_flow", &["200", "401", "404", "422"]),
        ("activate_flow", &["200", "401", "404", "422"]),
        ("deactivate_flow", &["200", "401", "404"]),
        ("export_flow", &["200", "401", "404"]),
        ("import_flow", &["201", "400", "401", "409", "413"]),
        ("list_node_types", &["200", "401"]),
        ("get_execution_trace", &["200", "401", "404", "503"]),
        ("create_invitation", &["201", "400", "401", "413", "503"]),
        ("list_invitations", &["200", "401"]),
        ("revoke_invitation", &["200", "401", "404"]),
        ("list_identity_providers", &["200", "401", "503"]),
        ("get_identity_provider", &["200", "401", "404", "503"]),
        (
            "create_identity_provider",
            &["201", "400", "401", "409", "413", "503"],
        ),
        (
            "put_identity_provider",
            &["200", "201", "400", "401", "413", "503"],
        ),
        ("delete_identity_provider", &["204", "401", "404", "503"]),
        ("delete_user_identity_link", &["204", "401", "404", "503"]),
    ];
    for (id, codes) in expected {
        let operation = operation(&doc, id);
        let codes: BTreeSet<String> = codes.iter().map(|code| (*code).to_owned()).collect();
        assert_eq!(statuses(operation), codes, "{id}");
        assert_eq!(
            operation["responses"]["401"]["$ref"], "#/components/responses/Unauthorized",
            "{id}: the one shared 401"
        );
        for (status, response) in operation["responses"].as_object().unwrap() {
            let response = resolve(&doc, response);
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{id} {status}"
                );
            }
        }
    }
    assert!(operation(&doc, "create_flow")["requestBody"]["required"] == true);
    assert!(operation(&doc, "update_flow")["requestBody"].is_object());
    assert!(operation(&doc, "import_flow")["requestBody"].is_object());
    assert!(operation(&doc, "create_invitation")["requestBody"]["required"] == true);
    assert!(operation(&doc, "create_identity_provider")["requestBody"]["required"] == true);
    assert!(operation(&doc, "put_identity_provider")["requestBody"]["required"] == true);

    let unauthorized = &doc["components"]["responses"]["Unauthorized"];
    assert!(
        unauthorized["headers"]["WWW-Authenticate"].is_object(),
        "{unauthorized}"
    );
    assert_eq!(
        unauthorized["content"]["application/json"]["example"]["code"],
        "unauthorized"
    );

    let error = &doc["components"]["schemas"]["ErrorBody"];
    let properties: BTreeSet<&str> = error["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        properties,
        ["code", "details", "message"].into_iter().collect()
    );
    assert_eq!(error["required"], json!(["code", "message"]));
}

#[actix_web::test]
async fn every_reference_resolves() {
    let doc = document().await;
    fn walk(doc: &Value, value: &Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let (kind, name) = reference
                        .strip_prefix("#/components/")
                        .and_then(|rest| rest.split_once('/'))
                        .filter(|(kind, _)| matches!(*kind, "schemas" | "responses"))
                        .unwrap_or_else(|| panic!("{reference}"));
                    assert!(
                        doc["components"][kind][name].is_object(),
                        "dangling {reference}"
                    );
                }
                map.values().for_each(|value| walk(doc, value));
            }
            Value::Array(items) => items.iter().for_each(|value| walk(doc, value)),
            _ => {}
        }
    }
    walk(&doc, &doc);
}

#[actix_web::test]
async fn the_mirrored_enums_match_the_model() {
    let doc = document().await;
    let values = |name: &str| -> Vec<String> {
        doc["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {}", doc["components"]["schemas"][name]))
            .iter()
            .map(|value| value.as_str().unwrap().to_owned())
            .collect()
    };
    let flow_types: Vec<String> = FlowType::ALL
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    assert_eq!(values("FlowType"), flow_types);
    // The model's codes, then the admin API's own (warnings that need the tenant's settings).
    let codes: Vec<String> = FindingCode::ALL
        .iter()
        .map(|code| code.as_str().to_owned())
        .chain(["social_provider_not_configured".to_owned()])
        .collect();
    assert_eq!(values("FindingCode"), codes);
    // An exhaustive match: a new status fails to compile here until the mirror learns it.
    let status = |status: FlowStatus| match status {
        FlowStatus::Draft | FlowStatus::Active | FlowStatus::Inactive => status.as_str(),
    };
    let statuses: Vec<String> = [FlowStatus::Draft, FlowStatus::Active, FlowStatus::Inactive]
        .into_iter()
        .map(|s| status(s).to_owned())
        .collect();
    assert_eq!(values("FlowStatus"), statuses);
}

/// The object schemas that make up `schema`: through `$ref`, `allOf`, and the non-null arm of
/// `oneOf`/`anyOf`.
fn parts<'a>(doc: &'a Value, schema: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        parts(doc, &doc["components"]["schemas"][name], out);
        return;
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(arms) = schema.get(key).and_then(Value::as_array) {
            for arm in arms.iter().filter(|arm| arm["type"] != "null") {
                parts(doc, arm, out);
            }
        }
    }
    out.push(schema);
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Asserts that `value` fits `schema`: declared properties only, required ones present, enum
/// values and JSON types respected, recursively.
pub(crate) fn assert_fits(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let mut all = Vec::new();
    parts(doc, schema, &mut all);
    for part in &all {
        let types: Vec<&str> = match &part["type"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        let got = kind(value);
        let fits = types.contains(&got) || (got == "integer" && types.contains(&"number"));
        assert!(fits, "{at}: {got} is not {types:?}");
    }
    if let Some(allowed) = all.iter().find_map(|part| part["enum"].as_array()) {
        assert!(allowed.contains(value), "{at}: {value} not in {allowed:?}");
    }
    match value {
        Value::Object(map) => {
            let declared: Vec<&serde_json::Map<String, Value>> = all
                .iter()
                .filter_map(|part| part["properties"].as_object())
                .collect();
            if declared.is_empty() {
                return; // A free-form object.
            }
            for part in &all {
                for required in part["required"].as_array().into_iter().flatten() {
                    let required = required.as_str().unwrap();
                    assert!(map.contains_key(required), "{at}: missing {required}");
                }
            }
            for (key, item) in map {
                let property = declared
                    .iter()
                    .find_map(|properties| properties.get(key))
                    .unwrap_or_else(|| panic!("{at}.{key} is not in the schema"));
                if !item.is_null() {
                    assert_fits(doc, property, item, &format!("{at}.{key}"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = all.iter().find(|part| part["items"].is_object()) {
                for (index, item) in items.iter().enumerate() {
                    assert_fits(doc, &item_schema["items"], item, &format!("{at}[{index}]"));
                }
            }
        }
        _ => {}
    }
}

/// Asserts that a real answer fits what the document says operation `id` answers with `status`.
pub(crate) fn assert_documented(doc: &Value, id: &str, status: StatusCode, body: &Value) {
    let response = resolve(doc, &operation(doc, id)["responses"][status.as_str()]);
    assert!(response.is_object(), "{id} does not document {status}");
    if body.is_null() {
        assert!(
            response.get("content").is_none(),
            "{id} {status} has content"
        );
        return;
    }
    let schema = &response["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{id} {status}: no JSON schema");
    assert_fits(doc, schema, body, &format!("{id} {status}"));
}

#[actix_web::test]
async fn real_answers_fit_the_document() {
    let doc = document().await;
    let app = app().await;
    let check = |id: &'static str, (status, body): (StatusCode, Value)| {
        assert_documented(&doc, id, status, &body);
        body
    };

    let created = check(
        "create_flow",
        call(
            &app,
            "POST",
            "/api/admin/flows",
            Some(&seed("create-flow-request.json")),
        )
        .await,
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let flow = format!("/api/admin/flows/{id}");
    check("get_flow", call(&app, "GET", &flow, None).await);
    check(
        "update_flow",
        call(&app, "PUT", &flow, Some(&seed("update-flow-request.json"))).await,
    );
    check(
        "validate_flow",
        call(&app, "POST", &format!("{flow}/validate"), None).await,
    );
    check(
        "compile_flow",
        call(&app, "POST", &format!("{flow}/compile"), None).await,
    );
    check(
        "activate_flow",
        call(&app, "POST", &format!("{flow}/activate"), None).await,
    );
    check(
        "deactivate_flow",
        call(&app, "POST", &format!("{flow}/deactivate"), None).await,
    );
    check(
        "list_flows",
        call(&app, "GET", "/api/admin/flows", None).await,
    );
    let exported = check(
        "export_flow",
        call(&app, "GET", &format!("{flow}/export"), None).await,
    );
    let mut copy = exported.clone();
    copy["name"] = json!("social-login-copy");
    copy["id"] = json!("flow_social_login_copy");
    check(
        "import_flow",
        call(&app, "POST", "/api/admin/flows/import", Some(&copy)).await,
    );
    check(
        "list_node_types",
        call(&app, "GET", "/api/admin/node-types", None).await,
    );

    let invited = check(
        "create_invitation",
        call(
            &app,
            "POST",
            "/api/admin/invitations",
            Some(&json!({"email": "ada@example.com"})),
        )
        .await,
    );
    check(
        "list_invitations",
        call(&app, "GET", "/api/admin/invitations", None).await,
    );
    check(
        "revoke_invitation",
        call(
            &app,
            "DELETE",
            &format!("/api/admin/invitations/{}", invited["id"].as_str().unwrap()),
            None,
        )
        .await,
    );

    // Errors.
    check(
        "create_invitation",
        call(
            &app,
            "POST",
            "/api/admin/invitations",
            Some(&json!({"email": "nope"})),
        )
        .await,
    );
    check(
        "revoke_invitation",
        call(&app, "DELETE", "/api/admin/invitations/inv_nope", None).await,
    );
    check(
        "create_flow",
        call(
            &app,
            "POST",
            "/api/admin/flows",
            Some(&seed("create-flow-request.json")),
        )
        .await,
    );
    check(
        "create_flow",
        call(
            &app,
            "POST",
            "/api/admin/flows",
            Some(&json!({"name": "Bad Name"})),
        )
        .await,
    );
    check(
        "list_flows",
        call(&app, "GET", "/api/admin/flows?limit=500", None).await,
    );
    check(
        "get_flow",
        call(&app, "GET", "/api/admin/flows/flow_nope", None).await,
    );
    check(
        "get_execution_trace",
        call(&app, "GET", "/api/admin/executions/nope/trace", None).await,
    );
    let mut broken = seed("create-flow-request.json");
    broken["name"] = json!("broken");
    broken["graph"]["nodes"].as_array_mut().unwrap().remove(0);
    let broken = check(
        "create_flow",
        call(&app, "POST", "/api/admin/flows", Some(&broken)).await,
    );
    let broken = format!("/api/admin/flows/{}", broken["id"].as_str().unwrap());
    let (status, body) = call(&app, "POST", &format!("{broken}/compile"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    check("compile_flow", (status, body.clone()));
    // The 422's details are the validator's report.
    assert_fits(
        &doc,
        &json!({"$ref": "#/components/schemas/Report"}),
        &body["details"],
        "details",
    );
    check(
        "activate_flow",
        call(&app, "POST", &format!("{broken}/activate"), None).await,
    );
    let unauthorized = send(&app, test::TestRequest::get().uri("/api/admin/node-types")).await;
    check("list_node_types", unauthorized);
    check("delete_flow", call(&app, "DELETE", &flow, None).await);
    check("delete_flow", call(&app, "DELETE", &flow, None).await);

    let small = app_with_limit(64).await;
    check(
        "create_flow",
        call(
            &small,
            "POST",
            "/api/admin/flows",
            Some(&seed("create-flow-request.json")),
        )
        .await,
    );
}

#[actix_web::test]
async fn every_documented_operation_is_routed_and_needs_the_token() {
    let doc = document().await;
    let app = app().await;
    for (method, path, _) in operations(&doc) {
        let uri = path.replace("{id}", "some_id");
        let request = test::TestRequest::default()
            .method(method.to_uppercase().parse().unwrap())
            .uri(&uri);
        let (status, body) = send(&app, request).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{method} {uri}"
        );
    }
}

#[actix_web::test]
async fn the_docs_page_is_served_offline_without_the_token() {
    let app = app().await;
    let get = |uri: &str| test::TestRequest::get().uri(uri).to_request();

    let response = test::call_service(&app, get("/api/admin/docs/")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    // Everything the page loads is relative, i.e. served by us: nothing from a CDN.
    for attribute in ["src=\"http", "href=\"http", "src='http", "href='http"] {
        assert!(!page.contains(attribute), "{attribute} in {page}");
    }
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    ] {
        assert!(page.contains(asset), "{asset}");
        let response = test::call_service(&app, get(&format!("/api/admin/docs/{asset}"))).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert!(!test::read_body(response).await.is_empty(), "{asset}");
    }
    let response = test::call_service(&app, get("/api/admin/docs/swagger-initializer.js")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let initializer = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(
        initializer.contains("/api/admin/openapi.json"),
        "{initializer}"
    );

    let response = test::call_service(&app, get("/api/admin/docs")).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        response.headers().get("location").unwrap(),
        "/api/admin/docs/"
    );
}

#[actix_web::test]
async fn other_paths_still_get_the_json_404() {
    let app = app().await;
    for (method, uri) in [
        ("GET", "/api/admin/nope"),
        ("POST", "/api/admin/openapi.json"),
        ("POST", "/api/admin/docs/"),
        ("GET", "/api/admin/openapi.yaml"),
    ] {
        let (status, body) = call(&app, method, uri, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{method} {uri}"
        );
    }
}
