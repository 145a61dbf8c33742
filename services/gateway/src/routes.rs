//! The gateway's route table: every route, its handler and the [`Access`]
//! it requires, in one place. The router is built from it and the
//! deny-by-default test walks it, so a route cannot be added without
//! saying who may call it.
//!
//! `/healthz` and `/readyz` come from `stratus_kit::health` and are public
//! (see `auth::middleware::PUBLIC_PATHS`).
//!
//! Dashboard pages (`/dashboard…`) answer a missing session with a 303 to
//! the login page rather than a 401, and a missing scope with an HTML 403.

use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, any, delete, get, post};

use crate::GatewayState;
use crate::auth::Scope;
use crate::auth::middleware::Access;
use crate::auth::session;
use crate::dashboard;
use crate::limits::admin as limits;
use crate::tenants::admin;

/// Largest JSON body of the identity API (names, scopes, a password).
const IDENTITY_BODY_LIMIT: usize = 64 * 1024;

/// One route.
pub struct Route {
    /// The path as axum matches it (`{id}`, `{*rest}`).
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<GatewayState>,
    /// Whether calls are metered and billed.
    pub metered: Metered,
}

/// How a route's calls are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metered {
    /// Answered by the gateway itself: no usage event.
    No,
    /// Forwarded to a service: the call's maximum cost is reserved against
    /// the tenant's budget before it runs, and its usage event is priced.
    Billed,
    /// Forwarded, metered and not billed: managing an asynchronous job
    /// (reading it, its result, the list, cancelling it), which its submit
    /// and its audio paid for. No reservation, and an event without units,
    /// so a tenant at its hard limit can still collect what it paid for.
    Unbilled,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.path, self.access)
    }
}

fn route(path: &'static str, access: Access, handler: MethodRouter<GatewayState>) -> Route {
    Route {
        path,
        access,
        handler,
        metered: Metered::No,
    }
}

/// A route that forwards to a service and is metered and billed.
fn forwarded(path: &'static str, access: Access, handler: MethodRouter<GatewayState>) -> Route {
    Route {
        metered: Metered::Billed,
        ..route(path, access, handler)
    }
}

/// A route that forwards to a service and is metered, not billed.
fn unbilled(path: &'static str, access: Access, handler: MethodRouter<GatewayState>) -> Route {
    Route {
        metered: Metered::Unbilled,
        ..route(path, access, handler)
    }
}

fn identity(handler: MethodRouter<GatewayState>) -> MethodRouter<GatewayState> {
    handler.layer(DefaultBodyLimit::max(IDENTITY_BODY_LIMIT))
}

/// Every route of the gateway.
pub fn table() -> Vec<Route> {
    use Access::{Authenticated, Public};
    let admin = Access::Scope(Scope::Admin);
    let keys = Access::Scope(Scope::Keys);
    vec![
        route(
            "/v1/models",
            Authenticated,
            get(crate::routing::models::list_models),
        ),
        route(
            "/v1/models/{model}",
            Authenticated,
            get(crate::routing::models::retrieve_model),
        ),
        forwarded(
            "/v1/audio/{*rest}",
            Access::Scope(Scope::Speech),
            any(crate::forward_speech),
        ),
        // Asynchronous jobs: the submit is billed (and reserves the job's
        // audio until the job ends, see `billing::jobs`); managing a job is
        // not (see `Metered::Unbilled`). The two entries of one path are
        // merged into one route by method.
        forwarded(
            "/v1/audio/jobs",
            Access::Scope(Scope::Speech),
            post(crate::forward_speech),
        ),
        unbilled(
            "/v1/audio/jobs",
            Access::Scope(Scope::Speech),
            get(crate::forward_speech),
        ),
        unbilled(
            "/v1/audio/jobs/{id}",
            Access::Scope(Scope::Speech),
            get(crate::forward_speech).delete(crate::forward_speech),
        ),
        // The tenant's webhook signing secret: read by whoever submits
        // jobs (to verify their webhooks); rotating is credential
        // management, like minting keys. Neither is billed.
        unbilled(
            "/v1/audio/webhook-secret",
            Access::Scope(Scope::Speech),
            get(crate::forward_speech),
        ),
        unbilled(
            "/v1/audio/webhook-secret/rotate",
            keys,
            post(crate::forward_speech),
        ),
        forwarded(
            "/v1/embeddings",
            Access::Scope(Scope::Language),
            any(crate::forward_language),
        ),
        forwarded(
            "/v1/language/{*rest}",
            Access::Scope(Scope::Language),
            any(crate::forward_language),
        ),
        route(
            "/v1/usage",
            Access::Scope(Scope::UsageRead),
            get(crate::metering::api::usage),
        ),
        route(
            "/v1/usage/events",
            Access::Scope(Scope::UsageRead),
            get(crate::metering::api::events),
        ),
        route(
            "/v1/billing/budget",
            Access::Scope(Scope::BillingRead),
            get(crate::billing::api::own_budget),
        ),
        route(
            "/v1/billing/invoices",
            Access::Scope(Scope::BillingRead),
            get(crate::billing::api::list_invoices),
        ),
        route(
            "/v1/billing/invoices/{id}",
            Access::Scope(Scope::BillingRead),
            get(crate::billing::api::get_invoice),
        ),
        route("/v1/auth/login", Public, identity(post(session::login))),
        route("/v1/auth/logout", Authenticated, post(session::logout)),
        route("/v1/auth/me", Authenticated, get(session::me)),
        route(
            "/v1/keys",
            keys,
            identity(get(admin::list_own_keys).post(admin::create_own_key)),
        ),
        route("/v1/keys/{key_id}", keys, delete(admin::revoke_own_key)),
        route(
            "/v1/keys/{key_id}/budget",
            keys,
            identity(
                get(crate::billing::api::get_own_key_budget)
                    .put(crate::billing::api::set_own_key_budget),
            ),
        ),
        route(
            "/v1/admin/tenants",
            admin,
            identity(get(admin::list_tenants).post(admin::create_tenant)),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/keys",
            admin,
            identity(get(admin::list_tenant_keys).post(admin::create_tenant_key)),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/keys/{key_id}",
            admin,
            delete(admin::revoke_tenant_key),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/limits",
            admin,
            identity(
                get(limits::get_tenant_limits)
                    .put(limits::put_tenant_limits)
                    .delete(limits::delete_tenant_limits),
            ),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/keys/{key_id}/limits",
            admin,
            identity(
                get(limits::get_key_limits)
                    .put(limits::put_key_limits)
                    .delete(limits::delete_key_limits),
            ),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/plan",
            admin,
            identity(get(crate::billing::api::get_plan).put(crate::billing::api::set_plan)),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/budget",
            admin,
            identity(get(crate::billing::api::get_budget).put(crate::billing::api::set_budget)),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/keys/{key_id}/budget",
            admin,
            identity(
                get(crate::billing::api::get_key_budget).put(crate::billing::api::set_key_budget),
            ),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/users",
            admin,
            identity(get(admin::list_tenant_users).post(admin::create_tenant_user)),
        ),
        route(
            "/v1/admin/tenants/{tenant_id}/users/{user_id}",
            admin,
            identity(
                get(admin::get_tenant_user)
                    .patch(admin::update_tenant_user)
                    .delete(admin::delete_tenant_user),
            ),
        ),
        // The dashboard (see `dashboard`): pages for any signed-in user of
        // the tenant, changes to keys for owners (the `keys` scope), usage
        // and invoices with the API's read scopes.
        route(
            dashboard::LOGIN_PATH,
            Public,
            identity(get(dashboard::login::page).post(dashboard::login::submit)),
        ),
        route(
            dashboard::STYLESHEET_PATH,
            Public,
            get(dashboard::layout::stylesheet),
        ),
        route(
            "/dashboard/logout",
            Authenticated,
            identity(post(dashboard::login::logout)),
        ),
        route(
            dashboard::ROOT,
            Access::Scope(Scope::UsageRead),
            get(dashboard::usage::page),
        ),
        route(
            dashboard::keys::PATH,
            Authenticated,
            get(dashboard::keys::page),
        ),
        route(
            "/dashboard/keys/create",
            keys,
            identity(post(dashboard::keys::create)),
        ),
        route(
            "/dashboard/keys/{key_id}/revoke",
            keys,
            identity(post(dashboard::keys::revoke)),
        ),
        route(
            "/dashboard/keys/{key_id}/budget",
            keys,
            identity(post(dashboard::keys::set_budget)),
        ),
        route(
            dashboard::members::PATH,
            Authenticated,
            get(dashboard::members::page),
        ),
        // Owners change members: the `keys` scope is what only owners'
        // sessions carry; the handler checks the role again.
        route(
            "/dashboard/members/{user_id}/role",
            keys,
            identity(post(dashboard::members::set_role)),
        ),
        route(
            "/dashboard/members/{user_id}/disable",
            keys,
            identity(post(dashboard::members::disable)),
        ),
        route(
            "/dashboard/members/{user_id}/enable",
            keys,
            identity(post(dashboard::members::enable)),
        ),
        route(
            "/dashboard/members/{user_id}/delete",
            keys,
            identity(post(dashboard::members::delete)),
        ),
        // Cost over time and the request log: the scopes of the billing
        // and usage APIs they show.
        route(
            dashboard::costs::PATH,
            Access::Scope(Scope::BillingRead),
            get(dashboard::costs::page),
        ),
        route(
            dashboard::requests::PATH,
            Access::Scope(Scope::UsageRead),
            get(dashboard::requests::page),
        ),
        // Every tenant: any session reaches the handler, which answers
        // only owners of the system tenant (no role carries `admin`).
        route(
            dashboard::operator::PATH,
            Authenticated,
            get(dashboard::operator::page),
        ),
        // Invoices: the scope `/v1/billing/invoices` needs.
        route(
            dashboard::invoices::PATH,
            Access::Scope(Scope::BillingRead),
            get(dashboard::invoices::page),
        ),
        route(
            "/dashboard/invoices/{id}/csv",
            Access::Scope(Scope::BillingRead),
            get(dashboard::invoices::csv),
        ),
    ]
}
