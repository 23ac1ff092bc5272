//! Integration tests of the WSO2-style Flow Execution API, in process (actix's test service)
//! over the memory ports and a catalog with the default flows installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod assertion;
mod errors;
mod flows;
mod openapi;
