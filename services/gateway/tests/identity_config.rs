//! The identity layer's knobs over real HTTP (issue 18, items 7 and 12):
//! the session cookie is `Secure` when the deployment's public URL is
//! https or a trusted proxy says the browser came over TLS, and never
//! because an untrusted client says so; behind a trusted proxy, sign-in
//! throttling counts the client `X-Forwarded-For` names, and without one
//! that header cannot buy an attacker fresh addresses; the public origin
//! passes the cross-site check of cookie-authenticated API calls.
#![expect(
    clippy::unwrap_used,
    reason = "a failing test stops with the value it saw"
)]

mod common;

use common::Gateway;
use serde_json::json;
use stratus_gateway::auth::AuthConfig;
use stratus_gateway::auth::client::WebConfig;
use stratus_gateway::auth::throttle::LoginConfig;

const PASSWORD: &str = "correct horse battery";

async fn with_owner(config: AuthConfig) -> Gateway {
    let gateway = Gateway::sqlite_with_auth(config).await;
    let admin = Some(gateway.admin_key.as_str());
    let (_, tenant) = gateway
        .call(
            "POST",
            "/v1/admin/tenants",
            admin,
            Some(json!({"name": "acme"})),
        )
        .await;
    let id = tenant["id"].as_str().unwrap();
    let (status, _) = gateway
        .call(
            "POST",
            &format!("/v1/admin/tenants/{id}/users"),
            admin,
            Some(json!({"email": "ann@acme.example", "password": PASSWORD, "role": "owner"})),
        )
        .await;
    assert_eq!(status, 201);
    gateway
}

/// Sign in with extra `headers`: (status, Set-Cookie, Retry-After).
async fn login(
    gateway: &Gateway,
    password: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Option<String>) {
    let mut request = gateway
        .client
        .post(format!("{}/v1/auth/login", gateway.base))
        .json(&json!({"email": "ann@acme.example", "password": password}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    (
        response.status().as_u16(),
        header("set-cookie").unwrap_or_default(),
        header("retry-after"),
    )
}

#[tokio::test]
async fn cookies_are_secure_behind_https_and_only_then() {
    // An https public URL: always Secure.
    let gateway = with_owner(AuthConfig {
        web: WebConfig::parse(&[], Some("https://stratus.example.com")).unwrap(),
        ..Default::default()
    })
    .await;
    let (status, cookie, _) = login(&gateway, PASSWORD, &[]).await;
    assert_eq!(status, 200);
    assert!(cookie.contains("; Secure"), "{cookie}");
    // The dashboard's cookies too (the login form's and the session's).
    let form = gateway
        .client
        .get(format!("{}/dashboard/login", gateway.base))
        .send()
        .await
        .unwrap();
    let form_cookie = form.headers()["set-cookie"].to_str().unwrap();
    assert!(form_cookie.contains("; Secure"), "{form_cookie}");

    // The public origin passes the cookie check of API calls.
    let (_, cookie, _) = login(&gateway, PASSWORD, &[]).await;
    let pair = cookie.split(';').next().unwrap();
    let post = |origin: &'static str| {
        gateway
            .client
            .post(format!("{}/v1/embeddings", gateway.base))
            .header("cookie", pair)
            .header("origin", origin)
            .json(&json!({"input": "hi"}))
            .send()
    };
    assert_eq!(
        post("https://stratus.example.com").await.unwrap().status(),
        200
    );
    assert_eq!(post("https://evil.example").await.unwrap().status(), 403);

    // Behind a trusted proxy: Secure when it says https, not otherwise.
    let proxied = with_owner(AuthConfig {
        web: WebConfig::parse(&["127.0.0.1".into()], None).unwrap(),
        ..Default::default()
    })
    .await;
    let (_, cookie, _) = login(&proxied, PASSWORD, &[("x-forwarded-proto", "https")]).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    let (_, cookie, _) = login(&proxied, PASSWORD, &[("x-forwarded-proto", "http")]).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
    // From a client no one trusts, the header means nothing.
    let direct = with_owner(AuthConfig::default()).await;
    let (_, cookie, _) = login(&direct, PASSWORD, &[("x-forwarded-proto", "https")]).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let login_config = LoginConfig {
        attempts_per_client_minute: 1000,
        failures_per_account: 2,
        concurrent_checks: 2,
    };
    // Behind our proxy (127.0.0.1): each forwarded client has its own
    // count for the account.
    let proxied = with_owner(AuthConfig {
        login: login_config,
        web: WebConfig::parse(&["127.0.0.0/8".into()], None).unwrap(),
        ..Default::default()
    })
    .await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    for _ in 0..2 {
        assert_eq!(login(&proxied, "guess", &from("198.51.100.1")).await.0, 401);
    }
    let (status, _, retry) = login(&proxied, "guess", &from("198.51.100.1")).await;
    assert_eq!(status, 429);
    assert!(retry.is_some());
    assert_eq!(
        login(&proxied, PASSWORD, &from("198.51.100.2")).await.0,
        200
    );

    // Without a trusted proxy, writing a new address in the header does
    // not make a new client.
    let direct = with_owner(AuthConfig {
        login: login_config,
        ..Default::default()
    })
    .await;
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(login(&direct, "guess", &from(ip)).await.0, 401);
    }
    assert_eq!(login(&direct, "guess", &from("198.51.100.3")).await.0, 429);
}
