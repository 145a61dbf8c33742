//! The deployment files in `deploy/` against the Kubernetes schemas and the
//! real binary (no cluster runs here): `deploy/check.py` validates every
//! manifest strictly with kubernetes-validate (unknown fields rejected),
//! checks that every flag and STRATUS_* variable used by a container, a
//! systemd unit or an environment file exists in this build's
//! `stratus <command> --help`, and runs `systemd-analyze verify` on the
//! units.
//!
//! `scripts/test` installs kubernetes-validate (pinned) in a venv and sets
//! `STRATUS_K8S_VALIDATE`; without it the test fails rather than skips.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn manifests_and_units_validate_against_schemas_and_the_cli() {
    let validate = PathBuf::from(std::env::var_os("STRATUS_K8S_VALIDATE").expect(
        "STRATUS_K8S_VALIDATE is not set: run scripts/test, which installs kubernetes-validate in a venv and sets it",
    ));
    // The venv's python has PyYAML (a dependency of kubernetes-validate).
    let python = validate.with_file_name("python");
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let output = Command::new(&python)
        .arg(deploy.join("check.py"))
        .arg(env!("CARGO_BIN_EXE_stratus"))
        .arg(&validate)
        .output()
        .expect("running deploy/check.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // Everything was looked at: each kind of object, the units, the CLI.
    for expected in [
        "3 Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "3 Service",
        "against 4 --help texts",
    ] {
        assert!(stdout.contains(expected), "{expected} missing in\n{stdout}");
    }
}
