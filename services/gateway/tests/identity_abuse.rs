//! What an outside attacker and a hostile tenant tried against the
//! identity layer (issue 18, items 7, 8, 9 and 12), kept as tests over real
//! HTTP against a gateway on 127.0.0.1:0 with its default configuration:
//!
//! - sign-in throttling: wrong guesses for one account from one address
//!   end in 429 + Retry-After while another account, and the same account
//!   from another address, are unaffected; one address is capped over all
//!   accounts; password checks are bounded (503 at once past the bound);
//! - sessions end server-side: sign-out, disabling, deleting a user and a
//!   new password end its tokens; a new role applies to open sessions;
//!   another tenant's user is 404; only owners change members;
//! - a `keys` key cannot escalate: new keys within its scopes and its
//!   expiry, revocations only of keys within its scopes, a per-tenant cap;
//! - the session cookie: `Cache-Control: no-store` on the login answer,
//!   and a cookie-only API call that changes something must come from our
//!   own origin (or carry the CSRF token).
//!
//! Other client addresses are real: Linux routes all of 127.0.0.0/8 to the
//! loopback interface, so a client bound to 127.0.0.2 is another address.
#![expect(
    clippy::unwrap_used,
    reason = "a failing test stops with the value it saw"
)]

mod common;

use common::Gateway;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// A client whose connections come from `ip` (a loopback address).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse().unwrap()))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `POST /v1/auth/login`: status, headers, JSON body.
async fn login(
    client: &reqwest::Client,
    gateway: &Gateway,
    email: &str,
    password: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = client
        .post(format!("{}/v1/auth/login", gateway.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// A tenant called `name` with users (email, role): (tenant id, user ids).
async fn tenant_with_users(
    gateway: &Gateway,
    name: &str,
    users: &[(&str, &str)],
) -> (String, Vec<String>) {
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
    let mut ids = Vec::new();
    for (email, role) in users {
        let (status, user) = gateway
            .call(
                "POST",
                &format!("/v1/admin/tenants/{id}/users"),
                admin,
                Some(json!({"email": email, "password": PASSWORD, "role": role})),
            )
            .await;
        assert_eq!(status, 201, "{user}");
        ids.push(user["id"].as_str().unwrap().to_string());
    }
    (id, ids)
}

/// A session token for `email` (from 127.0.0.1).
async fn token_of(gateway: &Gateway, email: &str) -> String {
    let (status, _, body) = login(&gateway.client, gateway, email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn wrong_guesses_end_in_429_for_that_account_and_address_only() {
    let gateway = Gateway::sqlite().await;
    tenant_with_users(
        &gateway,
        "acme",
        &[
            ("ann@acme.example", "owner"),
            ("bob@acme.example", "member"),
        ],
    )
    .await;
    let attacker = client_from("127.0.0.2");
    // The default: five failures per account and address, then one a minute.
    for n in 0..5 {
        let (status, _, body) = login(&attacker, &gateway, "ann@acme.example", "guess").await;
        assert_eq!(status, 401, "guess {n}: {body}");
    }
    let (status, headers, body) = login(&attacker, &gateway, "ANN@acme.example", "guess").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "login_throttled", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "bounded backoff: {wait}");
    // Throttled before the password is checked: the right one is refused
    // too, so the guesser learns nothing.
    let (status, _, _) = login(&attacker, &gateway, "ann@acme.example", PASSWORD).await;
    assert_eq!(status, 429);
    // The dashboard's login form shares the throttle.
    let page = attacker
        .get(format!("{}/dashboard/login", gateway.base))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_string();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let csrf = cookie.split('=').nth(1).unwrap().to_string();
    let form = attacker
        .post(format!("{}/dashboard/login", gateway.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=ann%40acme.example&password=guess&csrf={csrf}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 429);
    assert!(form.headers().contains_key("retry-after"));
    // Another account from the same address is not throttled…
    let (status, _, _) = login(&attacker, &gateway, "bob@acme.example", "guess").await;
    assert_eq!(status, 401);
    // …and the real user, from their own address, signs in.
    let (status, _, body) = login(
        &client_from("127.0.0.3"),
        &gateway,
        "ann@acme.example",
        PASSWORD,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A success starts the count over: two failures, a success, then five
    // more failures before the 429.
    let user = client_from("127.0.0.4");
    for _ in 0..2 {
        assert_eq!(
            login(&user, &gateway, "bob@acme.example", "typo").await.0,
            401
        );
    }
    assert_eq!(
        login(&user, &gateway, "bob@acme.example", PASSWORD).await.0,
        200
    );
    for _ in 0..5 {
        assert_eq!(
            login(&user, &gateway, "bob@acme.example", "typo").await.0,
            401
        );
    }
    assert_eq!(
        login(&user, &gateway, "bob@acme.example", "typo").await.0,
        429
    );
}

#[tokio::test]
async fn one_address_is_capped_over_every_account_and_checks_are_bounded() {
    let gateway = Gateway::sqlite().await;
    // Spraying: thirty attempts a minute from one address, whatever the
    // account (made-up ones included), then 429.
    let sprayer = client_from("127.0.0.5");
    let started = std::time::Instant::now();
    for n in 0..30 {
        let (status, _, body) = login(
            &sprayer,
            &gateway,
            &format!("u{n}@nowhere.example"),
            "guess",
        )
        .await;
        assert_eq!(status, 401, "attempt {n}: {body}");
    }
    // The bucket earns one attempt back every two seconds: on a loaded
    // machine, where thirty password checks take longer than that, the
    // sprayer may have earned one or two more, and no more.
    let mut earned_used = 0;
    let (status, headers) = loop {
        let (status, headers, body) =
            login(&sprayer, &gateway, "u99@nowhere.example", "guess").await;
        if status != 401 {
            break (status, headers);
        }
        earned_used += 1;
        let earned = started.elapsed().as_secs() / 2 + 1;
        assert!(
            earned_used <= earned,
            "{earned_used} attempts past the burst in {:?}: {body}",
            started.elapsed()
        );
    };
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        login(
            &client_from("127.0.0.6"),
            &gateway,
            "u99@nowhere.example",
            "guess"
        )
        .await
        .0,
        401
    );

    // A burst of sign-ins at once: at most two Argon2 checks run (the
    // default), the rest are answered 503 at once instead of queueing.
    let flood = client_from("127.0.0.7");
    let attempts = (0..16).map(|n| {
        let flood = flood.clone();
        let gateway = &gateway;
        async move { login(&flood, gateway, &format!("f{n}@nowhere.example"), "guess").await }
    });
    let answers = futures::future::join_all(attempts).await;
    let busy: Vec<&Value> = answers
        .iter()
        .filter(|(status, _, _)| *status == 503)
        .map(|(_, _, body)| body)
        .collect();
    assert!(
        answers
            .iter()
            .all(|(status, _, _)| [401, 503].contains(status)),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(
        !busy.is_empty(),
        "16 at once, 2 slots: some must be refused"
    );
    assert_eq!(busy[0]["error"]["code"], "overloaded", "{}", busy[0]);
    assert!(answers.iter().filter(|a| a.0 == 401).count() >= 2);
}

#[tokio::test]
async fn sessions_end_on_logout_disable_delete_and_password_change() {
    let gateway = Gateway::sqlite().await;
    let admin = Some(gateway.admin_key.as_str());
    let (tenant, users) = tenant_with_users(
        &gateway,
        "acme",
        &[
            ("ann@acme.example", "owner"),
            ("bob@acme.example", "member"),
            ("cy@acme.example", "member"),
        ],
    )
    .await;
    let (other, _) =
        tenant_with_users(&gateway, "globex", &[("gil@globex.example", "owner")]).await;
    let (ann, bob, cy) = (&users[0], &users[1], &users[2]);

    // Sign-out ends the token itself, not only the cookie.
    let token = token_of(&gateway, "ann@acme.example").await;
    let kept = token_of(&gateway, "ann@acme.example").await;
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(&token), None)
            .await
            .0,
        200
    );
    assert_eq!(
        gateway
            .call("POST", "/v1/auth/logout", Some(&token), None)
            .await
            .0,
        204
    );
    let (status, body) = gateway.call("GET", "/v1/auth/me", Some(&token), None).await;
    assert_eq!(status, 401, "{body}");
    // Only that session: another of the same user goes on.
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(&kept), None)
            .await
            .0,
        200
    );

    // Users are listed for operators, without password hashes.
    let (status, list) = gateway
        .call(
            "GET",
            &format!("/v1/admin/tenants/{tenant}/users"),
            admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    assert!(list["data"][0].get("password_hash").is_none());

    // A new role applies to the open session.
    let bob_token = token_of(&gateway, "bob@acme.example").await;
    assert_eq!(
        gateway
            .call("GET", "/v1/keys", Some(&bob_token), None)
            .await
            .0,
        403
    );
    let user_path = |t: &str, u: &str| format!("/v1/admin/tenants/{t}/users/{u}");
    let (status, changed) = gateway
        .call(
            "PATCH",
            &user_path(&tenant, bob),
            admin,
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["role"], "owner");
    let (_, me) = gateway
        .call("GET", "/v1/auth/me", Some(&bob_token), None)
        .await;
    assert_eq!(me["role"], "owner", "{me}");
    assert_eq!(
        gateway
            .call("GET", "/v1/keys", Some(&bob_token), None)
            .await
            .0,
        200
    );

    // Disabled: sessions end, sign-in refused (403 only with the right
    // password); enabled again: signs in.
    let (status, changed) = gateway
        .call(
            "PATCH",
            &user_path(&tenant, bob),
            admin,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert!(changed["disabled_at"].as_i64().is_some());
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(&bob_token), None)
            .await
            .0,
        401
    );
    let (status, _, body) = login(&gateway.client, &gateway, "bob@acme.example", PASSWORD).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "user_disabled");
    let (status, _, _) = login(&gateway.client, &gateway, "bob@acme.example", "wrong one").await;
    assert_eq!(status, 401);
    gateway
        .call(
            "PATCH",
            &user_path(&tenant, bob),
            admin,
            Some(json!({"disabled": false})),
        )
        .await;
    token_of(&gateway, "bob@acme.example").await;

    // A new password ends the sessions; the old one no longer signs in.
    let cy_token = token_of(&gateway, "cy@acme.example").await;
    let (status, body) = gateway
        .call(
            "PATCH",
            &user_path(&tenant, cy),
            admin,
            Some(json!({"password": "a brand new password"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(&cy_token), None)
            .await
            .0,
        401
    );
    assert_eq!(
        login(&gateway.client, &gateway, "cy@acme.example", PASSWORD)
            .await
            .0,
        401
    );
    assert_eq!(
        login(
            &gateway.client,
            &gateway,
            "cy@acme.example",
            "a brand new password"
        )
        .await
        .0,
        200
    );
    // Bad changes change nothing.
    for bad in [
        json!({}),
        json!({"role": "root"}),
        json!({"password": "short"}),
        json!({"rol": "x"}),
    ] {
        let (status, body) = gateway
            .call("PATCH", &user_path(&tenant, cy), admin, Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // Another tenant's user through this tenant's path: 404, unchanged.
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"disabled": true}))),
        ("DELETE", None),
    ] {
        let (status, _) = gateway
            .call(method, &user_path(&other, ann), admin, body)
            .await;
        assert_eq!(status, 404, "{method}");
    }
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(&kept), None)
            .await
            .0,
        200
    );

    // Only operators: a session (even an owner's) or a tenant key cannot.
    let (status, _) = gateway
        .call(
            "PATCH",
            &user_path(&tenant, cy),
            Some(&kept),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(status, 403);

    // Deleted: its sessions end and it cannot sign in.
    assert_eq!(
        gateway
            .call("DELETE", &user_path(&tenant, ann), admin, None)
            .await
            .0,
        204
    );
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(&kept), None)
            .await
            .0,
        401
    );
    assert_eq!(
        login(&gateway.client, &gateway, "ann@acme.example", PASSWORD)
            .await
            .0,
        401
    );
    assert_eq!(
        gateway
            .call("DELETE", &user_path(&tenant, ann), admin, None)
            .await
            .0,
        404
    );
}

/// The `csrf` value of the first form in `html`.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).unwrap() + 19;
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn owners_change_members_on_the_dashboard_and_no_one_else_does() {
    let gateway = Gateway::sqlite().await;
    let (_, users) = tenant_with_users(
        &gateway,
        "acme",
        &[
            ("ann@acme.example", "owner"),
            ("bob@acme.example", "member"),
            ("vic@acme.example", "viewer"),
        ],
    )
    .await;
    let (_, others) =
        tenant_with_users(&gateway, "globex", &[("gil@globex.example", "owner")]).await;
    let (ann, bob, vic, gil) = (&users[0], &users[1], &users[2], &others[0]);
    let http = client_from("127.0.0.1");
    let page = |token: String| {
        let http = http.clone();
        let base = gateway.base.clone();
        async move {
            let response = http
                .get(format!("{base}/dashboard/members"))
                .header("cookie", format!("stratus_session={token}"))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let post = |token: String, path: String, body: String| {
        let http = http.clone();
        let base = gateway.base.clone();
        async move {
            let response = http
                .post(format!("{base}{path}"))
                .header("cookie", format!("stratus_session={token}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }
    };
    let owner = token_of(&gateway, "ann@acme.example").await;
    let member = token_of(&gateway, "bob@acme.example").await;
    let viewer = token_of(&gateway, "vic@acme.example").await;
    let (status, html) = page(owner.clone()).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("/dashboard/members/{bob}/disable")),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let (_, member_html) = page(member.clone()).await;
    assert!(!member_html.contains("/disable"), "members get no forms");
    let member_csrf = csrf_of(&member_html);

    // A member (with their own valid token) cannot; nor can a forged token.
    let path = |user: &str, what: &str| format!("/dashboard/members/{user}/{what}");
    assert_eq!(
        post(
            member.clone(),
            path(vic, "disable"),
            format!("csrf={member_csrf}")
        )
        .await,
        403
    );
    assert_eq!(
        post(owner.clone(), path(vic, "disable"), "csrf=forged".into()).await,
        403
    );
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(&viewer), None)
            .await
            .0,
        200
    );

    // The owner: a role change applies to the open session.
    assert_eq!(
        post(
            owner.clone(),
            path(vic, "role"),
            format!("csrf={csrf}&role=member")
        )
        .await,
        303
    );
    let (_, me) = gateway
        .call("GET", "/v1/auth/me", Some(&viewer), None)
        .await;
    assert_eq!(me["role"], "member", "{me}");
    // Disable: the member's session ends (the dashboard sends it to the
    // login page); enable: they may sign in again.
    assert_eq!(
        post(owner.clone(), path(bob, "disable"), format!("csrf={csrf}")).await,
        303
    );
    assert_eq!(page(member.clone()).await.0, 303);
    assert!(page(owner.clone()).await.1.contains("disabled"));
    assert_eq!(
        post(owner.clone(), path(bob, "enable"), format!("csrf={csrf}")).await,
        303
    );
    token_of(&gateway, "bob@acme.example").await;
    // Not themselves, not another tenant's user.
    assert_eq!(
        post(owner.clone(), path(ann, "disable"), format!("csrf={csrf}")).await,
        400
    );
    assert_eq!(
        post(owner.clone(), path(gil, "delete"), format!("csrf={csrf}")).await,
        404
    );
    assert_eq!(
        post(
            owner.clone(),
            path(vic, "role"),
            format!("csrf={csrf}&role=root")
        )
        .await,
        400
    );
    // Delete.
    assert_eq!(
        post(owner.clone(), path(vic, "delete"), format!("csrf={csrf}")).await,
        303
    );
    assert_eq!(
        gateway
            .call("GET", "/v1/auth/me", Some(&viewer), None)
            .await
            .0,
        401
    );
    assert!(!page(owner.clone()).await.1.contains("vic@acme.example"));
}

/// A tenant with a key of `scopes` expiring in `days`: (tenant id, key).
async fn tenant_key(
    gateway: &Gateway,
    name: &str,
    scopes: &[&str],
    days: Option<u32>,
) -> (String, String) {
    let admin = Some(gateway.admin_key.as_str());
    let (_, tenant) = gateway
        .call(
            "POST",
            "/v1/admin/tenants",
            admin,
            Some(json!({"name": name})),
        )
        .await;
    let id = tenant["id"].as_str().unwrap().to_string();
    let (status, key) = gateway
        .call(
            "POST",
            &format!("/v1/admin/tenants/{id}/keys"),
            admin,
            Some(json!({"scopes": scopes, "expires_in_days": days})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    (id, key["secret"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_keys_key_cannot_outlive_or_outrank_itself_and_keys_are_capped() {
    let gateway = Gateway::sqlite().await;
    let admin = Some(gateway.admin_key.as_str());
    let (tenant, parent) = tenant_key(&gateway, "acme", &["keys", "language"], Some(1)).await;
    let parent = Some(parent.as_str());
    let (_, me) = gateway.call("GET", "/v1/keys", parent, None).await;
    let ceiling = me["data"][0]["expires_at"].as_i64().unwrap();

    // No expiry asked: it expires with its maker, not never.
    let (status, made) = gateway
        .call(
            "POST",
            "/v1/keys",
            parent,
            Some(json!({"scopes": ["language"]})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["expires_at"].as_i64(), Some(ceiling), "{made}");
    // Later than its maker: refused.
    for days in [2, 3650] {
        let (status, body) = gateway
            .call(
                "POST",
                "/v1/keys",
                parent,
                Some(json!({"scopes": ["language"], "expires_in_days": days})),
            )
            .await;
        assert_eq!(status, 400, "{days}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no later"),
            "{body}"
        );
    }
    // A scope it lacks: refused.
    let (status, _) = gateway
        .call(
            "POST",
            "/v1/keys",
            parent,
            Some(json!({"scopes": ["speech"]})),
        )
        .await;
    assert_eq!(status, 400);

    // Revoking: only keys within its own scopes.
    let (_, speech) = gateway
        .call(
            "POST",
            &format!("/v1/admin/tenants/{tenant}/keys"),
            admin,
            Some(json!({"scopes": ["speech"]})),
        )
        .await;
    let speech_id = speech["id"].as_str().unwrap();
    let (status, body) = gateway
        .call("DELETE", &format!("/v1/keys/{speech_id}"), parent, None)
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_scope");
    let speech_key = speech["secret"].as_str();
    assert_eq!(
        gateway.call("GET", "/v1/models", speech_key, None).await.0,
        200
    );
    let made_id = made["id"].as_str().unwrap();
    assert_eq!(
        gateway
            .call("DELETE", &format!("/v1/keys/{made_id}"), parent, None)
            .await
            .0,
        204
    );

    // An owner's session keeps its powers: no expiry, any tenant scope,
    // revokes the speech key.
    let (status, _) = gateway
        .call(
            "POST",
            &format!("/v1/admin/tenants/{tenant}/users"),
            admin,
            Some(json!({"email": "ann@acme.example", "password": PASSWORD, "role": "owner"})),
        )
        .await;
    assert_eq!(status, 201);
    let owner = token_of(&gateway, "ann@acme.example").await;
    let (status, made) = gateway
        .call(
            "POST",
            "/v1/keys",
            Some(&owner),
            Some(json!({"scopes": ["speech", "keys"]})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["expires_at"], Value::Null);
    assert_eq!(
        gateway
            .call(
                "DELETE",
                &format!("/v1/keys/{speech_id}"),
                Some(&owner),
                None
            )
            .await
            .0,
        204
    );

    // The cap (default 100 working keys), counted from what the tenant
    // holds now (revoked keys do not count).
    let (_, list) = gateway.call("GET", "/v1/keys", parent, None).await;
    let working = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["revoked_at"].is_null())
        .count();
    let mut accepted = working;
    let mut last = Value::Null;
    // A key the parent made (language only), to revoke below: the newest
    // in the list may be the owner's broader key, made in the same second.
    let mut victim = String::new();
    for _ in 0..300 {
        let (status, body) = gateway
            .call(
                "POST",
                "/v1/keys",
                parent,
                Some(json!({"scopes": ["language"]})),
            )
            .await;
        if status != 201 {
            assert_eq!(status, 409, "{body}");
            last = body;
            break;
        }
        accepted += 1;
        victim = body["id"].as_str().unwrap().to_string();
        last = body;
    }
    assert_eq!(accepted, 100, "{last}");
    assert_eq!(last["error"]["code"], "key_limit_reached", "{last}");
    // Revoking one makes room; operators are not capped.
    assert_eq!(
        gateway
            .call("DELETE", &format!("/v1/keys/{victim}"), parent, None)
            .await
            .0,
        204
    );
    assert_eq!(
        gateway
            .call(
                "POST",
                "/v1/keys",
                parent,
                Some(json!({"scopes": ["language"]}))
            )
            .await
            .0,
        201
    );
    let (status, _) = gateway
        .call(
            "POST",
            &format!("/v1/admin/tenants/{tenant}/keys"),
            admin,
            Some(json!({"scopes": ["language"]})),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_cookie_alone_changes_nothing_from_another_origin() {
    let gateway = Gateway::sqlite().await;
    tenant_with_users(&gateway, "acme", &[("ann@acme.example", "owner")]).await;
    let (status, headers, body) =
        login(&gateway.client, &gateway, "ann@acme.example", PASSWORD).await;
    assert_eq!(status, 200);
    let token = body["token"].as_str().unwrap();
    let cookie = format!("stratus_session={token}");

    let transcribe = |origin: Option<&str>, csrf: Option<&str>, bearer: bool| {
        let form = reqwest::multipart::Form::new()
            .text("model", "whisper-1")
            .part(
                "file",
                reqwest::multipart::Part::bytes(vec![0u8; 64]).file_name("a.wav"),
            );
        let mut request = gateway
            .client
            .post(format!("{}/v1/audio/transcriptions", gateway.base))
            .multipart(form);
        request = if bearer {
            request.bearer_auth(token)
        } else {
            request.header("cookie", &cookie)
        };
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    // Another origin, or none: refused before reaching the service.
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let (status, body) = transcribe(origin, None, false).await;
        assert_eq!(status, 403, "{origin:?}: {body}");
        assert_eq!(body["error"]["code"], "csrf_failed", "{body}");
    }
    let (status, _) = transcribe(Some("https://evil.example"), Some("forged"), false).await;
    assert_eq!(status, 403);
    // Our own origin, or the session's CSRF token: through.
    let ours = gateway.base.clone();
    let csrf = body["csrf_token"].as_str().unwrap();
    assert_eq!(transcribe(Some(&ours), None, false).await.0, 200);
    assert_eq!(
        transcribe(Some("https://evil.example"), Some(csrf), false)
            .await
            .0,
        200
    );
    // A bearer token is never sent by a browser on its own: no check.
    assert_eq!(
        transcribe(Some("https://evil.example"), None, true).await.0,
        200
    );
    // The login answer holds a credential: never cached; over plain HTTP
    // without an https public URL the cookie cannot be `Secure`.
    assert_eq!(headers["cache-control"], "no-store");
    let set_cookie = headers["set-cookie"].to_str().unwrap();
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    // Reading with the cookie needs no proof.
    let me = gateway
        .client
        .get(format!("{}/v1/auth/me", gateway.base))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // Signing out with the cookie from elsewhere is refused too; from our
    // pages it works and clears the cookie.
    let logout = |origin: &str| {
        gateway
            .client
            .post(format!("{}/v1/auth/logout", gateway.base))
            .header("cookie", &cookie)
            .header("origin", origin)
            .send()
    };
    assert_eq!(logout("https://evil.example").await.unwrap().status(), 403);
    let out = logout(&ours).await.unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(out.headers()["cache-control"], "no-store");
}
