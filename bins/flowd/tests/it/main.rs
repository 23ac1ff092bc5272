//! Integration tests: the real server on an ephemeral port, over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod smtp;
mod support;

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
mod social;
mod user_import;
mod users;
mod webhooks;
mod wso2;
mod wso2_mail;
