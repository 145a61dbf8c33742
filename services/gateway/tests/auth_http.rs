//! The gateway's identity and access over real HTTP: deny by default on
//! every route of the route table, scopes per route (403 in the envelope),
//! tenant context forwarded to upstreams and callers' forged context
//! dropped, the admin API, tenant isolation (another tenant's key is 404),
//! self-service keys, dashboard sessions (cookie and bearer) and bad tokens.
#![expect(
    clippy::unwrap_used,
    reason = "a failing test stops with the value it saw"
)]

mod common;

use common::Gateway;
use serde_json::json;
use stratus_gateway::auth::middleware::{Access, PUBLIC_PATHS};
use stratus_gateway::routes;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A concrete path for a route pattern.
fn concrete(pattern: &str) -> String {
    pattern
        .replace("{*rest}", "transcriptions")
        .replace("{tenant_id}", "ten_x")
        .replace("{key_id}", "key_x")
}

#[tokio::test]
async fn every_route_but_the_allowlist_answers_401_without_credentials() {
    let gateway = Gateway::sqlite().await;
    let table = routes::table();
    assert!(table.len() >= 21, "{table:?}");
    let mut walked = 0;
    for route in &table {
        let public = PUBLIC_PATHS.contains(&route.path);
        assert_eq!(
            public,
            route.access == Access::Public,
            "{route:?}: the table and the allowlist disagree"
        );
        let path = concrete(route.path);
        // Dashboard pages send a browser without a session to the login
        // page (303) instead of answering 401; nothing else differs.
        let page = stratus_gateway::dashboard::is_page(&path);
        for method in METHODS {
            if public {
                let (status, _) = gateway.call(method, &path, None, None).await;
                assert_ne!(status, 401, "{method} {path}");
                continue;
            }
            // None, then a malformed or made-up credential: no better.
            for bad in [
                None,
                Some("sk_nope"),
                Some("sk_0123456789abcdef_00"),
                Some("not-a-jwt"),
            ] {
                if page {
                    let (status, location) = unredirected(&gateway, method, &path, bad).await;
                    assert_eq!(status, 303, "{method} {path} with {bad:?}");
                    assert_eq!(location, "/dashboard/login", "{method} {path}");
                } else {
                    let (status, body) = gateway.call(method, &path, bad, None).await;
                    assert_eq!(status, 401, "{method} {path} with {bad:?}: {body}");
                    if bad.is_none() {
                        assert_eq!(body["error"]["type"], "authentication_error", "{body}");
                    }
                }
            }
            walked += 1;
        }
    }
    assert!(walked >= 60, "{walked}");
    // Unknown paths are refused before routing, so nothing leaks what exists.
    assert_eq!(gateway.call("GET", "/v1/nope", None, None).await.0, 401);
    assert_eq!(
        gateway
            .call("GET", "/metrics-or-anything", None, None)
            .await
            .0,
        401
    );
    for path in ["/healthz", "/readyz"] {
        assert_ne!(gateway.call("GET", path, None, None).await.0, 401, "{path}");
    }
    // A non-bearer scheme is refused with a message that says what to send.
    let response = gateway
        .client
        .get(format!("{}/v1/models", gateway.base))
        .basic_auth("user", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

/// `method path` (with `bearer`, if any) without following redirects:
/// status and `Location`.
async fn unredirected(
    gateway: &Gateway,
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> (u16, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, format!("{}{path}", gateway.base));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), location)
}

/// Create tenant `name` and a key for it with `scopes`; (tenant id, key).
async fn tenant_with_key(gateway: &Gateway, name: &str, scopes: &[&str]) -> (String, String) {
    let admin = Some(gateway.admin_key.as_str());
    let (status, tenant) = gateway
        .call(
            "POST",
            "/v1/admin/tenants",
            admin,
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(status, 201, "{tenant}");
    let id = tenant["id"].as_str().unwrap().to_string();
    let (status, key) = gateway
        .call(
            "POST",
            &format!("/v1/admin/tenants/{id}/keys"),
            admin,
            Some(json!({"scopes": scopes, "name": "test"})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    assert_eq!(key["object"], "api_key");
    (id, key["secret"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn scopes_per_route_and_context_forwarded() {
    let gateway = Gateway::sqlite().await;
    let (tenant, secret) = tenant_with_key(&gateway, "acme", &["language"]).await;
    let key = Some(secret.as_str());

    // Language: allowed, and the upstream learns who called, from the
    // gateway only: the caller's forged context headers are gone.
    let response = gateway
        .client
        .post(format!("{}/v1/embeddings", gateway.base))
        .bearer_auth(&secret)
        .header("x-stratus-tenant-id", "ten_forged")
        .header("x-stratus-internal-token", "f".repeat(64))
        .json(&json!({"input": "hi", "model": "m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let echoed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(echoed["tenant_id"], tenant.as_str(), "{echoed}");
    assert!(echoed["key_id"].as_str().unwrap().starts_with("key_"));
    assert_eq!(echoed["user_id"], serde_json::Value::Null);
    assert_eq!(echoed["headers_left"], json!([]), "{echoed}");
    assert_eq!(
        gateway
            .call("POST", "/v1/language/detect", key, None)
            .await
            .0,
        200
    );
    assert_eq!(gateway.call("GET", "/v1/models", key, None).await.0, 200);

    // Speech, admin and key management need scopes this key lacks.
    for (method, path, scope) in [
        ("POST", "/v1/audio/transcriptions", "speech"),
        ("GET", "/v1/admin/tenants", "admin"),
        ("GET", "/v1/keys", "keys"),
    ] {
        let (status, body) = gateway.call(method, path, key, None).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["type"], "permission_error");
        assert_eq!(body["error"]["code"], "insufficient_scope");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(scope),
            "{body}"
        );
    }
    let (status, me) = gateway.call("GET", "/v1/auth/me", key, None).await;
    assert_eq!(status, 200);
    assert_eq!(me["scopes"], json!(["language"]));
}

#[tokio::test]
async fn tenants_are_isolated_and_manage_their_own_keys() {
    let gateway = Gateway::sqlite().await;
    let admin = Some(gateway.admin_key.as_str());
    let (a, a_key) = tenant_with_key(&gateway, "acme", &["keys", "language"]).await;
    let (b, b_key) = tenant_with_key(&gateway, "globex", &["keys", "speech"]).await;
    let (a_key, b_key) = (Some(a_key.as_str()), Some(b_key.as_str()));

    // Each tenant sees only its own keys.
    let (_, a_list) = gateway.call("GET", "/v1/keys", a_key, None).await;
    let (_, b_list) = gateway.call("GET", "/v1/keys", b_key, None).await;
    assert_eq!(a_list["data"].as_array().unwrap().len(), 1);
    assert_eq!(a_list["data"][0]["tenant_id"], a.as_str());
    assert!(a_list["data"][0].get("secret").is_none());
    assert!(a_list["data"][0].get("secret_hash").is_none());
    let b_key_id = b_list["data"][0]["id"].as_str().unwrap().to_string();

    // A cannot revoke B's key by id: 404, and B's key keeps working.
    let (status, body) = gateway
        .call("DELETE", &format!("/v1/keys/{b_key_id}"), a_key, None)
        .await;
    assert_eq!(status, 404, "{body}");
    // Nor through the admin path with the wrong tenant.
    let (status, _) = gateway
        .call(
            "DELETE",
            &format!("/v1/admin/tenants/{a}/keys/{b_key_id}"),
            admin,
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(gateway.call("GET", "/v1/keys", b_key, None).await.0, 200);

    // Self-service: a new key only with scopes the maker holds.
    let (status, body) = gateway
        .call(
            "POST",
            "/v1/keys",
            a_key,
            Some(json!({"scopes": ["speech"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = gateway
        .call(
            "POST",
            "/v1/keys",
            a_key,
            Some(json!({"scopes": ["admin"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = gateway
        .call(
            "POST",
            "/v1/keys",
            a_key,
            Some(json!({"scopes": ["no-such"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, made) = gateway
        .call(
            "POST",
            "/v1/keys",
            a_key,
            Some(json!({"scopes": ["language"], "name": "made by acme", "expires_in_days": 7})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert!(made["expires_at"].as_i64().unwrap() > made["created_at"].as_i64().unwrap());
    let new_key = made["secret"].as_str().unwrap();
    assert_eq!(
        gateway
            .call("POST", "/v1/embeddings", Some(new_key), None)
            .await
            .0,
        200
    );
    // Revoked here: refused on the very next request.
    let new_id = made["id"].as_str().unwrap();
    assert_eq!(
        gateway
            .call("DELETE", &format!("/v1/keys/{new_id}"), a_key, None)
            .await
            .0,
        204
    );
    let (status, body) = gateway
        .call("POST", "/v1/embeddings", Some(new_key), None)
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    // Admin lists and bounds.
    let (status, tenants) = gateway.call("GET", "/v1/admin/tenants", admin, None).await;
    assert_eq!(status, 200);
    assert_eq!(tenants["data"].as_array().unwrap().len(), 3, "{tenants}");
    let (status, _) = gateway
        .call("GET", &format!("/v1/admin/tenants/{b}/keys"), admin, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        gateway
            .call("GET", "/v1/admin/tenants/ten_nope/keys", admin, None)
            .await
            .0,
        404
    );
    let (status, _) = gateway
        .call(
            "POST",
            "/v1/admin/tenants",
            admin,
            Some(json!({"name": "acme"})),
        )
        .await;
    assert_eq!(status, 409);
    let huge = "x".repeat(100 * 1024);
    let (status, _) = gateway
        .call(
            "POST",
            "/v1/admin/tenants",
            admin,
            Some(json!({"name": huge})),
        )
        .await;
    assert_eq!(status, 413);
    let (status, _) = gateway
        .call(
            "POST",
            "/v1/admin/tenants",
            admin,
            Some(json!({"nam": "typo"})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn dashboard_sessions_by_cookie_and_bearer() {
    let gateway = Gateway::sqlite().await;
    let admin = Some(gateway.admin_key.as_str());
    let (a, _) = tenant_with_key(&gateway, "acme", &["language"]).await;
    for (email, role) in [
        ("owner@acme.example", "owner"),
        ("viewer@acme.example", "viewer"),
    ] {
        let (status, user) = gateway
            .call(
                "POST",
                &format!("/v1/admin/tenants/{a}/users"),
                admin,
                Some(json!({"email": email, "password": "correct horse battery", "role": role})),
            )
            .await;
        assert_eq!(status, 201, "{user}");
        assert!(user.get("password_hash").is_none());
    }
    let (status, _) = gateway
        .call(
            "POST",
            &format!("/v1/admin/tenants/{a}/users"),
            admin,
            Some(json!({"email": "x@acme.example", "password": "correct horse", "role": "root"})),
        )
        .await;
    assert_eq!(status, 400);

    let login = |email: &'static str, password: &'static str| {
        gateway
            .client
            .post(format!("{}/v1/auth/login", gateway.base))
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    assert_eq!(
        login("owner@acme.example", "wrong password")
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        login("nobody@acme.example", "correct horse battery")
            .await
            .unwrap()
            .status(),
        401
    );

    let response = login("OWNER@acme.example", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("stratus_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(body["role"], "owner");

    // The cookie alone authenticates (the browser's way).
    let pair = cookie.split(';').next().unwrap();
    let me: serde_json::Value = gateway
        .client
        .get(format!("{}/v1/auth/me", gateway.base))
        .header("cookie", format!("theme=dark; {pair}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["tenant_id"], a.as_str(), "{me}");
    assert_eq!(me["role"], "owner");
    assert!(me["user_id"].as_str().unwrap().starts_with("usr_"));

    // As a bearer: an owner manages keys; the key made is the tenant's.
    let (status, made) = gateway
        .call(
            "POST",
            "/v1/keys",
            Some(&token),
            Some(json!({"scopes": ["speech"]})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["tenant_id"], a.as_str());
    // Sessions never reach the admin API.
    assert_eq!(
        gateway
            .call("GET", "/v1/admin/tenants", Some(&token), None)
            .await
            .0,
        403
    );

    // A viewer may not manage keys or use the services.
    let viewer: serde_json::Value = login("viewer@acme.example", "correct horse battery")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let viewer = viewer["token"].as_str().unwrap();
    assert_eq!(
        gateway.call("GET", "/v1/keys", Some(viewer), None).await.0,
        403
    );
    assert_eq!(
        gateway
            .call("POST", "/v1/embeddings", Some(viewer), None)
            .await
            .0,
        403
    );
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(viewer), None)
            .await
            .0,
        200
    );

    // A tampered token is refused.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[2] = parts[2].chars().rev().collect();
    let (status, body) = gateway
        .call("GET", "/v1/auth/me", Some(&parts.join(".")), None)
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("session")
    );

    // Logout drops the cookie.
    let response = gateway
        .client
        .post(format!("{}/v1/auth/logout", gateway.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

/// A method a route does not serve: 405 with `Allow` and the error
/// envelope, from the gateway's own routes and from each service's router
/// (whose answer the gateway forwards), never an empty body.
#[tokio::test]
async fn a_method_a_route_does_not_serve_is_405_in_the_envelope_with_allow() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use stratus_kit::health::Readiness;
    use tower::ServiceExt;

    let gateway = Gateway::sqlite().await;
    let key = gateway.admin_key.clone();
    for (method, path, allow) in [
        ("PUT", "/v1/models", "GET,HEAD"),
        ("DELETE", "/v1/admin/tenants", "GET,HEAD,POST"),
        ("PATCH", "/v1/audio/jobs/job_x", "GET,HEAD,DELETE"),
    ] {
        let response = gateway
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", gateway.base),
            )
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body["error"]["type"], "invalid_request_error",
            "{method} {path}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains(method),
            "{body}"
        );
    }

    // The services' own routers, as the gateway reaches them.
    let speech = stratus_speech::SpeechService::new(
        stratus_speech::SpeechConfig::default(),
        Readiness::default(),
    )
    .router();
    let language = stratus_language::LanguageService::new(
        stratus_language::LanguageConfig::new(8),
        Readiness::default(),
    )
    .router();
    for (router, path) in [
        (speech, "/v1/audio/transcriptions"),
        (language, "/v1/embeddings"),
    ] {
        let response = router
            .oneshot(axum::http::Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{path}");
        assert_eq!(response.headers()["allow"], "POST", "{path}");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error", "{path}");
    }
}
