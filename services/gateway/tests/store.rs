//! The store behaves the same on SQLite and PostgreSQL: migrations apply
//! (twice is a no-op), the instance id is created once and agreed on by
//! concurrent first starts.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

use stratus_gateway::Store;

use stratus_testkit::fresh_postgres;

async fn check_store(url: &str) {
    let store = Store::open(url).await.unwrap();
    store.ping().await.unwrap();
    // Concurrent first starts agree on one id.
    let (a, b, c) = tokio::join!(store.instance_id(), store.instance_id(), async {
        Store::open(url).await.unwrap().instance_id().await
    });
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
    // Re-opening re-runs migrations as a no-op and keeps the data.
    let again = Store::open(url).await.unwrap();
    assert_eq!(again.instance_id().await.unwrap(), a);
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/stratus.db", dir.path().display());
    check_store(&url).await;
    assert_eq!(Store::open(&url).await.unwrap().backend(), "sqlite");
}

#[tokio::test]
async fn postgres_store() {
    let url = fresh_postgres().await;
    check_store(&url).await;
    assert_eq!(Store::open(&url).await.unwrap().backend(), "postgres");
}

#[tokio::test]
async fn bad_urls_are_clear_errors() {
    let err = Store::open("mysql://x").await.unwrap_err().to_string();
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
    let err = Store::open("postgres://nobody:pw@127.0.0.1:1/none")
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("pw@"), "password leaked: {err}");
}
