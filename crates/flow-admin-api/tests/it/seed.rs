//! Every request example of seed 002, replayed in the seed's order, with the fields of its
//! example responses asserted.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::support::{app, assert_fields, call, seed};

#[actix_web::test]
async fn the_seed_walkthrough() {
    let app = app().await;

    // Create.
    let (status, created) = call(
        &app,
        "POST",
        "/api/admin/flows",
        Some(&seed("create-flow-request.json")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_fields(
        &seed("create-flow-response.json"),
        &created,
        &["id", "created_at"],
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("flow_"), "{id}");

    // Get: the full graph as sent.
    let (status, flow) = call(&app, "GET", &format!("/api/admin/flows/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flow["graph"], seed("create-flow-request.json")["graph"]);
    assert_eq!(flow["description"], "Login using social providers");
    assert_eq!(flow["compiled"], false);

    // Update.
    let (status, updated) = call(
        &app,
        "PUT",
        &format!("/api/admin/flows/{id}"),
        Some(&seed("update-flow-request.json")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["display_name"], "Social Login Flow (Updated)");
    assert_eq!(updated["graph"], seed("update-flow-request.json")["graph"]);

    // Validate (success): valid, and an unreachable node gives the seed's warning.
    let (status, report) = call(
        &app,
        "POST",
        &format!("/api/admin/flows/{id}/validate"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report, json!({"valid": true, "errors": [], "warnings": []}));
    let mut with_fallback = seed("update-flow-request.json");
    with_fallback["graph"]["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "fallback", "type": "failure"}));
    call(
        &app,
        "PUT",
        &format!("/api/admin/flows/{id}"),
        Some(&json!({"graph": with_fallback["graph"]})),
    )
    .await;
    let (_, report) = call(
        &app,
        "POST",
        &format!("/api/admin/flows/{id}/validate"),
        None,
    )
    .await;
    assert_fields(&seed("validate-flow-response-success.json"), &report, &[]);

    // Compile: a new version.
    let (status, compiled) = call(
        &app,
        "POST",
        &format!("/api/admin/flows/{id}/compile"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{compiled}");
    assert_fields(
        &seed("compile-flow-response.json"),
        &compiled,
        &["id", "compiled_at"],
    );
    assert_eq!(compiled["id"], id.as_str());

    // Activate and deactivate.
    let (status, activated) = call(
        &app,
        "POST",
        &format!("/api/admin/flows/{id}/activate"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_fields(
        &seed("activate-flow-response.json"),
        &activated,
        &["id", "activated_at"],
    );
    assert!(activated["activated_at"].as_i64().unwrap() > 1_700_000_000);
    let (status, deactivated) = call(
        &app,
        "POST",
        &format!("/api/admin/flows/{id}/deactivate"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_fields(
        &seed("deactivate-flow-response.json"),
        &deactivated,
        &["id", "deactivated_at"],
    );

    // List with the seed's filter.
    let (status, list) = call(&app, "GET", "/api/admin/flows?type=login", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["cursor"], serde_json::Value::Null);
    let item = &list["items"][0];
    for field in [
        "id",
        "name",
        "display_name",
        "type",
        "status",
        "version",
        "created_at",
        "updated_at",
    ] {
        assert!(item.get(field).is_some(), "list item lacks {field}: {item}");
    }
    assert_eq!(item["status"], "inactive");
    assert_eq!(item["version"], 2);

    // Delete, then it is gone.
    let (status, body) = call(&app, "DELETE", &format!("/api/admin/flows/{id}"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NO_CONTENT, serde_json::Value::Null)
    );
    let (status, body) = call(&app, "GET", &format!("/api/admin/flows/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "flow_not_found");
}

#[actix_web::test]
async fn the_seed_validation_error_example() {
    let app = app().await;
    let broken = json!({
        "name": "broken", "display_name": "Broken", "type": "login",
        "graph": {
            "nodes": [{"id": "password", "type": "password_input"}, {"id": "done", "type": "success"}],
            "edges": [{"source": "password", "target": "mfa"}]
        }
    });
    let (status, created) = call(&app, "POST", "/api/admin/flows", Some(&broken)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "drafts may be invalid: {created}"
    );
    let id = created["id"].as_str().unwrap();
    let (status, report) = call(
        &app,
        "POST",
        &format!("/api/admin/flows/{id}/validate"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let expected = seed("validate-flow-response-error.json");
    assert_eq!(report["valid"], false);
    for finding in expected["errors"].as_array().unwrap() {
        let code = &finding["code"];
        assert!(
            report["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| &f["code"] == code),
            "missing {code} in {report}"
        );
    }
    let edge = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "invalid_edge")
        .unwrap();
    assert_eq!(
        edge["message"],
        "Edge 'password->mfa' target node does not exist"
    );
    assert_eq!(edge["edge"], json!({"source": "password", "target": "mfa"}));

    // Compiling or activating it is refused with the findings.
    for action in ["compile", "activate"] {
        let (status, body) = call(
            &app,
            "POST",
            &format!("/api/admin/flows/{id}/{action}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{action}: {body}");
        assert_eq!(body["code"], "invalid_flow");
        assert_eq!(body["details"]["valid"], false);
    }
}

#[actix_web::test]
async fn list_pages_with_an_opaque_cursor_and_filters() {
    let app = app().await;
    for index in 0..5 {
        let flow_type = if index % 2 == 0 {
            "login"
        } else {
            "registration"
        };
        let body = json!({
            "name": format!("flow-{index}"), "display_name": "F", "type": flow_type,
            "graph": {"nodes": [{"id": "s", "type": "start"}, {"id": "ok", "type": "success"}], "edges": [{"source": "s", "target": "ok"}]}
        });
        let (status, _) = call(&app, "POST", "/api/admin/flows", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut path = "/api/admin/flows?limit=2".to_owned();
    loop {
        let (status, page) = call(&app, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 5);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["name"].as_str().unwrap().to_owned()),
        );
        match page["cursor"].as_str() {
            Some(cursor) => path = format!("/api/admin/flows?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["flow-0", "flow-1", "flow-2", "flow-3", "flow-4"]);

    let (_, registration) = call(&app, "GET", "/api/admin/flows?type=registration", None).await;
    assert_eq!(registration["total"], 2);
    let (_, drafts) = call(&app, "GET", "/api/admin/flows?status=draft&limit=100", None).await;
    assert_eq!(drafts["total"], 5);
    let (_, active) = call(&app, "GET", "/api/admin/flows?status=active", None).await;
    assert_eq!(active["total"], 0);
}

#[actix_web::test]
async fn extensions_default_flag_import_export_node_types() {
    let app = app().await;
    let request = seed("create-flow-request.json");
    let (status, created) = call(&app, "POST", "/api/admin/flows", Some(&request)).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, marked) = call(
        &app,
        "PUT",
        &format!("/api/admin/flows/{id}"),
        Some(&json!({"is_default": true})),
    )
    .await;
    assert_eq!(marked["is_default"], true);

    let (status, exported) =
        call(&app, "GET", &format!("/api/admin/flows/{id}/export"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(exported["name"], "social-login");
    let mut copy = exported.clone();
    copy["name"] = json!("social-login-copy");
    copy.as_object_mut().unwrap().remove("id");
    let (status, imported) = call(&app, "POST", "/api/admin/flows/import", Some(&copy)).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    assert_eq!(imported["graph"], exported["graph"]);
    assert_eq!(imported["status"], "draft");

    // Making the copy the default unsets the first one.
    let copy_id = imported["id"].as_str().unwrap();
    let (_, updated) = call(
        &app,
        "PUT",
        &format!("/api/admin/flows/{copy_id}"),
        Some(&json!({"is_default": true})),
    )
    .await;
    assert_eq!(updated["is_default"], true);
    let (_, first) = call(&app, "GET", &format!("/api/admin/flows/{id}"), None).await;
    assert_eq!(first["is_default"], false);

    let (status, types) = call(&app, "GET", "/api/admin/node-types", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = types["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), flow_model::NodeType::built_in().count());
    assert!(names.contains(&"identifier_input") && names.contains(&"totp_setup"));
    let identifier = types["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "identifier_input")
        .unwrap();
    assert_eq!(identifier["category"], "input");
    assert_eq!(identifier["config"][0]["name"], "identifier_types");
}
