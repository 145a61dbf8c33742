//! # stratus-kit
//!
//! What every Stratus service shares, and nothing else.
//!
//! ## Layout
//! - [`error`] — the OpenAI-shaped error envelope and its status mapping,
//!   and [`ApiJson`], the JSON extractor that rejects in it.
//! - [`context`] — the tenant context the gateway forwards to services, and
//!   the internal token that proves a request came from the gateway.
//! - `db` (feature `db`) — opening the SQLite/PostgreSQL store from a URL,
//!   for the services that keep state.
//! - `destination` (feature `outbound`) — where requests a tenant or
//!   operator named (webhooks) may go: the SSRF policy and the resolver
//!   that enforces it at connect time.
//! - [`config`] — layering a TOML file under flags and environment.
//! - [`telemetry`] — tracing setup (text or JSON logs).
//! - [`metrics`] — the process's Prometheus recorder and `/metrics` router.
//! - [`health`] — `/healthz` (process up) and `/readyz` (dependencies ready).
//! - [`server`] — serving a router with graceful shutdown on SIGTERM/Ctrl-C.
//! - [`usage`] — the `x-stratus-usage-*` headers every service reports.
//! - [`openapi`] — the shared OpenAPI parts: the `ErrorEnvelope` response,
//!   the health operations.

pub mod config;
pub mod context;
#[cfg(feature = "db")]
pub mod db;
#[cfg(feature = "outbound")]
pub mod destination;
pub mod error;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod server;
pub mod telemetry;
pub mod usage;

pub use error::{ApiError, ApiJson};
