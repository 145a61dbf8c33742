//! Identity and access through the real binary: `serve` makes a bootstrap
//! admin key on first start (0600 file, path logged, secret never logged);
//! the CLI on the same home makes a tenant and a key that the running
//! server accepts at once with exactly its scopes (`language`: embed 200,
//! transcribe 403), and a CLI revocation is refused within a second; a
//! user made by the CLI (password from the environment) can sign in, and
//! the CLI's role change, disable, new password and delete reach its
//! sessions on the running server within a second.
#![expect(
    clippy::unwrap_used,
    reason = "a failing test stops with the value it saw"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{Server, admin_key, api_key, stratus};
use serde_json::json;

fn cli(home: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = stratus(home).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn cli_made_keys_work_on_a_running_serve_with_their_scopes() {
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args(["serve", "--models", "all-minilm-l6-v2"]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(300));

    // The bootstrap admin key: a private file, its path logged, never itself.
    let admin = admin_key(home.path());
    let file = home.path().join("admin-key");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let secret_mode = std::fs::metadata(home.path().join("auth-secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(secret_mode & 0o777, 0o600);
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains(file.to_str().unwrap()), "{log}");
    assert!(!log.contains(&admin), "the admin key was logged");
    let (status, me) = server.get_with("/v1/auth/me", &admin);
    assert_eq!(status, 200);
    assert_eq!(me["tenant_id"], "system");
    assert_eq!(me["scopes"], json!(["admin"]));

    // A tenant and a language key, made by the CLI while the server runs.
    let key = api_key(home.path(), "language");
    let embed = json!({"model": "all-minilm-l6-v2", "input": "Stratus runs here."});
    let (status, body) = server.post_json("/v1/embeddings", Some(&key), &embed);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["embedding"].as_array().unwrap().len(), 384);
    let (status, body) = server.post_json(
        "/v1/audio/transcriptions",
        Some(&key),
        &json!({"model": "whisper-tiny.en"}),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["type"], "permission_error");
    assert_eq!(server.post_json("/v1/embeddings", None, &embed).0, 401);
    assert_eq!(server.get_with("/v1/admin/tenants", &key).0, 403);

    // The CLI lists the tenant's key (no secret) and revokes it; the server,
    // another process with its own cache, refuses it within a second.
    let (ok, out, err) = cli(home.path(), &["keys", "list", "--tenant", "test", "--json"]);
    assert!(ok, "{err}");
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert!(!out.contains(&key));
    let id = keys[0]["id"].as_str().unwrap();
    let (ok, _, err) = cli(home.path(), &["keys", "revoke", id]);
    assert!(ok, "{err}");
    let revoked = Instant::now();
    loop {
        let (status, _) = server.post_json("/v1/embeddings", Some(&key), &embed);
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked.elapsed() < Duration::from_millis(1500),
            "still accepted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("revocation took effect after {:?}", revoked.elapsed());

    // Tenants list; a user from the CLI signs in over HTTP.
    let (ok, out, _) = cli(home.path(), &["tenants", "list", "--json"]);
    assert!(ok);
    assert!(
        out.contains("\"system\"") && out.contains("\"test\""),
        "{out}"
    );
    let output = stratus(home.path())
        .args([
            "users",
            "create",
            "--tenant",
            "test",
            "--email",
            "ops@test.example",
            "--role",
            "owner",
        ])
        .env("STRATUS_USER_PASSWORD", "a long enough password")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (status, session) = server.post_json(
        "/v1/auth/login",
        None,
        &json!({"email": "ops@test.example", "password": "a long enough password"}),
    );
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap();
    let (status, own) = server.get_with("/v1/keys", token);
    assert_eq!(status, 200);
    assert_eq!(own["data"][0]["id"], id);

    // The CLI changes the user; the server (its own one-second session
    // cache) follows within a second and a half.
    let until = |path: &str, token: &str, wanted: u16| {
        let since = Instant::now();
        loop {
            let (status, _) = server.get_with(path, token);
            if status == wanted {
                return;
            }
            assert!(
                since.elapsed() < Duration::from_millis(1500),
                "{path}: {status}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let user = |args: &[&str]| {
        let output = stratus(home.path())
            .arg("users")
            .args(args)
            .env("STRATUS_USER_PASSWORD", "another long password")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let login = |password: &str| {
        server.post_json(
            "/v1/auth/login",
            None,
            &json!({"email": "ops@test.example", "password": password}),
        )
    };
    user(&[
        "set-role",
        "--email",
        "ops@test.example",
        "--role",
        "viewer",
    ]);
    until("/v1/keys", token, 403);
    user(&["disable", "--email", "ops@test.example"]);
    until("/v1/auth/me", token, 401);
    assert_eq!(login("a long enough password").0, 403);
    user(&["enable", "--email", "ops@test.example"]);
    user(&["set-password", "--email", "ops@test.example"]);
    assert_eq!(login("a long enough password").0, 401);
    let (status, session) = login("another long password");
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["role"], "viewer");
    user(&["delete", "--email", "ops@test.example"]);
    until("/v1/auth/me", session["token"].as_str().unwrap(), 401);

    // Bad input to the CLI is refused with a message that names it.
    let (ok, _, err) = cli(
        home.path(),
        &["keys", "create", "--tenant", "test", "--scopes", "root"],
    );
    assert!(!ok && err.contains("root"), "{err}");
    let (ok, _, err) = cli(
        home.path(),
        &["keys", "create", "--tenant", "nope", "--scopes", "speech"],
    );
    assert!(!ok && err.contains("nope"), "{err}");
    assert!(server.terminate().success());
}

/// `--admin-key-file` (a mounted Kubernetes Secret): the key in the file is
/// the deployment's admin key from the first start, on every restart, and
/// no key is generated into the home; a malformed file stops the start with
/// a message naming it.
#[test]
fn the_admin_key_can_come_from_a_file() {
    let home = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("admin-key");
    let given = format!("sk_{}_{}", "00112233aabbccdd", "5a".repeat(32));
    std::fs::write(&file, format!("{given}\n")).unwrap();
    for start in 0..2 {
        let mut command = stratus(home.path());
        command.args(["gateway", "--admin-key-file"]).arg(&file);
        let server = Server::start(command);
        let (status, me) = server.get_with("/v1/auth/me", &given);
        assert_eq!(status, 200, "start {start}: {me}");
        assert_eq!(me["tenant_id"], "system");
        assert_eq!(me["scopes"], json!(["admin"]));
        assert_eq!(server.get_with("/v1/admin/tenants", &given).0, 200);
        assert!(!home.path().join("admin-key").exists());
        let log = server.log.lock().unwrap().join("\n");
        assert!(!log.contains(&given), "the admin key was logged");
        assert_eq!(
            log.contains("stored the configured admin API key"),
            start == 0,
            "{log}"
        );
    }

    std::fs::write(&file, "sk_not-a-key\n").unwrap();
    let output = stratus(home.path())
        .args(["gateway", "--listen", "127.0.0.1:0", "--admin-key-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(file.to_str().unwrap()) && stderr.contains("16 hex digits"),
        "{stderr}"
    );
}
