//! The usage dashboard a tenant's users sign in to, served by the gateway
//! under `/dashboard`: server-rendered HTML (maud escapes every value put
//! into a page), charts drawn as SVG on the server, one stylesheet embedded
//! in the binary, no script at all and nothing fetched from elsewhere.
//!
//! - [`login`] — sign in (email + password) and sign out.
//! - [`usage`] — usage over time per service or model, for a chosen range,
//!   with this month's spend vs budget above the charts.
//! - [`spend`] — that spend vs budget panel (spent, soft and hard limits,
//!   the share used as a bar) and the banners a reached limit raises.
//! - [`invoices`] — the tenant's monthly invoices with their line items,
//!   each downloadable as CSV.
//! - [`chart`] — the SVG bar charts (accessible: title, description, a data
//!   table beside each).
//! - [`keys`] — the tenant's API keys: list; create (the secret shown once)
//!   and revoke, for owners.
//! - [`members`] — the tenant's users and their roles.
//! - [`costs`] — this month's spend per day, stacked by model, priced as
//!   the invoice is.
//! - [`requests`] — the request log: the tenant's usage events, newest
//!   first, paged, filtered by status class.
//! - [`operator`] — every tenant's usage, spend, budget and limits this
//!   month, for the system tenant's owners only.
//! - [`layout`] — the page frame (navigation, banners, sign-out form), the
//!   HTML response with its security headers, the stylesheet.
//!
//! ## Who may do what
//! Pages need a dashboard session: the `stratus_session` cookie that
//! `auth::session` issues (HttpOnly, SameSite=Strict). Without one, the
//! authentication layer answers every `/dashboard` page with a 303 to the
//! login page instead of a 401. Roles are enforced on the server by the
//! route table (`crate::routes`) with the API's scopes, which a session
//! gets from its role (`Role::scopes`): creating and revoking keys needs
//! the `keys` scope, which only owners' sessions carry, so members and
//! viewers get a 403 page whatever form they post; the usage page needs
//! `usage:read` and the invoices (page and CSV) `billing:read`, as
//! `/v1/usage` and `/v1/billing/*` do — every role carries both; so do
//! the request log (`usage:read`) and the cost page (`billing:read`). The
//! handlers check the role again. The operator view needs only a session
//! at the route (no role carries `admin`) and its handler answers owners
//! of the system tenant alone ([`Session::is_operator`]), a 403 page to
//! anyone else.
//!
//! Every form that changes something carries a CSRF token bound to the
//! session ([`crate::auth::jwt::SessionKeys::csrf_token`]), on top of the
//! SameSite=Strict cookie; the login form, before any session exists,
//! carries a random token that must match a cookie set with the form
//! (double submit).
//!
//! ## Billing
//! Prices, budgets and invoices live in the `billing` module; the pages
//! call it in-process ([`crate::billing::Billing::budget`],
//! [`crate::billing::Billing::invoices`]) — the same functions behind
//! `GET /v1/billing/budget` and `/v1/billing/invoices` — and show money
//! rounded to cents ([`layout::money`]; the exact amount stays in the
//! element's `value`, the API and the CSV), computed in integers, never
//! floats. The invoice CSV is a
//! dashboard route (so a missing session is a redirect and a refusal a
//! page) answering the billing API's own CSV. On a gateway without billing
//! the usage page has no spend panel and the invoices page says billing is
//! off.

// Page handlers answer a refusal as a whole HTML error page; a `Response`
// in `Err` is the natural type for that and is built once per refusal.
#![allow(clippy::result_large_err)]

pub mod chart;
pub mod costs;
pub mod invoices;
pub mod keys;
pub mod layout;
pub mod login;
pub mod members;
pub mod operator;
pub mod requests;
pub mod spend;
pub mod usage;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use stratus_kit::ApiError;

use crate::GatewayState;
use crate::auth::{Principal, Role, Scope};

/// Where the dashboard lives.
pub const ROOT: &str = "/dashboard";
/// The login page (public).
pub const LOGIN_PATH: &str = "/dashboard/login";
/// The stylesheet (public: the login page needs it).
pub const STYLESHEET_PATH: &str = "/dashboard/assets/dashboard.css";

/// Whether `path` is a dashboard page, whose refusals are pages (a redirect
/// to the login page, an HTML 403) rather than JSON.
pub fn is_page(path: &str) -> bool {
    path == ROOT || path.starts_with("/dashboard/")
}

/// What a dashboard page answers to a request without a valid session:
/// see other, at the login page.
pub fn to_login() -> Response {
    layout::redirect(LOGIN_PATH)
}

/// An error answered as a page (same status, the envelope's message).
pub fn refused(error: ApiError) -> Response {
    layout::error_page(error.status, &error.message)
}

/// The signed-in dashboard user of a request. Extracting it fails (with a
/// redirect to the login page) unless the request carries a valid session
/// cookie and authenticated with it — an API key is not a dashboard
/// session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub tenant_id: String,
    pub role: Role,
    /// This session's CSRF token, for the forms of the page.
    pub csrf: String,
    token: String,
}

impl Session {
    /// `Ok` when `given` is this session's CSRF token; otherwise the 403
    /// page to answer.
    pub fn check_csrf(&self, state: &GatewayState, given: &str) -> Result<(), Response> {
        if state.auth.sessions().csrf_matches(&self.token, given) {
            Ok(())
        } else {
            Err(layout::error_page(
                StatusCode::FORBIDDEN,
                "This form is not from your current session (it may be from another site, or \
                 from before you signed in again). Reload the page and try again.",
            ))
        }
    }

    /// `Ok` for owners; otherwise the 403 page. The route table already
    /// refuses other roles (the `keys` scope); this is the second check.
    pub fn require_owner(&self) -> Result<(), Response> {
        if self.role == Role::Owner {
            Ok(())
        } else {
            Err(layout::error_page(
                StatusCode::FORBIDDEN,
                "Only owners of this organisation may manage API keys.",
            ))
        }
    }
}

impl Session {
    /// Whether this is an owner of the system tenant: the operators, who
    /// see every tenant in the operator view ([`operator`]).
    pub fn is_operator(&self) -> bool {
        self.tenant_id == crate::auth::SYSTEM_TENANT_ID && self.role == Role::Owner
    }

    /// Whether this session's role carries `scope` (the scopes a role maps
    /// to are the same for the API and the dashboard).
    pub fn may(&self, scope: Scope) -> bool {
        self.role.scopes().contains(scope)
    }

    /// `Ok` when the role carries `scope`; otherwise the 403 page saying
    /// `why`. The route table already refuses a session without it; this
    /// is the second check, as for keys.
    pub fn require(&self, scope: Scope, why: &str) -> Result<(), Response> {
        if self.may(scope) {
            Ok(())
        } else {
            Err(layout::error_page(StatusCode::FORBIDDEN, why))
        }
    }
}

impl FromRequestParts<GatewayState> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &GatewayState,
    ) -> Result<Self, Self::Rejection> {
        let principal = parts.extensions.get::<Principal>().ok_or_else(to_login)?;
        let token = crate::auth::middleware::session_token(&parts.headers).ok_or_else(to_login)?;
        let claims = state
            .auth
            .sessions()
            .verify(token)
            .map_err(|_| to_login())?;
        // The request must have authenticated *with this cookie* (the
        // middleware prefers an `Authorization` header when both are sent).
        let role = match (&principal.user_id, principal.role) {
            (Some(user), Some(role)) if *user == claims.sub => role,
            _ => return Err(to_login()),
        };
        Ok(Session {
            user_id: claims.sub,
            tenant_id: principal.tenant_id.clone(),
            role,
            csrf: state.auth.sessions().csrf_token(token),
            token: token.to_string(),
        })
    }
}

/// A store failure, as a page.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "dashboard: store unavailable");
    layout::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The store is not answering; retry shortly.",
    )
}

/// The signed-in user's email and tenant name, for the page header. A user
/// or tenant gone since the session began is signed out.
pub(crate) async fn who(state: &GatewayState, session: &Session) -> Result<Who, Response> {
    let store = state.auth.store();
    let user = store
        .user_by_id(&session.user_id)
        .await
        .map_err(unavailable)?
        .filter(|u| u.tenant_id == session.tenant_id)
        .ok_or_else(to_login)?;
    let tenant = store
        .tenant_by_id(&session.tenant_id)
        .await
        .map_err(unavailable)?
        .ok_or_else(to_login)?;
    Ok(Who {
        email: user.email,
        tenant_name: tenant.name,
    })
}

/// See [`who`].
#[derive(Debug, Clone)]
pub(crate) struct Who {
    pub email: String,
    pub tenant_name: String,
}

impl Who {
    pub fn viewer<'a>(&'a self, session: &'a Session) -> layout::Viewer<'a> {
        layout::Viewer {
            session,
            email: &self.email,
            tenant_name: &self.tenant_name,
        }
    }
}
