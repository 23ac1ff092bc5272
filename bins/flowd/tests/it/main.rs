//! Integration tests: the real server on an ephemeral port, over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod smtp;
mod support;

// The HTTP receiver of flow-webhooks' own tests (one request per connection, recorded), for
// the webhook and text-message tests (its redirects are not used here).
#[allow(dead_code)]
#[path = "../../../../crates/flow-webhooks/tests/receiver/mod.rs"]
mod receiver;

mod admin;
mod admin_identity_providers;
mod authentik;
mod authentik_schema;
mod browser;
mod cli;
mod events;
mod hostile;
mod identifiers;
mod oidc_provider;
mod pages;
mod passkeys;
mod ratelimit;
mod server;
mod sms;
mod social;
mod user_import;
mod users;
mod webhooks;
mod wso2;
mod wso2_mail;
