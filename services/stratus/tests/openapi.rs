//! `openapi/stratus.json` is what the code generates: `stratus openapi`
//! must reproduce the committed file byte for byte, and the file must be a
//! valid OpenAPI 3.1 document (`openapi-spec-validator`, which
//! `scripts/test` installs and names in `STRATUS_OPENAPI_VALIDATOR`).

use std::path::PathBuf;
use std::process::Command;

const REGENERATE: &str =
    "cargo run --profile ci -p stratus -- openapi --output openapi/stratus.json";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/stratus.json")
}

#[test]
fn committed_document_is_what_the_code_generates() {
    let output = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "stratus openapi failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = String::from_utf8(output.stdout).unwrap();
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    if generated != committed {
        let line = generated
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| generated.lines().count().min(committed.lines().count()))
            + 1;
        panic!(
            "openapi/stratus.json differs from what the code generates (first at line {line}); \
             regenerate it with `{REGENERATE}` and commit it (then regenerate the SDKs: `sdk/generate`)"
        );
    }
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn committed_document_validates() {
    let validator = std::env::var_os("STRATUS_OPENAPI_VALIDATOR").expect(
        "STRATUS_OPENAPI_VALIDATOR is not set: run scripts/test, which installs openapi-spec-validator and sets it",
    );
    let output = Command::new(validator)
        .arg(committed_path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator rejects openapi/stratus.json:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
