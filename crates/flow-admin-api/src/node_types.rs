//! `GET /api/admin/node-types`: the catalogue of built-in node types with their config fields,
//! for editors. It mirrors `docs/flow-model.md`; a test checks it lists every built-in type.

use flow_model::NodeType;
use serde_json::{Value, json};

/// One config field: name, JSON type, required, default (or `null`), and a note.
type FieldSpec = (&'static str, &'static str, bool, Value, &'static str);

/// Description and config fields of a built-in type.
fn spec(node_type: &NodeType) -> (&'static str, Vec<FieldSpec>) {
    match node_type {
        NodeType::Start => ("Flow start; compiles to no step.", vec![]),
        NodeType::Success => (
            "Successful end: signs in (login), creates the user (registration), stores the password (reset) or factor (mfa_setup).",
            vec![
                (
                    "redirect_url",
                    "string",
                    false,
                    Value::Null,
                    "where the client goes next",
                ),
                (
                    "auto_login",
                    "boolean",
                    false,
                    Value::Null,
                    "sign the new user in (registration default: true)",
                ),
                (
                    "message",
                    "string",
                    false,
                    Value::Null,
                    "completion message when there is no redirect",
                ),
            ],
        ),
        NodeType::Failure => (
            "Unsuccessful end.",
            vec![
                (
                    "code",
                    "string",
                    false,
                    json!("flow_failed"),
                    "stable failure code",
                ),
                (
                    "message",
                    "string",
                    false,
                    Value::Null,
                    "message for the user",
                ),
            ],
        ),
        NodeType::Condition => (
            "Two-way branch on a CEL expression; edges 'true' and 'false'.",
            vec![(
                "condition",
                "string",
                true,
                Value::Null,
                "CEL over user, inputs, attributes, flow, request",
            )],
        ),
        NodeType::Switch => (
            "Many-way branch on a CEL expression's value; one edge per case plus 'default'.",
            vec![("expression", "string", true, Value::Null, "CEL expression")],
        ),
        NodeType::IdentifierInput => (
            "Asks for an identifier: looks up a user, or collects a new one in registration flows.",
            vec![
                (
                    "identifier_types",
                    "array<email|username|phone>",
                    false,
                    json!(["email", "username"]),
                    "",
                ),
                (
                    "with_password",
                    "boolean",
                    false,
                    json!(false),
                    "ask for the next password_input in the same prompt",
                ),
            ],
        ),
        NodeType::PasswordInput => (
            "Password: verified in login and mfa_setup, set in registration, invitation, reset and recovery.",
            vec![
                (
                    "min_length",
                    "integer",
                    false,
                    json!(8),
                    "8 to 256, for new passwords",
                ),
                (
                    "min_score",
                    "integer",
                    false,
                    json!(3),
                    "1 to 4: the least zxcvbn strength score of a new password",
                ),
                (
                    "confirm",
                    "boolean",
                    false,
                    json!(false),
                    "ask for a new password twice",
                ),
            ],
        ),
        NodeType::SocialProviderSelect => (
            "Lets the user pick a social provider.",
            vec![(
                "providers",
                "array<string>",
                true,
                Value::Null,
                "provider slugs",
            )],
        ),
        NodeType::MfaVerification => (
            "Asks for a second factor.",
            vec![(
                "methods",
                "array<totp|sms|email|webauthn|recovery_code>",
                false,
                json!(["totp"]),
                "",
            )],
        ),
        NodeType::OtpInput => (
            "Checks the one-time code sent by an earlier send_email/send_sms with with_code.",
            vec![(
                "label",
                "string",
                false,
                Value::Null,
                "label of the code field",
            )],
        ),
        NodeType::SendEmail | NodeType::SendSms => (
            "Sends a message from a template, optionally with a one-time code.",
            vec![
                ("template", "string", true, Value::Null, "template name"),
                (
                    "with_code",
                    "boolean",
                    false,
                    json!(false),
                    "generate and include a one-time code",
                ),
            ],
        ),
        NodeType::Webhook => (
            "Calls an HTTP endpoint, signed per Standard Webhooks; a `true` edge for a 2xx reply (mapping applied), a `false` edge otherwise.",
            vec![
                (
                    "url",
                    "string",
                    true,
                    Value::Null,
                    "http:// or https:// URL",
                ),
                (
                    "method",
                    "GET|POST|PUT|PATCH|DELETE",
                    false,
                    json!("POST"),
                    "",
                ),
                (
                    "headers",
                    "object",
                    false,
                    Value::Null,
                    "at most 20 extra request headers",
                ),
                ("timeout_ms", "integer", false, json!(3000), "1 to 10000"),
                (
                    "body",
                    "any",
                    false,
                    Value::Null,
                    "JSON template; \"${expr}\" strings are CEL over the execution",
                ),
                (
                    "response",
                    "object",
                    false,
                    Value::Null,
                    "attribute path to CEL over `response` and `status`",
                ),
                (
                    "retries",
                    "integer",
                    false,
                    json!(0),
                    "0 to 3, GET/PUT/DELETE only",
                ),
                (
                    "secret",
                    "string",
                    false,
                    Value::Null,
                    "whsec_ signing secret (default: the server's)",
                ),
            ],
        ),
        NodeType::SetAttribute => (
            "Sets an execution attribute.",
            vec![
                ("attribute", "string", true, Value::Null, "dotted name"),
                ("value", "any", true, Value::Null, "JSON value"),
            ],
        ),
        NodeType::Webauthn => (
            "Passkey ceremony: registration in registration/invitation/mfa_setup, authentication elsewhere.",
            vec![(
                "user_verification",
                "required|preferred|discouraged",
                false,
                json!("preferred"),
                "",
            )],
        ),
        NodeType::Prompt => (
            "Asks for profile fields, stored as attributes.",
            vec![(
                "fields",
                "array<{name, type, label?, placeholder?, required?, options?}>",
                true,
                Value::Null,
                "types: text, email, number, telephone, date, checkbox, dropdown",
            )],
        ),
        NodeType::TotpSetup => (
            "Enrols a TOTP authenticator.",
            vec![
                (
                    "issuer",
                    "string",
                    false,
                    Value::Null,
                    "shown in authenticator apps",
                ),
                ("digits", "integer", false, json!(6), "6 or 8"),
                ("period", "integer", false, json!(30), "30 or 60"),
            ],
        ),
        _ => ("", vec![]),
    }
}

/// The catalogue as JSON: `[{type, category, description, config: [{name, type, required, default, note}]}]`.
pub(crate) fn catalogue() -> Value {
    let types: Vec<Value> = NodeType::built_in()
        .map(|node_type| {
            let (description, fields) = spec(&node_type);
            let config: Vec<Value> = fields
                .into_iter()
                .map(|(name, kind, required, default, note)| {
                    json!({"name": name, "type": kind, "required": required, "default": default, "note": note})
                })
                .collect();
            json!({
                "type": node_type.as_str(),
                "category": node_type.category(),
                "description": description,
                "config": config,
            })
        })
        .collect();
    json!({"items": types})
}
