//! Keys, tenants and users in the store, the same on SQLite and PostgreSQL:
//! keys verify, carry their scopes, fail when expired or revoked (revoked:
//! at once here, within the cache TTL on another replica), record their last
//! use off the hot path; one tenant cannot revoke another's key; names and
//! emails are unique. Sessions have rows: ending one, disabling, deleting or
//! re-passwording a user ends its sessions here at once and on another
//! replica within the cache TTL, a new role reaches open sessions; a `keys`
//! key makes keys within its scopes and expiry, under the tenant's cap.
#![expect(
    clippy::unwrap_used,
    reason = "a failing test stops with the value it saw"
)]

mod common;

use std::time::Duration;

use stratus_gateway::auth::keys::{self, KeyHasher};
use stratus_gateway::auth::{Auth, AuthError, KeySpec, Role, Scope, Scopes};
use stratus_gateway::store::identity::KeyRow;
use stratus_gateway::{Store, tenants};

async fn check_identity(url: &str) {
    let store = Store::open(url).await.unwrap();
    let auth = Auth::new(store.clone(), &common::secret());
    let a = tenants::create_tenant(&auth, "acme").await.unwrap();
    let b = tenants::create_tenant(&auth, "globex").await.unwrap();
    assert!(matches!(
        tenants::create_tenant(&auth, "acme").await,
        Err(AuthError::Conflict(_))
    ));
    assert!(matches!(
        tenants::create_tenant(&auth, "system").await,
        Err(AuthError::Conflict(_))
    ));
    assert!(matches!(
        tenants::create_tenant(&auth, "no spaces").await,
        Err(AuthError::BadRequest(_))
    ));

    // Create and verify.
    let spec = KeySpec {
        name: Some("ci".into()),
        scopes: [Scope::Language, Scope::UsageRead].into(),
        expires_in_days: Some(30),
    };
    let key = auth.create_key(&a.id, spec.clone()).await.unwrap();
    assert!(key.secret.starts_with("sk_"));
    assert!(
        !key.row
            .secret_hash
            .contains(keys::parse(&key.secret).unwrap().secret)
    );
    let principal = auth.verify_key(&key.secret).await.unwrap();
    assert_eq!(principal.tenant_id, a.id);
    assert_eq!(principal.key_id.as_deref(), Some(key.row.id.as_str()));
    assert_eq!(
        principal.scopes,
        Scopes::from([Scope::Language, Scope::UsageRead])
    );
    // A wrong secret with a real id, and a key of another server secret.
    let mut wrong = key.secret.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    assert!(matches!(
        auth.verify_key(&wrong).await,
        Err(AuthError::InvalidKey)
    ));
    let other_server = Auth::new(
        store.clone(),
        &stratus_gateway::auth::ServerSecret::new(&"o".repeat(40)).unwrap(),
    );
    assert!(matches!(
        other_server.verify_key(&key.secret).await,
        Err(AuthError::InvalidKey)
    ));
    // Only the system tenant may hold `admin`; limits are checked.
    let admin_spec = KeySpec {
        scopes: [Scope::Admin].into(),
        ..KeySpec::default()
    };
    assert!(matches!(
        auth.create_key(&a.id, admin_spec).await,
        Err(AuthError::BadRequest(_))
    ));
    for bad in [
        KeySpec::default(),
        KeySpec {
            expires_in_days: Some(0),
            ..spec.clone()
        },
        KeySpec {
            expires_in_days: Some(100_000),
            ..spec.clone()
        },
        KeySpec {
            name: Some("n".repeat(101)),
            ..spec.clone()
        },
    ] {
        assert!(matches!(
            auth.create_key(&a.id, bad).await,
            Err(AuthError::BadRequest(_))
        ));
    }

    // Last use is recorded when flushed, not on the request.
    assert_eq!(store.list_keys(&a.id).await.unwrap()[0].last_used_at, None);
    auth.flush_last_used().await;
    assert!(
        store.list_keys(&a.id).await.unwrap()[0]
            .last_used_at
            .is_some()
    );

    // An expired key (written directly: the API only makes future expiries).
    let hasher = KeyHasher::new(&common::secret());
    let (id, secret) = keys::generate().unwrap();
    let now = stratus_gateway::auth::unix_now();
    store
        .insert_key(&KeyRow {
            id,
            tenant_id: a.id.clone(),
            name: None,
            secret_hash: hasher.hash(keys::parse(&secret).unwrap().secret),
            scopes: "language".into(),
            created_at: now - 100,
            expires_at: Some(now - 1),
            revoked_at: None,
            last_used_at: None,
        })
        .await
        .unwrap();
    assert!(matches!(
        auth.verify_key(&secret).await,
        Err(AuthError::Expired)
    ));

    // Tenant B cannot revoke A's key: not found, and the key still works.
    assert!(matches!(
        auth.revoke_key(&b.id, &key.row.id).await,
        Err(AuthError::NotFound(_))
    ));
    auth.verify_key(&key.secret).await.unwrap();
    assert!(store.list_keys(&b.id).await.unwrap().is_empty());

    // A second replica has the key cached; a revocation here fails it here
    // at once and there within the cache TTL.
    let replica = Auth::new(store.clone(), &common::secret());
    replica.verify_key(&key.secret).await.unwrap();
    auth.revoke_key(&a.id, &key.row.id).await.unwrap();
    assert!(matches!(
        auth.verify_key(&key.secret).await,
        Err(AuthError::Revoked)
    ));
    tokio::time::sleep(keys::CACHE_TTL + Duration::from_millis(100)).await;
    assert!(matches!(
        replica.verify_key(&key.secret).await,
        Err(AuthError::Revoked)
    ));
    // Revoking twice keeps the first time.
    let first = store
        .key_by_id(&key.row.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at;
    auth.revoke_key(&a.id, &key.row.id).await.unwrap();
    assert_eq!(
        store
            .key_by_id(&key.row.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        first
    );

    // Users: emails are normalised and unique across tenants.
    let user = tenants::create_user(
        &auth,
        &a.id,
        " Ann@Acme.example ",
        "hunter2hunter2".into(),
        Role::Owner,
    )
    .await
    .unwrap();
    assert_eq!(user.email, "ann@acme.example");
    assert!(user.password_hash.starts_with("$argon2id$"));
    assert!(matches!(
        tenants::create_user(
            &auth,
            &b.id,
            "ann@acme.example",
            "another-password".into(),
            Role::Viewer
        )
        .await,
        Err(AuthError::Conflict(_))
    ));
    assert!(matches!(
        tenants::create_user(
            &auth,
            &b.id,
            "not-an-email",
            "another-password".into(),
            Role::Viewer
        )
        .await,
        Err(AuthError::BadRequest(_))
    ));
    assert!(matches!(
        tenants::create_user(
            &auth,
            &b.id,
            "bo@globex.example",
            "short".into(),
            Role::Viewer
        )
        .await,
        Err(AuthError::Password(_))
    ));
    assert_eq!(
        store
            .user_by_email("ann@acme.example")
            .await
            .unwrap()
            .unwrap()
            .id,
        user.id
    );

    // Members of a tenant: only its own users, oldest first.
    let carl = tenants::create_user(
        &auth,
        &a.id,
        "carl@acme.example",
        "another-password".into(),
        Role::Viewer,
    )
    .await
    .unwrap();
    let members: Vec<String> = store
        .list_users(&a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(members, [user.id.clone(), carl.id]);
    assert!(store.list_users(&b.id).await.unwrap().is_empty());

    // Bootstrap happens once per store.
    let home = tempfile::tempdir().unwrap();
    assert!(
        tenants::bootstrap_admin(&auth, home.path())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        tenants::bootstrap_admin(&auth, home.path())
            .await
            .unwrap()
            .is_none()
    );
    let mut names: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    assert_eq!(names, ["acme", "globex", "system"]);
}

#[tokio::test]
async fn identity_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check_identity(&format!("sqlite://{}/stratus.db", dir.path().display())).await;
}

#[tokio::test]
async fn identity_on_postgres() {
    check_identity(&stratus_testkit::fresh_postgres().await).await;
}

async fn check_sessions_and_users(url: &str) {
    let store = Store::open(url).await.unwrap();
    // Two replicas over one store, each with its own caches.
    let here = Auth::new(store.clone(), &common::secret());
    let there = Auth::new(store.clone(), &common::secret());
    let a = tenants::create_tenant(&here, "acme").await.unwrap();
    let b = tenants::create_tenant(&here, "globex").await.unwrap();
    let ann = tenants::create_user(
        &here,
        &a.id,
        "ann@acme.example",
        "ann-password".into(),
        Role::Owner,
    )
    .await
    .unwrap();
    let settle = || tokio::time::sleep(keys::CACHE_TTL + Duration::from_millis(100));
    let role_of = |auth: &Auth, token: &str| {
        let auth = auth.clone();
        let token = token.to_string();
        async move { auth.verify_session(&token).await.map(|(p, _)| p.role) }
    };

    // A session verifies on both replicas; ending it here refuses it here
    // at once and there within the TTL.
    let token = here.start_session(&ann, Role::Owner).await.unwrap();
    let (principal, sid) = there.verify_session(&token).await.unwrap();
    assert_eq!(principal.user_id.as_deref(), Some(ann.id.as_str()));
    assert_eq!(principal.tenant_id, a.id);
    here.end_session(&sid.0).await.unwrap();
    assert!(here.verify_session(&token).await.is_err());
    settle().await;
    assert!(matches!(
        there.verify_session(&token).await,
        Err(AuthError::Session(_))
    ));

    // A role change reaches the open session (its token still says owner).
    let token = here.start_session(&ann, Role::Owner).await.unwrap();
    assert_eq!(role_of(&there, &token).await.unwrap(), Some(Role::Owner));
    tenants::set_user_role(&here, &a.id, &ann.id, Role::Viewer)
        .await
        .unwrap();
    assert_eq!(role_of(&here, &token).await.unwrap(), Some(Role::Viewer));
    settle().await;
    let (principal, _) = there.verify_session(&token).await.unwrap();
    assert_eq!(principal.role, Some(Role::Viewer));
    assert!(!principal.scopes.contains(Scope::Keys));
    // Not through another tenant.
    assert!(matches!(
        tenants::set_user_role(&here, &b.id, &ann.id, Role::Owner).await,
        Err(AuthError::NotFound(_))
    ));
    assert!(matches!(
        tenants::set_user_disabled(&here, &b.id, &ann.id, true).await,
        Err(AuthError::NotFound(_))
    ));
    assert!(matches!(
        tenants::delete_user(&here, &b.id, &ann.id).await,
        Err(AuthError::NotFound(_))
    ));
    assert!(role_of(&here, &token).await.is_ok());

    // Disabled: every session ends; enabled: old sessions stay ended.
    let second = here.start_session(&ann, Role::Viewer).await.unwrap();
    tenants::set_user_disabled(&here, &a.id, &ann.id, true)
        .await
        .unwrap();
    assert!(
        store
            .user_by_id(&ann.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_some()
    );
    assert!(role_of(&here, &token).await.is_err());
    assert!(role_of(&here, &second).await.is_err());
    settle().await;
    assert!(role_of(&there, &token).await.is_err());
    tenants::set_user_disabled(&here, &a.id, &ann.id, false)
        .await
        .unwrap();
    assert!(
        store
            .user_by_id(&ann.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none()
    );
    assert!(role_of(&here, &token).await.is_err());

    // A new password: sessions end, the hash changes.
    let token = here.start_session(&ann, Role::Viewer).await.unwrap();
    let before = store
        .user_by_id(&ann.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    tenants::set_user_password(&here, &a.id, &ann.id, "a new password".into())
        .await
        .unwrap();
    let after = store
        .user_by_id(&ann.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_ne!(before, after);
    assert!(stratus_gateway::auth::password::verify(
        "a new password",
        &after
    ));
    assert!(role_of(&here, &token).await.is_err());
    assert!(matches!(
        tenants::set_user_password(&here, &a.id, &ann.id, "short".into()).await,
        Err(AuthError::Password(_))
    ));

    // Deleted: the user and its sessions are gone.
    let token = here.start_session(&ann, Role::Viewer).await.unwrap();
    assert!(role_of(&there, &token).await.is_ok());
    tenants::delete_user(&here, &a.id, &ann.id).await.unwrap();
    assert!(store.user_by_id(&ann.id).await.unwrap().is_none());
    assert!(role_of(&here, &token).await.is_err());
    settle().await;
    assert!(role_of(&there, &token).await.is_err());
    assert!(matches!(
        tenants::delete_user(&here, &a.id, &ann.id).await,
        Err(AuthError::NotFound(_))
    ));
    // Its session rows went with it.
    assert_eq!(store.delete_expired_sessions(i64::MAX).await.unwrap(), 0);
}

#[tokio::test]
async fn sessions_and_users_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check_sessions_and_users(&format!("sqlite://{}/stratus.db", dir.path().display())).await;
}

#[tokio::test]
async fn sessions_and_users_on_postgres() {
    check_sessions_and_users(&stratus_testkit::fresh_postgres().await).await;
}

async fn check_own_keys(url: &str) {
    let store = Store::open(url).await.unwrap();
    let config = stratus_gateway::auth::AuthConfig {
        max_keys_per_tenant: 3,
        ..Default::default()
    };
    let auth = Auth::with_config(store.clone(), &common::secret(), config);
    let a = tenants::create_tenant(&auth, "acme").await.unwrap();
    let b = tenants::create_tenant(&auth, "globex").await.unwrap();
    let spec = |scopes: &[Scope], days: Option<u32>| KeySpec {
        name: None,
        scopes: Scopes(scopes.iter().copied().collect()),
        expires_in_days: days,
    };
    let parent = auth
        .create_key(&a.id, spec(&[Scope::Keys, Scope::Language], Some(1)))
        .await
        .unwrap();
    let maker = auth.verify_key(&parent.secret).await.unwrap();
    // Within its scopes and its expiry (none asked: its own).
    let child = auth
        .create_own_key(&maker, spec(&[Scope::Language], None))
        .await
        .unwrap();
    assert_eq!(child.row.expires_at, parent.row.expires_at);
    assert!(matches!(
        auth.create_own_key(&maker, spec(&[Scope::Language], Some(2)))
            .await,
        Err(AuthError::BadRequest(_))
    ));
    assert!(matches!(
        auth.create_own_key(&maker, spec(&[Scope::Speech], Some(1)))
            .await,
        Err(AuthError::BadRequest(_))
    ));
    // The cap counts working keys: parent + child + one more, then refused.
    auth.create_own_key(&maker, spec(&[Scope::Language], Some(1)))
        .await
        .unwrap();
    assert!(matches!(
        auth.create_own_key(&maker, spec(&[Scope::Language], None))
            .await,
        Err(AuthError::KeyLimit(3))
    ));
    assert_eq!(store.list_keys(&a.id).await.unwrap().len(), 3);
    // An expired or revoked key does not count; another tenant's cap is
    // its own; operators are not capped.
    let mut expired = child.row.clone();
    expired.id = "key_00000000000000ee".into();
    expired.expires_at = Some(1);
    assert!(
        store
            .insert_key_capped(&expired, 3, stratus_gateway::auth::unix_now())
            .await
            .is_ok_and(|done| !done)
    );
    store.insert_key(&expired).await.unwrap();
    auth.revoke_own_key(&maker, &child.row.id).await.unwrap();
    auth.create_own_key(&maker, spec(&[Scope::Language], None))
        .await
        .unwrap();
    auth.create_key(&a.id, spec(&[Scope::Language], None))
        .await
        .unwrap();
    auth.create_key(&b.id, spec(&[Scope::Keys, Scope::Speech], None))
        .await
        .unwrap();
    // Revoking: only keys within the maker's scopes, only its tenant's.
    let speech = auth
        .create_key(&a.id, spec(&[Scope::Speech], None))
        .await
        .unwrap();
    assert!(matches!(
        auth.revoke_own_key(&maker, &speech.row.id).await,
        Err(AuthError::Forbidden(Scope::Speech))
    ));
    let other = store.list_keys(&b.id).await.unwrap().pop().unwrap();
    assert!(matches!(
        auth.revoke_own_key(&maker, &other.id).await,
        Err(AuthError::NotFound(_))
    ));
    assert!(auth.verify_key(&speech.secret).await.is_ok());
}

#[tokio::test]
async fn own_keys_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check_own_keys(&format!("sqlite://{}/stratus.db", dir.path().display())).await;
}

#[tokio::test]
async fn own_keys_on_postgres() {
    check_own_keys(&stratus_testkit::fresh_postgres().await).await;
}

/// The admin key an operator gives (`--admin-key-file`, a Kubernetes
/// Secret): stored once however many replicas start together, known
/// afterwards, admin on every replica, refused when malformed or when its id
/// is stored with another secret, and reported (not fatal) once revoked.
async fn check_admin_key_import(url: &str) {
    let store = Store::open(url).await.unwrap();
    let auth = Auth::new(store.clone(), &common::secret());
    // A second replica: its own connection pool and key cache.
    let other = Auth::new(Store::open(url).await.unwrap(), &common::secret());
    let given = format!("sk_{}_{}", "0123456789abcdef", "ab".repeat(32));

    let (first, second) = tokio::join!(
        tenants::import_admin_key(&auth, &given),
        tenants::import_admin_key(&other, &given)
    );
    let mut outcomes = [first.unwrap(), second.unwrap()];
    outcomes.sort_by_key(|o| matches!(o, tenants::AdminKeyImport::Present { .. }));
    let id = "key_0123456789abcdef".to_string();
    assert_eq!(
        outcomes,
        [
            tenants::AdminKeyImport::Imported { id: id.clone() },
            tenants::AdminKeyImport::Present { id: id.clone() }
        ]
    );
    assert_eq!(
        tenants::import_admin_key(&auth, &given).await.unwrap(),
        tenants::AdminKeyImport::Present { id: id.clone() }
    );
    for replica in [&auth, &other] {
        let principal = replica.verify_key(&given).await.unwrap();
        assert_eq!(principal.tenant_id, "system");
        assert!(principal.scopes.contains(Scope::Admin));
    }
    // Only the hash is stored.
    let row = store.key_by_id(&id).await.unwrap().unwrap();
    assert!(!row.secret_hash.contains(&"ab".repeat(32)));
    // With a configured key no file key is generated: the system tenant
    // exists, so bootstrap has nothing to do.
    let home = tempfile::tempdir().unwrap();
    assert!(
        tenants::bootstrap_admin(&auth, home.path())
            .await
            .unwrap()
            .is_none()
    );

    // The same id with another secret: an edited key, refused.
    let edited = format!("sk_{}_{}", "0123456789abcdef", "cd".repeat(32));
    let refused = tenants::import_admin_key(&auth, &edited).await.unwrap_err();
    assert!(
        matches!(&refused, AuthError::Conflict(m) if m.contains("key_0123456789abcdef")),
        "{refused:?}"
    );
    assert!(auth.verify_key(&edited).await.is_err());
    // Not a key at all.
    for malformed in [
        "",
        "sk_short_secret",
        "Bearer sk_x",
        &given[..given.len() - 1],
    ] {
        assert!(
            matches!(
                tenants::import_admin_key(&auth, malformed).await,
                Err(AuthError::BadRequest(_))
            ),
            "{malformed:?}"
        );
    }
    // A tenant's key id can never be taken over as an admin key.
    let tenant = tenants::create_tenant(&auth, "acme").await.unwrap();
    let tenant_key = auth
        .create_key(
            &tenant.id,
            KeySpec {
                scopes: [Scope::Language].into(),
                ..KeySpec::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        tenants::import_admin_key(&auth, &tenant_key.secret).await,
        Err(AuthError::Conflict(_))
    ));
    assert!(
        !auth
            .verify_key(&tenant_key.secret)
            .await
            .unwrap()
            .scopes
            .contains(Scope::Admin)
    );

    // Revoked: reported, and still no access.
    auth.revoke_key("system", &id).await.unwrap();
    assert_eq!(
        tenants::import_admin_key(&auth, &given).await.unwrap(),
        tenants::AdminKeyImport::Revoked { id }
    );
    assert!(auth.verify_key(&given).await.is_err());
    // A new key (a new id) is how it is rotated.
    let rotated = format!("sk_{}_{}", "fedcba9876543210", "ef".repeat(32));
    assert!(matches!(
        tenants::import_admin_key(&auth, &rotated).await.unwrap(),
        tenants::AdminKeyImport::Imported { .. }
    ));
    assert!(auth.verify_key(&rotated).await.is_ok());
}

#[tokio::test]
async fn admin_key_import_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check_admin_key_import(&format!("sqlite://{}/stratus.db", dir.path().display())).await;
}

#[tokio::test]
async fn admin_key_import_on_postgres() {
    check_admin_key_import(&stratus_testkit::fresh_postgres().await).await;
}
