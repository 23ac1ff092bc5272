//! The flowd server as a library, so that `main` and the integration tests share one wiring
//! path (`startup::Application::build`). It composes the library crates and holds no business
//! logic.

pub mod cli;
pub mod config;
pub mod defaults;
pub mod metrics;
pub mod ratelimit;
pub mod startup;
pub mod telemetry;
