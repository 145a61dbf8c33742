//! The frame every dashboard page shares (skip link, header, navigation,
//! banners, the sign-out form), the HTML response with its security
//! headers, and the stylesheet (embedded in the binary).

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::{ROOT, STYLESHEET_PATH, Session};
use crate::billing::Nanos;

/// The stylesheet, compiled into the binary: nothing is fetched at run time.
const STYLESHEET: &str = include_str!("dashboard.css");

/// No script may run, styles and images come only from here, forms post
/// only here, and no other site may frame a page (clickjacking).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The navigation: (path, label).
pub const NAV: [(&str, &str); 6] = [
    (ROOT, "Usage"),
    (super::costs::PATH, "Costs"),
    (super::requests::PATH, "Requests"),
    (super::invoices::PATH, "Invoices"),
    ("/dashboard/keys", "API keys"),
    ("/dashboard/members", "Members"),
];

/// How loud a banner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something done (a key revoked).
    Info,
    /// Needs attention (e.g. a budget's soft limit passed).
    Warning,
    /// Something is refused until a person acts (e.g. the hard budget is
    /// spent and API requests get 429).
    Error,
}

/// A message shown above a page's heading.
#[derive(Debug, Clone)]
pub struct Banner {
    pub level: Level,
    pub text: String,
}

/// Who is signed in, as the header shows them.
#[derive(Debug, Clone)]
pub struct Viewer<'a> {
    pub session: &'a Session,
    pub email: &'a str,
    pub tenant_name: &'a str,
}

/// A whole page: `title` (also the `<h1>`), the navigation with `current`
/// marked, `banners`, then `body`.
pub fn page(
    title: &str,
    current: &str,
    viewer: &Viewer<'_>,
    banners: &[Banner],
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Stratus" }
                    nav aria-label="Dashboard" {
                        ul {
                            @for (path, label) in NAV {
                                li {
                                    @if path == current {
                                        a href=(path) aria-current="page" { (label) }
                                    } @else {
                                        a href=(path) { (label) }
                                    }
                                }
                            }
                            // Only the system tenant's owners operate the
                            // deployment; nobody else sees the link (and
                            // the page refuses them).
                            @if viewer.session.is_operator() {
                                li {
                                    @let path = super::operator::PATH;
                                    @if path == current {
                                        a href=(path) aria-current="page" { "Operator" }
                                    } @else {
                                        a href=(path) { "Operator" }
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        span {
                            (viewer.email) " · " (viewer.session.role.as_str())
                            " · " (viewer.tenant_name)
                        }
                        form method="post" action="/dashboard/logout" {
                            input type="hidden" name="csrf" value=(viewer.session.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    @for banner in banners {
                        @match banner.level {
                            Level::Info => { p.banner.info role="status" { (banner.text) } }
                            Level::Warning => { p.banner.warning role="alert" { (banner.text) } }
                            Level::Error => { p.banner.error role="alert" { (banner.text) } }
                        }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page without the signed-in frame (login, errors).
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main #main .narrow {
                    p.brand { "Stratus" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Stratus" }
            link rel="stylesheet" href=(STYLESHEET_PATH);
            // No favicon request (it would need credentials).
            link rel="icon" href="data:,";
        }
    }
}

/// Headers every dashboard answer carries: pages hold per-session data
/// (and sometimes a key's secret), so nothing is cached or framed.
pub fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `markup` as an HTML answer with `status`.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    secure(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            markup.into_string(),
        )
            .into_response(),
    )
}

/// See other at `location` (after a form, or to the login page).
pub fn redirect(location: &'static str) -> Response {
    redirect_to(HeaderValue::from_static(location))
}

/// See other at `location`.
pub fn redirect_to(location: HeaderValue) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::LOCATION, location);
    secure(response)
}

/// A refusal or failure as a page, with a way back.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    html_response(
        status,
        bare_page(
            title,
            html! {
                p.error role="alert" { (message) }
                p { a href=(ROOT) { "Back to the dashboard" } }
            },
        ),
    )
}

/// Add `Set-Cookie: cookie` to `response`.
pub fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /dashboard/assets/dashboard.css`.
pub async fn stylesheet() -> Response {
    let headers: [(HeaderName, &str); 3] = [
        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, STYLESHEET).into_response()
}

/// Money as the dashboard shows it: rounded to cents (`12.35 USD`), in a
/// `<data>` element whose `value` is the exact amount (also its tooltip),
/// which the API and CSV carry unrounded.
pub fn money(amount: Nanos, currency: &str) -> Markup {
    html! {
        data.money value=(amount) title=(format!("{amount} {currency} exactly")) {
            (money_text(amount, currency))
        }
    }
}

/// [`money`] as plain text (banners, labels).
pub fn money_text(amount: Nanos, currency: &str) -> String {
    format!("{} {currency}", amount.cents())
}

/// A Unix time as `2026-11-28 14:05 UTC`.
pub fn datetime(unix_seconds: i64) -> String {
    let text = crate::metering::time::format_rfc3339(unix_seconds.saturating_mul(1000));
    // `YYYY-MM-DDTHH:MM:SS…Z` → `YYYY-MM-DD HH:MM UTC`.
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}
