//! The dashboard, tested two ways.
//!
//! In a real browser (`dashboard_in_a_real_browser`): headless Debian
//! chromium driven over WebDriver (chromedriver, started here on a free
//! port) against the real gateway on 127.0.0.1:0 with the real language
//! service and metering: sign in, see a usage chart that counts the
//! embeddings requests just made, create a key (its secret shown once, and
//! it works) and revoke it (it stops working), read the members, fit a
//! phone-width screen, and a viewer's forged key form refused by the
//! server. With billing on: the usage page's spend vs budget (the soft
//! limit's warning, then a hard limit's error as requests get 429) and the
//! invoices page, line for line what `/v1/billing/*` answers, with its CSV
//! download. Each page is saved as a PNG into `$STRATUS_SCREENSHOTS`, or
//! `<target>/tmp/dashboard-screenshots/` by default. Without chromedriver
//! the test fails (scripts/test installs chromium and chromium-driver);
//! `STRATUS_CHROMEDRIVER` / `STRATUS_CHROMIUM` point at other binaries.
//!
//! Over plain HTTP, on SQLite and PostgreSQL: sessions, CSRF tokens, the
//! login form's double submit, roles, escaping and security headers; the
//! invoices page and CSV need a session and `billing:read` (every role has
//! it, an API key without it gets a 403 page), another tenant's invoice is
//! a 404, and a zero hard budget shows as an error banner. The request
//! log shows only the session's tenant's events, newest first, paged with
//! the store's cursor and filtered by status; the cost page's total and
//! each key's spend are the draft invoice's to the nano; the operator view
//! answers only owners of the system tenant and lists every tenant.
//!
//! The browser test also reads, and screenshots, the cost chart (its
//! model and total against the invoice), the request log (its rows the
//! requests just made, by the ids the gateway answered with) and the
//! operator view (both tenants and the system one, with their requests
//! and spend), and checks that one click selects a new key whole (the
//! dashboard's script-free copy).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use stratus_gateway::auth::{KeySpec, Role, Scopes};
use stratus_gateway::billing::api::set_tenant_budget;
use stratus_gateway::billing::invoice::invoice_id;
use stratus_gateway::billing::{Billing, BillingConfig, Catalog, Month};
use stratus_gateway::metering::event::now_ms;
use stratus_gateway::metering::{Meter, MeteringConfig, Units, UsageEvent};
use stratus_gateway::{Auth, GatewayState, Store, Upstream, Upstreams, tenants};
use stratus_kit::context::InternalToken;
use stratus_kit::health::Readiness;
use stratus_language::{LanguageConfig, LanguageService};

const EMBEDDER: &str = "all-minilm-l6-v2";
const OWNER: (&str, &str) = ("ann@acme.example", "ann-password-1");
const VIEWER: (&str, &str) = ("vic@acme.example", "vic-password-1");
const MEMBER: (&str, &str) = ("meg@acme.example", "meg-password-1");

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Tenant `acme` with an owner, a member and a viewer, and an API key for
/// the language service: (tenant id, key).
async fn acme(auth: &Auth) -> (String, String) {
    let tenant = tenants::create_tenant(auth, "acme").await.unwrap();
    for ((email, password), role) in [
        (OWNER, Role::Owner),
        (MEMBER, Role::Member),
        (VIEWER, Role::Viewer),
    ] {
        tenants::create_user(auth, &tenant.id, email, password.into(), role)
            .await
            .unwrap();
    }
    let key = auth
        .create_key(
            &tenant.id,
            KeySpec {
                name: Some("app".into()),
                scopes: Scopes::parse("language,usage:read").unwrap(),
                expires_in_days: None,
            },
        )
        .await
        .unwrap();
    (tenant.id, key.secret)
}

/// A key of `tenant` that may read billing only.
async fn billing_reader(auth: &Auth, tenant: &str) -> String {
    auth.create_key(
        tenant,
        KeySpec {
            scopes: Scopes::parse("billing:read").unwrap(),
            ..KeySpec::default()
        },
    )
    .await
    .unwrap()
    .secret
}

/// The `csrf` value of the first form in `html`.
fn csrf_of(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .expect("a form with a csrf field")
        + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// The value of cookie `name` set by `response`, with its attributes.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// Sign in through the login form like a browser: (session cookie header).
async fn form_login(base: &str, (email, password): (&str, &str)) -> String {
    let http = client();
    let page = http
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let login_cookie = set_cookie(&page, "stratus_login_csrf").unwrap();
    assert!(login_cookie.contains("SameSite=Strict"), "{login_cookie}");
    let login_cookie = login_cookie.split(';').next().unwrap().to_string();
    let csrf = csrf_of(&page.text().await.unwrap());
    let response = http
        .post(format!("{base}/dashboard/login"))
        .header("cookie", &login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/dashboard");
    let session = set_cookie(&response, "stratus_session").unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    session.split(';').next().unwrap().to_string()
}

/// GET `path` with `cookie`: (status, body).
async fn get_page(base: &str, path: &str, cookie: &str) -> (u16, String) {
    let response = client()
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// `application/x-www-form-urlencoded` body of `fields`, as a browser
/// encodes a form (reqwest's `form` needs a feature the server does not).
fn form_body<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// POST form `fields` to `path` with `cookie`: (status, location, body).
async fn post_form(
    base: &str,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let response = client()
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(fields))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

async fn forms_and_sessions(gateway: common::Gateway) {
    let base = gateway.base.as_str();
    let store = gateway.auth.store().clone();
    let (tenant, api_key) = acme(&gateway.auth).await;
    let keys_before = store.list_keys(&tenant).await.unwrap().len();

    // Public: the login page and the stylesheet, with no session.
    let css = client()
        .get(format!("{base}/dashboard/assets/dashboard.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // An API key is not a dashboard session.
    let response = client()
        .get(format!("{base}/dashboard"))
        .bearer_auth(&api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/dashboard/login");

    // The login form: its token must pair with its cookie.
    let (status, _, body) = post_form(
        base,
        "/dashboard/login",
        "stratus_login_csrf=".to_string().as_str(),
        &[("email", OWNER.0), ("password", OWNER.1), ("csrf", "x")],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let forged = "a".repeat(64);
    let (status, _, body) = post_form(
        base,
        "/dashboard/login",
        &format!("stratus_login_csrf={}", "b".repeat(64)),
        &[("email", OWNER.0), ("password", OWNER.1), ("csrf", &forged)],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // A wrong password: 401, the email echoed back escaped.
    let token = "c".repeat(64);
    let hostile = r#""><script>alert(1)</script>@x.example"#;
    let (status, _, body) = post_form(
        base,
        "/dashboard/login",
        &format!("stratus_login_csrf={token}"),
        &[("email", hostile), ("password", "wrong"), ("csrf", &token)],
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("Wrong email or password."), "{body}");
    assert!(!body.contains("<script>"), "{body}");
    assert!(body.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@x.example"));

    // Signed in: pages carry the security headers.
    let owner = form_login(base, OWNER).await;
    let response = client()
        .get(format!("{base}/dashboard/keys"))
        .header("cookie", &owner)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let csrf = csrf_of(&response.text().await.unwrap());

    // Without the session's CSRF token, nothing changes.
    for given in ["", "0000", &csrf[..csrf.len() - 1]] {
        let (status, _, body) = post_form(
            base,
            "/dashboard/keys/create",
            &owner,
            &[("csrf", given), ("name", "nope"), ("scope", "language")],
        )
        .await;
        assert_eq!(status, 403, "{body}");
    }
    // Another session's token is not this one's.
    let member = form_login(base, MEMBER).await;
    let (_, member_page) = get_page(base, "/dashboard/members", &member).await;
    let member_csrf = csrf_of(&member_page);
    assert_ne!(member_csrf, csrf);
    let (status, _, _) = post_form(
        base,
        "/dashboard/keys/create",
        &owner,
        &[("csrf", &member_csrf), ("scope", "language")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(store.list_keys(&tenant).await.unwrap().len(), keys_before);

    // With it: a key, shown once, and bad input answered on the page.
    let (status, _, body) = post_form(
        base,
        "/dashboard/keys/create",
        &owner,
        &[
            ("csrf", &csrf),
            ("name", "<b>ci</b>"),
            ("scope", "language"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#"id="new-secret""#) && body.contains("sk_"),
        "{body}"
    );
    assert!(body.contains("&lt;b&gt;ci&lt;/b&gt;") && !body.contains("<b>ci</b>"));
    let (_, again) = get_page(base, "/dashboard/keys", &owner).await;
    assert!(
        !again.contains("new-secret") && !again.contains("sk_"),
        "{again}"
    );
    for (field, value, says) in [
        ("scope", "admin", "only scopes you hold"),
        ("scope", "root", "unknown scope"),
        ("expires_in_days", "0", "expires_in_days must be 1 to"),
        ("tenant_id", "other", "unknown form field"),
    ] {
        let (status, _, body) = post_form(
            base,
            "/dashboard/keys/create",
            &owner,
            &[("csrf", &csrf), ("scope", "language"), (field, value)],
        )
        .await;
        assert_eq!(status, 400, "{field}={value}");
        assert!(body.contains(says), "{field}={value}: {body}");
    }
    assert_eq!(
        store.list_keys(&tenant).await.unwrap().len(),
        keys_before + 1
    );

    // Members and viewers cannot create or revoke, whatever they post.
    let viewer = form_login(base, VIEWER).await;
    let app_key = store.list_keys(&tenant).await.unwrap().pop().unwrap();
    for (cookie, page) in [(&member, &member_page), (&viewer, &String::new())] {
        let page = if page.is_empty() {
            get_page(base, "/dashboard/members", cookie).await.1
        } else {
            page.clone()
        };
        let csrf = csrf_of(&page);
        let (status, _, body) = post_form(
            base,
            "/dashboard/keys/create",
            cookie,
            &[("csrf", &csrf), ("scope", "usage:read")],
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("<html"), "an HTML refusal: {body}");
        let (status, _, _) = post_form(
            base,
            &format!("/dashboard/keys/{}/revoke", app_key.id),
            cookie,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(status, 403);
        let (status, keys_page) = get_page(base, "/dashboard/keys", cookie).await;
        assert_eq!(status, 200);
        assert!(!keys_page.contains("/dashboard/keys/create"));
    }
    assert_eq!(
        store.list_keys(&tenant).await.unwrap().len(),
        keys_before + 1
    );
    assert!(
        store
            .key_by_id(&app_key.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );

    // Another tenant's key id is not found, never revoked.
    let other = tenants::create_tenant(&gateway.auth, "globex")
        .await
        .unwrap();
    let theirs = gateway
        .auth
        .create_key(
            &other.id,
            KeySpec {
                scopes: Scopes::parse("language").unwrap(),
                ..KeySpec::default()
            },
        )
        .await
        .unwrap();
    let (status, _, _) = post_form(
        base,
        &format!("/dashboard/keys/{}/revoke", theirs.row.id),
        &owner,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        store
            .key_by_id(&theirs.row.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );

    // The owner revokes: back to the list, which says so.
    let (status, location, _) = post_form(
        base,
        &format!("/dashboard/keys/{}/revoke", app_key.id),
        &owner,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, listed) = get_page(base, &location, &owner).await;
    assert!(
        listed.contains(&format!("Key {} was revoked.", app_key.id)),
        "{listed}"
    );
    // A made-up id in the query is not echoed.
    let (_, listed) = get_page(base, "/dashboard/keys?revoked=%3Cb%3Ehi", &owner).await;
    assert!(!listed.contains("was revoked") && !listed.contains("hi</b>"));

    // Usage: a bad range is a 400 page, not a 500.
    let (status, body) = get_page(base, "/dashboard?range=1y", &owner).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("range `1y` is not one of"));

    // Signing out needs the token too, then drops the cookie.
    let (status, _, _) = post_form(base, "/dashboard/logout", &owner, &[("csrf", "x")]).await;
    assert_eq!(status, 403);
    let response = client()
        .post(format!("{base}/dashboard/logout"))
        .header("cookie", &owner)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", &csrf)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/dashboard/login");
    let cleared = set_cookie(&response, "stratus_session").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn forms_need_a_session_and_its_csrf_token_on_sqlite() {
    forms_and_sessions(common::Gateway::sqlite().await).await;
}

#[tokio::test]
async fn forms_need_a_session_and_its_csrf_token_on_postgres() {
    let url = stratus_testkit::fresh_postgres().await;
    forms_and_sessions(common::Gateway::start(&url).await).await;
}

/// GET `path` with the session `cookie` (or none): (status, location,
/// content type, content disposition, body).
async fn fetch(
    base: &str,
    path: &str,
    cookie: Option<&str>,
) -> (u16, String, String, String, String) {
    let mut request = client().get(format!("{base}{path}"));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (location, kind, disposition) = (
        header("location"),
        header("content-type"),
        header("content-disposition"),
    );
    (
        response.status().as_u16(),
        location,
        kind,
        disposition,
        response.text().await.unwrap(),
    )
}

/// GET `path` with API key `bearer`, as JSON.
async fn api_json(base: &str, path: &str, bearer: &str) -> serde_json::Value {
    let response = client()
        .get(format!("{base}{path}"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// GET `path` with API key `bearer`: (status, body).
async fn with_key(base: &str, path: &str, bearer: &str) -> (u16, String) {
    let response = client()
        .get(format!("{base}{path}"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn billing_pages(gateway: common::Gateway) {
    let base = gateway.base.as_str();
    let store = gateway.auth.store().clone();
    let (tenant, usage_key) = acme(&gateway.auth).await;
    let billing_key = billing_reader(&gateway.auth, &tenant).await;
    // One priced event this month: 1,500 tokens at the built-in 0.00002
    // per 1,000 is 0.00003.
    let now = now_ms();
    store
        .insert_usage_events(&[UsageEvent {
            id: uuid::Uuid::now_v7(),
            request_id: None,
            client_request_id: None,
            tenant_id: tenant.clone(),
            key_id: None,
            user_id: None,
            service: "language".into(),
            endpoint: "/v1/embeddings".into(),
            model: Some(EMBEDDER.into()),
            status: 200,
            latency_ms: 3,
            time_ms: now,
            units: Units {
                requests: 1,
                input_tokens: 1500,
                ..Units::default()
            },
        }])
        .await
        .unwrap();
    let month = Month::of_ms(now);
    let id = invoice_id(&tenant, month);
    let csv = format!("/dashboard/invoices/{id}/csv");

    // Without a session: the login page, for the page and the download.
    for path in ["/dashboard/invoices", csv.as_str()] {
        let (status, location, _, _, _) = fetch(base, path, None).await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/dashboard/login"),
            "{path}"
        );
    }
    // A credential without `billing:read` is refused as a page, as the
    // API refuses it; one with it is still not a dashboard session.
    for path in ["/dashboard/invoices", csv.as_str()] {
        let (status, body) = with_key(base, path, &usage_key).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            body.contains("<html") && body.contains("billing:read"),
            "{body}"
        );
        let (status, _) = with_key(base, &format!("/v1/billing/invoices/{id}"), &usage_key).await;
        assert_eq!(status, 403);
        let response = client()
            .get(format!("{base}{path}"))
            .bearer_auth(&billing_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/dashboard/login");
    }

    // Every role carries `billing:read` (viewers read bills): each sees
    // the invoice and downloads the API's own CSV of it.
    let (status, api_csv) = with_key(
        base,
        &format!("/v1/billing/invoices/{id}?format=csv"),
        &billing_key,
    )
    .await;
    assert_eq!(status, 200);
    assert!(api_csv.contains(",subtotal,,,0.00003\n"), "{api_csv}");
    for who in [VIEWER, MEMBER, OWNER] {
        let cookie = form_login(base, who).await;
        let (status, _, _, _, page) = fetch(base, "/dashboard/invoices", Some(&cookie)).await;
        assert_eq!(status, 200, "{}: {page}", who.0);
        assert!(
            page.contains(&format!(r#"data-invoice-id="{id}""#)),
            "{page}"
        );
        assert!(
            page.contains(
                r#"<strong class="total"><data class="money" value="0.00003" title="0.00003 USD exactly">0.00 USD</data></strong>"#
            ),
            "{page}"
        );
        assert!(
            page.contains(r#"href="/dashboard/invoices""#)
                && page.contains(r#"aria-current="page">Invoices"#)
        );
        let (status, _, kind, disposition, body) = fetch(base, &csv, Some(&cookie)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(kind, "text/csv; charset=utf-8");
        assert_eq!(disposition, format!("attachment; filename=\"{id}.csv\""));
        assert_eq!(body, api_csv);
    }

    // Ids that are not this tenant's, or not yet, are not found.
    let viewer = form_login(base, VIEWER).await;
    let other = tenants::create_tenant(&gateway.auth, "globex")
        .await
        .unwrap();
    for path in [
        format!("/dashboard/invoices/{}/csv", invoice_id(&other.id, month)),
        format!(
            "/dashboard/invoices/{}/csv",
            invoice_id(&tenant, month.next())
        ),
        "/dashboard/invoices/%3Cb%3Einv%3C%2Fb%3E/csv".to_string(),
    ] {
        let (status, _, kind, _, body) = fetch(base, &path, Some(&viewer)).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(!body.contains("<b>inv"), "{body}");
    }

    // Spend vs budget on the usage page: none set, then a zero hard budget
    // (nothing may be spent), which blocks requests.
    let (_, _, _, _, usage) = fetch(base, "/dashboard", Some(&viewer)).await;
    assert!(
        usage.contains(r#"id="spend""#) && usage.contains("No budget"),
        "{usage}"
    );
    assert!(!usage.contains("class=\"banner"), "{usage}");
    let (status, budget) = gateway
        .call(
            "PUT",
            &format!("/v1/admin/tenants/{tenant}/budget"),
            Some(&gateway.admin_key),
            Some(json!({"soft_limit": null, "hard_limit": "0"})),
        )
        .await;
    assert_eq!(status, 200, "{budget}");
    assert_eq!(budget["hard_limit_reached"], true, "{budget}");
    let (_, _, _, _, usage) = fetch(base, "/dashboard", Some(&viewer)).await;
    assert!(
        usage.contains(r#"<p class="banner error" role="alert">The hard budget of 0.00 USD"#),
        "{usage}"
    );
    assert!(
        usage.contains(
            r#"<dd id="spend-hard"><data class="money" value="0.00" title="0.00 USD exactly">0.00 USD</data></dd>"#
        ),
        "{usage}"
    );
    assert!(
        usage.contains(r#"<span id="spend-percent">100%</span>"#),
        "{usage}"
    );
}

#[tokio::test]
async fn invoices_need_billing_read_and_a_session_on_sqlite() {
    billing_pages(common::Gateway::sqlite_with_billing().await).await;
}

#[tokio::test]
async fn invoices_need_billing_read_and_a_session_on_postgres() {
    let url = stratus_testkit::fresh_postgres().await;
    billing_pages(common::Gateway::with_billing(&url).await).await;
}

/// A usage event of `tenant` now-ish (`i` ms apart), made with `key`.
fn event(tenant: &str, key: Option<&str>, request_id: String, status: u16, i: i64) -> UsageEvent {
    UsageEvent {
        id: uuid::Uuid::now_v7(),
        request_id: Some(request_id),
        client_request_id: None,
        tenant_id: tenant.into(),
        key_id: key.map(str::to_owned),
        user_id: None,
        service: "language".into(),
        endpoint: "/v1/embeddings".into(),
        model: Some(EMBEDDER.into()),
        status,
        latency_ms: 5,
        time_ms: now_ms() - 60_000 + i,
        units: Units {
            requests: 1,
            input_tokens: 1500,
            ..Units::default()
        },
    }
}

/// The `data-request-id`s of the request log's rows in `html`, in order.
fn logged_ids(html: &str) -> Vec<String> {
    html.split(r#"data-request-id=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

/// The `href` of the element with id `id` in `html` (`&amp;` decoded).
fn href_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!(r#"id="{id}" href=""#))? + id.len() + 12;
    Some(html[at..].split('"').next()?.replace("&amp;", "&"))
}

/// The request log, the cost page, per-key spend and the operator view:
/// each shows only what its viewer may see.
async fn tenant_pages(gateway: common::Gateway) {
    let base = gateway.base.as_str();
    let store = gateway.auth.store().clone();
    let (acme, _) = acme(&gateway.auth).await;
    let acme_key = store.list_keys(&acme).await.unwrap().pop().unwrap().id;
    let globex = tenants::create_tenant(&gateway.auth, "globex")
        .await
        .unwrap()
        .id;
    let globex_owner = ("gil@globex.example", "gil-password-1");
    tenants::create_user(
        &gateway.auth,
        &globex,
        globex_owner.0,
        globex_owner.1.into(),
        Role::Owner,
    )
    .await
    .unwrap();
    let ops = ("ops@stratus.example", "ops-password-1");
    let ops_member = ("opm@stratus.example", "opm-password-1");
    for ((email, password), role) in [(ops, Role::Owner), (ops_member, Role::Member)] {
        tenants::create_user(&gateway.auth, "system", email, password.into(), role)
            .await
            .unwrap();
    }
    // acme: 55 answered and 5 failed requests with its key; globex: 2.
    let mut events: Vec<UsageEvent> = (0..60)
        .map(|i| {
            let status = if i % 12 == 11 { 500 } else { 200 };
            event(&acme, Some(&acme_key), format!("acme-{i:02}"), status, i)
        })
        .collect();
    events.extend((0..2).map(|i| event(&globex, None, format!("globex-{i}"), 200, i)));
    store.insert_usage_events(&events).await.unwrap();

    // Without a session: the login page.
    for path in [
        "/dashboard/requests",
        "/dashboard/costs",
        "/dashboard/operator",
    ] {
        let (status, location, _, _, _) = fetch(base, path, None).await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/dashboard/login"),
            "{path}"
        );
    }

    // The log: acme's newest 50, then the older 10 through the cursor.
    let member = form_login(base, MEMBER).await;
    let (status, first) = get_page(base, "/dashboard/requests", &member).await;
    assert_eq!(status, 200, "{first}");
    let expected: Vec<String> = (0..60).rev().map(|i| format!("acme-{i:02}")).collect();
    assert_eq!(logged_ids(&first), expected[..50]);
    assert!(!first.contains("globex-"), "{first}");
    let older = href_of(&first, "older").expect("a link to older requests");
    let (_, second) = get_page(base, &older, &member).await;
    assert_eq!(logged_ids(&second), expected[50..]);
    assert!(href_of(&second, "older").is_none(), "{second}");
    // Filtered by status class: the five failures.
    let (_, failed) = get_page(base, "/dashboard/requests?status=5xx", &member).await;
    assert_eq!(
        logged_ids(&failed),
        ["acme-59", "acme-47", "acme-35", "acme-23", "acme-11"]
    );
    let (status, body) = get_page(base, "/dashboard/requests?status=%3Cb%3E", &member).await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.contains("<b>"), "{body}");
    // globex's owner sees globex's two, whatever cursor it passes.
    let gil = form_login(base, globex_owner).await;
    for path in [
        "/dashboard/requests",
        "/dashboard/requests?before=9223372036854775807",
    ] {
        let (_, theirs) = get_page(base, path, &gil).await;
        assert_eq!(logged_ids(&theirs), ["globex-1", "globex-0"], "{path}");
    }

    // Costs and per-key spend: what the draft invoice says, to the nano.
    let billing_key = billing_reader(&gateway.auth, &acme).await;
    let invoices = api_json(base, "/v1/billing/invoices", &billing_key).await;
    let subtotal = invoices["data"][0]["subtotal"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(subtotal, "0.00");
    let (status, costs) = get_page(base, "/dashboard/costs", &member).await;
    assert_eq!(status, 200, "{costs}");
    assert!(
        costs.contains(&format!(r#"data-total-exact="{subtotal}""#)),
        "{costs}"
    );
    assert!(
        costs.contains(&format!(r#"<li data-model="{EMBEDDER}">"#)),
        "{costs}"
    );
    let owner = form_login(base, OWNER).await;
    let (_, keys) = get_page(base, "/dashboard/keys", &owner).await;
    assert!(
        keys.contains(&format!(
            r#"<td class="num spent"><data class="money" value="{subtotal}""#
        )),
        "{keys}"
    );

    // The operator view: only the system tenant's owners.
    for cookie in [&owner, &member, &gil, &form_login(base, ops_member).await] {
        let (status, body) = get_page(base, "/dashboard/operator", cookie).await;
        assert_eq!(status, 403, "{body}");
        assert!(!body.contains("globex") && !body.contains("acme"), "{body}");
        let (_, usage) = get_page(base, "/dashboard", cookie).await;
        assert!(!usage.contains("/dashboard/operator"), "{usage}");
    }
    let operator = form_login(base, ops).await;
    // The system tenant has spent nothing: one line, no chart.
    let (_, none) = get_page(base, "/dashboard/costs", &operator).await;
    assert!(
        none.contains(r#"id="no-costs""#) && !none.contains("<svg"),
        "{none}"
    );
    let (status, view) = get_page(base, "/dashboard/operator", &operator).await;
    assert_eq!(status, 200, "{view}");
    assert!(view.contains(r#"href="/dashboard/operator""#), "{view}");
    for (tenant, requests) in [(&acme, 60), (&globex, 2)] {
        let row = view
            .split(&format!(r#"<tr data-tenant-id="{tenant}""#))
            .nth(1)
            .unwrap_or_else(|| panic!("no row for {tenant}: {view}"));
        let row = row.split("</tr>").next().unwrap();
        assert!(
            row.contains(&format!(r#"<td class="num requests">{requests}</td>"#)),
            "{row}"
        );
    }
}

#[tokio::test]
async fn request_log_costs_and_operator_view_on_sqlite() {
    tenant_pages(common::Gateway::sqlite_with_billing().await).await;
}

#[tokio::test]
async fn request_log_costs_and_operator_view_on_postgres() {
    let url = stratus_testkit::fresh_postgres().await;
    tenant_pages(common::Gateway::with_billing(&url).await).await;
}

// ---------------------------------------------------------------- browser

/// Where the screenshots go.
fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("STRATUS_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots")
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first of `candidates` that exists, or the one named by `env`.
fn binary(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    let path = binary(
        "STRATUS_CHROMEDRIVER",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    )
    .unwrap_or_else(|| {
        panic!(
            "chromedriver is missing: install chromium and chromium-driver \
             (scripts/test does), or set STRATUS_CHROMEDRIVER"
        )
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", path.display()));
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut options = json!({
        "args": [
            "--headless=new",
            // Root in CI containers: chromium's sandbox needs a user namespace.
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,1000",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    if let Some(chromium) = binary("STRATUS_CHROMIUM", &["/usr/bin/chromium"]) {
        options["binary"] = json!(chromium.display().to_string());
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap()
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// The text of the first `css` element, waiting for it to appear: a click
/// that submits a form returns before the next page has loaded.
async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn sign_in(browser: &Client, base: &str, (email, password): (&str, &str)) {
    browser
        .goto(&format!("{base}/dashboard/login"))
        .await
        .unwrap();
    browser
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    browser
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&format!("{base}/dashboard").parse().unwrap())
        .await
        .unwrap();
}

/// No horizontal scrolling: the page fits the window's width.
async fn fits_width(browser: &Client, page: &str) {
    let sizes = browser
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (sizes[0].as_i64().unwrap(), sizes[1].as_i64().unwrap());
    assert!(
        scroll <= inner,
        "{page}: {scroll}px wide in a {inner}px window"
    );
}

/// Prices that make a few embeddings requests cost a visible amount.
const PRICES: &str = r#"
currency = "USD"
default_plan = "metered"
[plans.metered]
prices = [
  { model = "*", unit = "1k_tokens", price = "1" },
  { model = "*", unit = "request", price = "0.001" },
]
"#;

/// The real language service behind the real gateway with metering and
/// billing ([`PRICES`]) on.
async fn metered_gateway(store: &Store, wal: &std::path::Path) -> (String, Auth, Billing) {
    let embedder = tokio::task::spawn_blocking(|| stratus_testkit::pulled(EMBEDDER))
        .await
        .unwrap();
    let readiness = Readiness::default();
    let language = LanguageService::new(LanguageConfig::new(8), readiness.clone());
    language.load(&embedder).unwrap();
    // The model loads on its own thread: the first requests must not race
    // it (on a busy machine they lose and get 404 model_not_found).
    let started = Instant::now();
    while !readiness.report().await.ready {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{EMBEDDER} never loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = InternalToken::generate().unwrap();
    let mut config = MeteringConfig::new(wal);
    config.flush_interval = Duration::from_millis(20);
    let meter = Meter::start(store.clone(), config).await.unwrap();
    let auth = Auth::new(store.clone(), &common::secret());
    let billing = Billing::start(
        store.clone(),
        BillingConfig::new(Catalog::from_toml(PRICES).unwrap()),
    );
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: Upstreams {
                speech: None,
                language: Some(Upstream::InProcess {
                    service: "language",
                    router: language.router_with_context(Some(token.clone())),
                }),
            }
            .into(),
            store: store.clone(),
            auth: auth.clone(),
            internal_token: token,
            metering: Some(meter),
            billing: Some(billing.clone()),
            limits: stratus_gateway::limits::Limits::disabled(),
            edge: stratus_gateway::EdgeConfig::default(),
        },
        Readiness::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, auth, billing)
}

/// An exact decimal amount (`0.00165`) at cents, as the dashboard shows it.
fn cents(exact: &str) -> String {
    stratus_gateway::billing::Nanos::parse(exact, 9)
        .unwrap()
        .cents()
}

/// The exact amount (`value`) of the first `css` `<data>` element.
async fn exact_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap()
}

/// The usage chart of `series` on the current page: (data-total, the sum
/// of its bars' values), or `None` when there is no such chart.
async fn chart_of(browser: &Client, series: &str) -> Option<(f64, f64)> {
    let found = browser
        .execute(
            "const svg = document.querySelector(`svg[data-series=\"${arguments[0]}\"]`);
             if (!svg) return null;
             const bars = Array.from(svg.querySelectorAll('rect.bar'));
             return [Number(svg.dataset.total), bars.reduce((s, r) => s + Number(r.dataset.value), 0)];",
            vec![json!(series)],
        )
        .await
        .unwrap();
    found
        .as_array()
        .map(|v| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_real_browser() {
    let driver = chromedriver();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}/stratus.db", dir.path().display()))
        .await
        .unwrap();
    let (base, auth, billing) = metered_gateway(&store, &dir.path().join("wal")).await;
    let (tenant, api_key) = acme(&auth).await;

    // Real metered requests: three embeddings calls with the tenant's key.
    let http = reqwest::Client::new();
    let mut request_ids = Vec::new();
    for input in ["one", "two words", "three more words"] {
        let response = http
            .post(format!("{base}/v1/embeddings"))
            .bearer_auth(&api_key)
            .json(&json!({"model": EMBEDDER, "input": input}))
            .send()
            .await
            .unwrap();
        request_ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_string(),
        );
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }

    let profile = tempfile::tempdir().unwrap();
    let browser = browser(&driver, profile.path()).await;

    // Without a session, the dashboard is the login page.
    browser.goto(&format!("{base}/dashboard")).await.unwrap();
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/dashboard/login"
    );
    screenshot(&browser, "01-login").await;
    sign_in(&browser, &base, OWNER).await;

    // The chart counts the three requests (events reach the store through
    // the batched writer, so wait for them).
    let started = Instant::now();
    loop {
        browser
            .goto(&format!(
                "{base}/dashboard?range=24h&group=service&metric=requests"
            ))
            .await
            .unwrap();
        match chart_of(&browser, "language").await {
            Some((total, bars)) if total >= 3.0 => {
                assert_eq!((total, bars), (3.0, 3.0));
                break;
            }
            seen => assert!(
                started.elapsed() < Duration::from_secs(30),
                "the usage chart never showed 3 requests: {seen:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(text_of(&browser, "#total-requests").await, "3");
    let label = browser
        .find(Locator::Css("svg[data-series=language]"))
        .await
        .unwrap()
        .attr("aria-labelledby")
        .await
        .unwrap()
        .unwrap();
    assert!(label.contains("-title") && label.contains("-desc"));
    screenshot(&browser, "02-usage").await;
    // Per model, through the form's own controls.
    browser
        .find(Locator::Css("#group option[value=model]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Css("form.controls button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The submit navigates; until the new page has loaded the old one (grouped
    // by service, without this series) may still be the document.
    let started = Instant::now();
    let per_model = loop {
        match chart_of(&browser, EMBEDDER).await {
            Some(found) => break found,
            None => assert!(
                started.elapsed() < Duration::from_secs(30),
                "the per-model chart never appeared"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(per_model, (3.0, 3.0));
    screenshot(&browser, "03-usage-per-model").await;

    // Billing: a budget whose soft limit the three requests pass, then the
    // spend panel and the invoices page, checked against the billing API.
    let billing_key = billing_reader(&auth, &tenant).await;
    set_tenant_budget(&billing, &tenant, Some("0.001"), Some("10"))
        .await
        .unwrap();
    // Reservations settle off the response path: wait until nothing is
    // held and the settled spend is the draft invoice's total.
    let started = Instant::now();
    let (budget, invoices) = loop {
        let budget = api_json(&base, "/v1/billing/budget", &billing_key).await;
        let invoices = api_json(&base, "/v1/billing/invoices", &billing_key).await;
        let draft = &invoices["data"][0];
        if budget["reserved"] == "0.00"
            && draft["subtotal_nanos"].as_i64() > Some(0)
            && budget["spent"] == draft["subtotal"]
        {
            break (budget, invoices);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "spend never settled: {budget} {invoices}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let draft = &invoices["data"][0];
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["lines"].as_array().unwrap().len(), 2, "{draft}");
    browser.goto(&format!("{base}/dashboard")).await.unwrap();
    let spent = budget["spent"].as_str().unwrap();
    // At cents on the page, exact in the markup.
    assert_eq!(
        text_of(&browser, "#spend-spent").await,
        format!("{} USD", cents(spent))
    );
    assert_eq!(exact_of(&browser, "#spend-spent data").await, spent);
    assert_eq!(text_of(&browser, "#spend-soft").await, "0.00 USD");
    assert_eq!(exact_of(&browser, "#spend-soft data").await, "0.001");
    assert_eq!(text_of(&browser, "#spend-hard").await, "10.00 USD");
    // Percent of the hard limit, in tenths, rounded down.
    let permille = draft["subtotal_nanos"].as_i64().unwrap() * 1000 / 10_000_000_000;
    let percent = match permille % 10 {
        0 => format!("{}%", permille / 10),
        tenth => format!("{}.{tenth}%", permille / 10),
    };
    assert_eq!(text_of(&browser, "#spend-percent").await, percent);
    let meter = browser
        .find(Locator::Id("spend-meter"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap();
    assert_eq!(meter, Some(permille.to_string()));
    let banner = text_of(&browser, "p.banner.warning").await;
    assert!(
        banner.contains(&format!(
            "({} USD) has passed the soft budget of 0.00 USD",
            cents(spent)
        )),
        "{banner}"
    );
    screenshot(&browser, "12-usage-budget").await;

    // The invoices page shows what the API says, line for line.
    browser
        .goto(&format!("{base}/dashboard/invoices"))
        .await
        .unwrap();
    let shown = browser
        .execute(
            "const text = (e, css) => e.querySelector(css).textContent;
             return Array.from(document.querySelectorAll('section.invoice')).map(s => ({
               id: s.dataset.invoiceId,
               status: s.dataset.status,
               total: text(s, 'strong.total'),
               exact: s.querySelector('strong.total data').value,
               lines: Array.from(s.querySelectorAll('tr.line')).map(tr => [
                 text(tr, 'td.model'), tr.dataset.unit, text(tr, 'td.quantity'),
                 text(tr, 'td.unit-price'), text(tr, 'td.amount'),
                 tr.querySelector('td.amount data').value]),
             }));",
            vec![],
        )
        .await
        .unwrap();
    let expected: Vec<serde_json::Value> = invoices["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|invoice| {
            let lines: Vec<serde_json::Value> = invoice["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    let model = match l["model"].as_str().unwrap() {
                        "*" => "any model",
                        model => model,
                    };
                    let amount = l["amount"].as_str().unwrap();
                    json!([model, l["unit"], l["quantity"], l["unit_price"], cents(amount), amount])
                })
                .collect();
            json!({
                "id": invoice["id"],
                "status": invoice["status"],
                "total": format!("{} {}", cents(invoice["subtotal"].as_str().unwrap()), invoice["currency"].as_str().unwrap()),
                "exact": invoice["subtotal"],
                "lines": lines,
            })
        })
        .collect();
    assert_eq!(shown, json!(expected));
    assert_eq!(
        text_of(&browser, "section.invoice h2 span").await,
        "Open (draft)"
    );
    screenshot(&browser, "13-invoices").await;
    // Its CSV link downloads the API's CSV of the same invoice.
    let id = draft["id"].as_str().unwrap();
    let href = browser
        .find(Locator::Css(&format!(
            "section[data-invoice-id='{id}'] a.csv"
        )))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let session = browser.get_named_cookie("stratus_session").await.unwrap();
    let download = client()
        .get(format!("{base}{href}"))
        .header("cookie", format!("stratus_session={}", session.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["content-disposition"],
        format!("attachment; filename=\"{id}.csv\"").as_str()
    );
    let csv = download.text().await.unwrap();
    let api_csv = http
        .get(format!("{base}/v1/billing/invoices/{id}?format=csv"))
        .bearer_auth(&billing_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv, api_csv);
    assert!(
        csv.contains(&format!(
            ",subtotal,,,{}\n",
            draft["subtotal"].as_str().unwrap()
        )),
        "{csv}"
    );

    // Cost over time: the month's spend per day stacked by model, its
    // total the draft invoice's to the nano. A second model's request,
    // stored as metering stores one, stacks on the same day.
    const OTHER: &str = "bge-small-en";
    store
        .insert_usage_events(&[UsageEvent {
            id: uuid::Uuid::now_v7(),
            request_id: Some("req_other_model".into()),
            client_request_id: None,
            tenant_id: tenant.clone(),
            key_id: None,
            user_id: None,
            service: "language".into(),
            endpoint: "/v1/embeddings".into(),
            model: Some(OTHER.into()),
            status: 200,
            latency_ms: 9,
            time_ms: now_ms(),
            units: Units {
                requests: 1,
                input_tokens: 20,
                ..Units::default()
            },
        }])
        .await
        .unwrap();
    let invoices = api_json(&base, "/v1/billing/invoices", &billing_key).await;
    let lines = invoices["data"][0]["lines"].as_array().unwrap().clone();
    let per_model = |model: &str| {
        let nanos: i64 = lines
            .iter()
            .filter(|l| l["model"] == model)
            .map(|l| l["amount_nanos"].as_i64().unwrap())
            .sum();
        stratus_gateway::billing::Nanos(nanos).cents()
    };
    browser
        .goto(&format!("{base}/dashboard/costs"))
        .await
        .unwrap();
    let subtotal = invoices["data"][0]["subtotal"].as_str().unwrap();
    let chart = browser
        .execute(
            "const svg = document.querySelector('svg.stacked');
             return {
               exact: svg.dataset.totalExact,
               total: svg.dataset.total,
               models: Array.from(new Set(Array.from(svg.querySelectorAll('rect.bar')).map(r => r.dataset.model))),
               legend: Array.from(document.querySelectorAll('.legend li')).map(li =>
                 [li.dataset.model, li.querySelector('.amount').textContent]),
               heading: document.querySelector('#costs-total').textContent,
             };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        chart,
        json!({
            "exact": subtotal,
            "total": cents(subtotal),
            "models": [EMBEDDER, OTHER],
            "legend": [
                [EMBEDDER, format!("{} USD", per_model(EMBEDDER))],
                [OTHER, format!("{} USD", per_model(OTHER))],
            ],
            "heading": format!("{} USD", cents(subtotal)),
        })
    );
    screenshot(&browser, "16-costs").await;

    // The request log: the three requests just made, newest first, with
    // the ids the gateway answered them with.
    browser
        .goto(&format!("{base}/dashboard/requests"))
        .await
        .unwrap();
    let rows = browser
        .execute(
            "return Array.from(document.querySelectorAll('#requests tbody tr')).map(tr =>
               [tr.dataset.requestId, tr.dataset.status, tr.cells[1].textContent, tr.cells[2].textContent]);",
            vec![],
        )
        .await
        .unwrap();
    let expected: Vec<serde_json::Value> =
        std::iter::once(json!(["req_other_model", "200", "/v1/embeddings", OTHER]))
            .chain(
                request_ids
                    .iter()
                    .rev()
                    .map(|id| json!([id, "200", "/v1/embeddings", EMBEDDER])),
            )
            .collect();
    assert_eq!(rows, json!(expected));
    screenshot(&browser, "17-requests").await;
    // Nothing failed: the 5xx filter says so in one line.
    browser
        .goto(&format!("{base}/dashboard/requests?status=5xx"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "#no-requests").await, "No requests yet.");

    // A hard limit below the spend: requests are refused, and the usage
    // page says so.
    set_tenant_budget(&billing, &tenant, Some("0.001"), Some("0.001"))
        .await
        .unwrap();
    let refused = http
        .post(format!("{base}/v1/embeddings"))
        .bearer_auth(&api_key)
        .json(&json!({"model": EMBEDDER, "input": "four"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    browser.goto(&format!("{base}/dashboard")).await.unwrap();
    let banner = text_of(&browser, "p.banner.error").await;
    assert!(
        banner.contains("hard budget of 0.00 USD") && banner.contains("429"),
        "{banner}"
    );
    assert_eq!(exact_of(&browser, "#spend-hard data").await, "0.001");
    screenshot(&browser, "14-usage-hard-limit").await;

    // Create a key: its secret is shown once, and it works.
    browser
        .goto(&format!("{base}/dashboard/keys"))
        .await
        .unwrap();
    browser
        .find(Locator::Id("key-name"))
        .await
        .unwrap()
        .send_keys("browser key")
        .await
        .unwrap();
    browser
        .find(Locator::Css("input[name=scope][value=language]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Css("form[action='/dashboard/keys/create'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let secret = text_of(&browser, "#new-secret").await;
    assert!(secret.starts_with("sk_"), "{secret}");
    let key_id = text_of(&browser, "#new-key-heading code").await;
    // No script, no copy button: one click selects the whole key to copy.
    browser
        .find(Locator::Id("new-secret"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let selected = browser
        .execute("return window.getSelection().toString();", vec![])
        .await
        .unwrap();
    assert_eq!(selected.as_str(), Some(secret.as_str()));
    screenshot(&browser, "04-key-created").await;
    let models = |secret: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.get(format!("{base}/v1/models"))
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(models(secret.clone()).await, 200);
    // Shown once: the list afterwards does not have it.
    browser
        .goto(&format!("{base}/dashboard/keys"))
        .await
        .unwrap();
    assert!(!browser.source().await.unwrap().contains(&secret));

    // Give it a budget of its own in its row's form: the page shows it.
    let budget_field = format!("tr[data-key-id='{key_id}'] input[name='hard_limit']");
    browser
        .find(Locator::Css(&budget_field))
        .await
        .unwrap()
        .send_keys("1.5")
        .await
        .unwrap();
    browser
        .find(Locator::Css(&format!(
            "tr[data-key-id='{key_id}'] td.budget button"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!(
            "tr[data-key-id='{key_id}'] input[name='hard_limit'][value='1.50']"
        )))
        .await
        .unwrap();
    screenshot(&browser, "05-key-budget").await;

    // Revoke it: the list says so, and the key stops working.
    browser
        .find(Locator::Css(&format!(
            "tr[data-key-id='{key_id}'] button.danger"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&browser, "p.banner").await.contains(&key_id));
    let state = text_of(
        &browser,
        &format!("tr[data-key-id='{key_id}'] td.status-revoked"),
    )
    .await;
    assert!(state.starts_with("Revoked"), "{state}");
    assert_eq!(models(secret).await, 401);
    screenshot(&browser, "05-key-revoked").await;

    browser
        .goto(&format!("{base}/dashboard/members"))
        .await
        .unwrap();
    let members = text_of(&browser, "#members").await;
    for (email, _) in [OWNER, MEMBER, VIEWER] {
        assert!(members.contains(email), "{members}");
    }
    screenshot(&browser, "06-members").await;

    // Phone width: nothing scrolls sideways.
    browser.set_window_size(390, 844).await.unwrap();
    for (path, name) in [
        ("/dashboard?range=30d", "07-phone-usage"),
        ("/dashboard/keys", "08-phone-keys"),
        ("/dashboard/members", "09-phone-members"),
        ("/dashboard/invoices", "15-phone-invoices"),
        ("/dashboard/costs", "18-phone-costs"),
        ("/dashboard/requests", "19-phone-requests"),
    ] {
        browser.goto(&format!("{base}{path}")).await.unwrap();
        fits_width(&browser, path).await;
        screenshot(&browser, name).await;
    }
    browser.set_window_size(1280, 1000).await.unwrap();

    // Sign out; a viewer has no key forms, and the server refuses one
    // built by hand with the viewer's own valid CSRF token.
    browser
        .find(Locator::Css(".who button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click returns before the redirect has landed.
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&format!("{base}/dashboard/login").parse().unwrap())
        .await
        .unwrap();
    sign_in(&browser, &base, VIEWER).await;
    browser
        .goto(&format!("{base}/dashboard/keys"))
        .await
        .unwrap();
    assert!(
        browser
            .find_all(Locator::Css(
                "form[action='/dashboard/keys/create'], td form"
            ))
            .await
            .unwrap()
            .is_empty()
    );
    screenshot(&browser, "10-viewer-keys").await;
    let keys_before = store.list_keys(&tenant).await.unwrap().len();
    let csrf = browser
        .find(Locator::Css(".who input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    browser
        .execute(
            "const form = document.createElement('form');
             form.method = 'post';
             form.action = '/dashboard/keys/create';
             for (const [name, value] of [['csrf', arguments[0]], ['name', 'sneaky'], ['scope', 'usage:read']]) {
               const input = document.createElement('input');
               input.type = 'hidden'; input.name = name; input.value = value;
               form.appendChild(input);
             }
             document.body.appendChild(form);
             form.submit();",
            vec![json!(csrf)],
        )
        .await
        .unwrap();
    let started = Instant::now();
    while browser.current_url().await.unwrap().path() != "/dashboard/keys/create" {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the forged form was not posted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(text_of(&browser, "h1").await, "Forbidden");
    assert!(text_of(&browser, "p.error").await.contains("keys"));
    screenshot(&browser, "11-viewer-refused").await;
    assert_eq!(store.list_keys(&tenant).await.unwrap().len(), keys_before);
    // The same from outside the browser, with the viewer's session cookie.
    let cookie = browser.get_named_cookie("stratus_session").await.unwrap();
    let (status, _, _) = post_form(
        &base,
        "/dashboard/keys/create",
        &format!("stratus_session={}", cookie.value()),
        &[("csrf", &csrf), ("scope", "usage:read")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(store.list_keys(&tenant).await.unwrap().len(), keys_before);

    // The operator view: refused to acme's users, shown to the system
    // tenant's owners, listing every tenant with this month's numbers.
    browser
        .goto(&format!("{base}/dashboard/operator"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "h1").await, "Forbidden");
    let globex = tenants::create_tenant(&auth, "globex").await.unwrap().id;
    store
        .insert_usage_events(&[UsageEvent {
            id: uuid::Uuid::now_v7(),
            request_id: None,
            client_request_id: None,
            tenant_id: globex.clone(),
            key_id: None,
            user_id: None,
            service: "language".into(),
            endpoint: "/v1/embeddings".into(),
            model: Some(EMBEDDER.into()),
            status: 200,
            latency_ms: 3,
            time_ms: now_ms(),
            units: Units {
                requests: 2,
                input_tokens: 10,
                ..Units::default()
            },
        }])
        .await
        .unwrap();
    // The system tenant, as a fresh deployment's first start makes it.
    tenants::bootstrap_admin(&auth, dir.path()).await.unwrap();
    let ops = ("ops@stratus.example", "ops-password-1");
    tenants::create_user(&auth, "system", ops.0, ops.1.into(), Role::Owner)
        .await
        .unwrap();
    sign_in(&browser, &base, ops).await;
    browser
        .find(Locator::Css("nav a[href='/dashboard/operator']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_of(&browser, "#tenants").await;
    let listed = browser
        .execute(
            "return Object.fromEntries(Array.from(document.querySelectorAll('#tenants tbody tr')).map(tr =>
               [tr.dataset.tenant, [tr.querySelector('td.requests').textContent,
                                    tr.querySelector('td.spent data').value]]));",
            vec![],
        )
        .await
        .unwrap();
    let acme_spent = billing.budget(&tenant).await.unwrap().spent.to_string();
    let acme_requests = store
        .usage_summary(
            &tenant,
            Month::of_ms(now_ms()).start_ms(),
            now_ms() + 1,
            86_400_000 * 40,
            stratus_gateway::store::usage::GroupBy::None,
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.units.requests)
        .sum::<i64>();
    assert!(acme_requests >= 3, "{acme_requests}");
    assert_eq!(
        listed,
        json!({
            "acme": [acme_requests.to_string(), acme_spent],
            "globex": ["2", "0.00"],
            "system": ["0", "0.00"],
        })
    );
    screenshot(&browser, "20-operator").await;

    browser.close().await.unwrap();
    let shots = std::fs::read_dir(screenshot_dir()).unwrap().count();
    assert!(shots >= 20, "{shots} screenshots");
}
