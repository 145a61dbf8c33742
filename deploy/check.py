#!/usr/bin/env python3
"""Checks deploy/ against the Kubernetes schemas, the real binary and the
source tree (no cluster runs here).

  check.py STRATUS_BINARY KUBERNETES_VALIDATE [HELM]

HELM is the helm binary (else $STRATUS_HELM; one of the two is required).

Kubernetes manifests (deploy/kubernetes, the kustomize set):
- every manifest validates strictly (unknown fields rejected) against the
  Kubernetes schemas bundled by kubernetes-validate;
- the kustomization lists every manifest but the example Secret.

Helm chart (deploy/helm/stratus), rendered with default values and with
every toggle on (namespace, ingress, networkPolicies, monitoring):
- `helm lint --strict` passes; every core object of both renders validates
  strictly; the ServiceMonitor and PrometheusRule (no schema in
  kubernetes-validate) are checked for their structure: keys, a selector
  that picks the chart's Services, endpoint ports those Services name;
- the default render is the kustomize set: the same objects (but the
  Namespace, which the chart renders only on request) with the same specs
  and data; the chart may add labels and annotations only;
- the NetworkPolicies select the chart's pods, name ports those pods have,
  deny by default, admit the replicas' service ports from gateway pods only
  and every metrics port from Prometheus only;
- every metric a PromQL expression of the alerts or the dashboard uses is
  named by a "stratus_..." string literal in the workspace's Rust sources,
  and every expression parses (promql-parser, if installed next to
  kubernetes-validate: scripts/test installs it);
- the dashboard (deploy/grafana/stratus.json, shipped by the chart) parses,
  every panel has a datasource and a query, and every alert is documented
  in deploy/README.md.

Every Deployment (kustomize and both renders):
- every Secret key and ConfigMap a container reads exists;
- every flag and STRATUS_* variable a container uses exists in
  `stratus <command> --help` of the binary (the same for the systemd units
  and environment files), so the manifests cannot drift from the CLI.

Also: the systemd units pass `systemd-analyze verify` (where systemd is);
.dockerignore keeps a local home (`./data`) out of the build context.

Runs with the python of the kubernetes-validate venv (it has PyYAML).
Prints what it checked; exits non-zero with every problem found.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

try:
    import promql_parser
except ImportError:
    promql_parser = None

DEPLOY = pathlib.Path(__file__).resolve().parent
ROOT = DEPLOY.parent
K8S = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
CHART = DEPLOY / "helm" / "stratus"
DASHBOARD = DEPLOY / "grafana" / "stratus.json"
NAMESPACE = "stratus"
COMPONENTS = ("gateway", "speech", "language")
# What the chart's toggles add; the CRD kinds have no schema in
# kubernetes-validate and are checked here.
TOGGLES = [
    "namespace.create=true",
    "ingress.enabled=true",
    "ingress.host=api.stratus.example.com",
    "networkPolicies.enabled=true",
    "monitoring.serviceMonitor.enabled=true",
    "monitoring.prometheusRule.enabled=true",
    "monitoring.dashboard.enabled=true",
]
TOGGLED = {"Ingress", "NetworkPolicy", "ServiceMonitor", "PrometheusRule", ("ConfigMap", "stratus-dashboard")}
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
# The alerts the chart must have (deploy/README.md documents each).
ALERTS = {
    "StratusTargetDown", "StratusNoHealthyReplica", "StratusReplicaFlapping",
    "StratusHigh5xxRatio", "StratusHighLatency", "StratusBudgetRejectionsSpike",
    "StratusShedding", "StratusModelQueueWaitHigh", "StratusJobBacklogGrowing",
    "StratusWebhookFailures", "StratusWebhooksAbandoned", "StratusUsageWalNotDraining",
}
# Metrics Prometheus itself records.
PROMETHEUS_METRICS = {"up"}

problems = []
helps = {}


# ---------------------------------------------------------------- CLI flags
def help_of(command):
    """--help of `stratus <command...>` and of each parent command: a
    subcommand's variables (STRATUS_HOME of `models pull`) may be the
    parent's options."""
    key = tuple(command)
    if key not in helps:
        text = ""
        for end in range(len(command), 0, -1):
            out = subprocess.run([STRATUS, *command[:end], "--help"], capture_output=True, text=True)
            if out.returncode != 0:
                problems.append(f"`stratus {' '.join(command[:end])} --help` failed: {out.stderr}")
            text += out.stdout
        # clap wraps long lines: one space for any run of whitespace.
        helps[key] = " ".join(text.split())
    return helps[key]


def subcommand(args):
    return args[:2] if args and args[0] in ("models", "tenants", "keys", "users") else args[:1]


def check_flags(where, args):
    command = subcommand(args)
    text = help_of(command)
    for arg in args[len(command):]:
        flag = arg.split("=", 1)[0]
        if flag.startswith("--") and not re.search(rf"(^|\s){re.escape(flag)}[\s,]", text):
            problems.append(f"{where}: `stratus {' '.join(command)}` has no {flag}")
    return command


def check_variables(where, command, names):
    text = help_of(command)
    for name in names:
        if name.startswith("STRATUS_") and not re.search(rf"env: {name}[=\]]", text):
            problems.append(f"{where}: `stratus {' '.join(command)}` reads no {name}")


# ---------------------------------------------------------------- helpers
def by_key(docs):
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def count_kinds(docs):
    kinds = {}
    for doc in docs:
        kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))


def pod_labels(docs):
    """{Deployment name: (its pods' labels, {port name: containerPort})}."""
    pods = {}
    for doc in docs:
        if doc["kind"] == "Deployment":
            template = doc["spec"]["template"]
            ports = {p.get("name"): p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
            pods[doc["metadata"]["name"]] = (template["metadata"].get("labels", {}), ports)
    return pods


def selects(selector, labels):
    """Whether a label selector (matchLabels, matchExpressions) matches."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if not {
            "In": lambda: labels.get(key) in values,
            "NotIn": lambda: labels.get(key) not in values,
            "Exists": lambda: key in labels,
            "DoesNotExist": lambda: key not in labels,
        }[operator]():
            return False
    return True


def validate_strictly(what, docs):
    """kubernetes-validate --strict on docs (core kinds only); every one
    must be validated against a schema, none skipped."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        yaml.safe_dump_all(docs, file)
        file.flush()
        out = subprocess.run([VALIDATE, "--strict", file.name], capture_output=True, text=True)
    passed = out.stdout.count(" passed for resource ")
    if out.returncode != 0 or passed != len(docs) or "WARN" in out.stdout + out.stderr:
        problems.append(f"{what}: kubernetes-validate --strict: {passed} of {len(docs)} passed\n{out.stdout}{out.stderr}")


# ---------------------------------------------------------------- kustomize set
def kustomize_documents():
    """The manifests, validated, and the objects the kustomization renders
    (with its labels applied as kustomize does: metadata only)."""
    manifests = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    out = subprocess.run([VALIDATE, "--strict", "--no-warn", *map(str, manifests)], capture_output=True, text=True)
    print(out.stdout + out.stderr, end="")
    if out.returncode != 0:
        problems.append("kubernetes-validate --strict failed (above)")

    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    expected = {p.name for p in manifests} - {"secret.example.yaml"}
    if listed != expected:
        problems.append(f"kustomization.yaml lists {sorted(listed)}, the folder has {sorted(expected)}")
    if "secret.example.yaml" in listed:
        problems.append("the example Secret (placeholder values) must not be applied by the kustomization")

    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    docs = []
    for path in manifests:
        if path.name in listed:
            for doc in yaml.safe_load_all(path.read_text()):
                if doc:
                    for pairs in kustomization.get("labels", []):
                        doc["metadata"].setdefault("labels", {}).update(pairs["pairs"])
                    docs.append(doc)
    return docs, secret


def check_deployments(where, docs, secret):
    """Flags, variables, Secret keys, ConfigMaps, volumes, probes and memory
    requests of every Deployment's containers."""
    documents = by_key(docs)
    secret_name = secret["metadata"]["name"]
    secret_keys = set(secret["stringData"])
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        name = doc["metadata"]["name"]
        spec = doc["spec"]["template"]["spec"]
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for volume in spec.get("volumes", []):
            mounted = volume.get("secret")
            if mounted and mounted["secretName"] != secret_name:
                problems.append(f"{where} {name}: volume {volume['name']} mounts an unknown Secret {mounted['secretName']}")
            for item in (mounted or {}).get("items", []):
                if item["key"] not in secret_keys:
                    problems.append(f"{where} {name}: volume {volume['name']}: no Secret key {secret_name}/{item['key']}")
        for container in spec.get("initContainers", []) + spec["containers"]:
            at = f"{where} {name}/{container['name']}"
            command = check_flags(at, container["args"])
            names = [e["name"] for e in container.get("env", [])]
            for e in container.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and (ref["name"] != secret_name or ref["key"] not in secret_keys):
                    problems.append(f"{at}: no Secret key {ref['name']}/{ref['key']}")
            for source in container.get("envFrom", []):
                config = documents.get(("ConfigMap", source["configMapRef"]["name"]))
                if config is None:
                    problems.append(f"{at}: no ConfigMap {source['configMapRef']['name']}")
                else:
                    names += list(config["data"])
            check_variables(at, command, names)
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problems.append(f"{at}: no volume {mount['name']}")
            if container in spec["containers"]:
                for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                    if container.get(probe, {}).get("httpGet", {}).get("path") != path:
                        problems.append(f"{at}: {probe} is not GET {path}")
                if "memory" not in container.get("resources", {}).get("requests", {}):
                    problems.append(f"{at}: no memory request")
                if "metrics" not in {p.get("name") for p in container.get("ports", [])}:
                    problems.append(f"{at}: no port named metrics")


# ---------------------------------------------------------------- Helm chart
def helm(*args):
    out = subprocess.run([HELM, *args], capture_output=True, text=True)
    # Helm notes the dashboard's symbolic link on every run; not a problem.
    stderr = "\n".join(l for l in out.stderr.splitlines() if "found symbolic link in path" not in l)
    if out.returncode != 0:
        problems.append(f"helm {' '.join(args)}: {out.stdout}{stderr}")
    return out.stdout


def render(toggles):
    sets = [arg for t in toggles for arg in ("--set", t)]
    helm("lint", "--strict", "--namespace", NAMESPACE, str(CHART), *sets)
    text = helm("template", "stratus", str(CHART), "--namespace", NAMESPACE, *sets)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def compare(path, kustomize, chart, out):
    """Differences of chart from kustomize; the chart may add labels and
    annotations, nothing else."""
    if isinstance(kustomize, dict) and isinstance(chart, dict):
        for key in kustomize:
            if key not in chart:
                out.append(f"{path}.{key}: missing in the chart")
            else:
                compare(f"{path}.{key}", kustomize[key], chart[key], out)
        if not path.endswith((".labels", ".annotations")):
            for key in chart.keys() - kustomize.keys():
                out.append(f"{path}.{key}: only in the chart")
    elif isinstance(kustomize, list) and isinstance(chart, list) and len(kustomize) == len(chart):
        for i, (k, c) in enumerate(zip(kustomize, chart)):
            compare(f"{path}[{i}]", k, c, out)
    elif kustomize != chart:
        out.append(f"{path}: kustomize {kustomize!r}, chart {chart!r}")


def check_same_as_kustomize(what, chart_docs, kustomize_docs, allowed_extra):
    chart, kustomize = by_key(chart_docs), by_key(kustomize_docs)
    for key in sorted(kustomize.keys() - chart.keys()):
        if key != ("Namespace", NAMESPACE) or what == "every toggle on":
            problems.append(f"chart ({what}): no {key[0]} {key[1]} (deploy/kubernetes has it)")
    for key in sorted(chart.keys() - kustomize.keys()):
        if key[0] not in allowed_extra and key not in allowed_extra:
            problems.append(f"chart ({what}): {key[0]} {key[1]} is not in deploy/kubernetes")
    both = sorted(chart.keys() & kustomize.keys())
    for key in both:
        differences = []
        compare("", kustomize[key], chart[key], differences)
        for difference in differences:
            problems.append(f"chart ({what}) {key[0]} {key[1]}{difference}")
    return len(both)


def check_network_policies(docs):
    """Selectors match the chart's pods, named ports exist, default deny,
    replicas from gateway pods only, metrics from Prometheus only."""
    pods = pod_labels(docs)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    if not any(p["spec"]["podSelector"] == {} and p["spec"].get("policyTypes") == ["Ingress"] and not p["spec"].get("ingress") for p in policies):
        problems.append("NetworkPolicies: no default-deny-ingress policy")
    admitted = {}  # (pod, port name) -> [peers]
    for policy in policies:
        name = policy["metadata"]["name"]
        selected = [pod for pod, (labels, _) in pods.items() if selects(policy["spec"]["podSelector"], labels)]
        if not selected:
            problems.append(f"NetworkPolicy {name}: its podSelector matches no pod of the chart")
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "podSelector" in peer and "namespaceSelector" not in peer and not any(
                    selects(peer["podSelector"], labels) for labels, _ in pods.values()
                ):
                    problems.append(f"NetworkPolicy {name}: peer {peer} matches no pod of the chart")
            for port in rule.get("ports", []):
                for pod in selected:
                    names, numbers = pods[pod][1], pods[pod][1].values()
                    if port["port"] not in names and port["port"] not in numbers:
                        problems.append(f"NetworkPolicy {name}: {pod} has no port {port['port']}")
                    admitted.setdefault((pod, port["port"]), []).append(rule.get("from"))

    def gateway_only(peers):
        return peers and all(
            set(peer) == {"podSelector"}
            and [pod for pod, (labels, _) in pods.items() if selects(peer["podSelector"], labels)] == ["stratus-gateway"]
            for peer in peers
        )

    for pod, (_, ports) in pods.items():
        for port in ports:
            peers = admitted.get((pod, port))
            if not peers:
                problems.append(f"NetworkPolicies: nothing may reach {pod} port {port}")
            elif port == "metrics" and any(p is None or any("namespaceSelector" not in q for q in p) for p in peers):
                problems.append(f"NetworkPolicies: {pod} metrics are open beyond the Prometheus namespace: {peers}")
            elif port == "http" and pod != "stratus-gateway" and not all(gateway_only(p) for p in peers):
                problems.append(f"NetworkPolicies: {pod} http is reachable from more than gateway pods: {peers}")
    return len(policies)


def check_service_monitor(docs):
    services = [d for d in docs if d["kind"] == "Service"]
    for monitor in (d for d in docs if d["kind"] == "ServiceMonitor"):
        at = f"ServiceMonitor {monitor['metadata']['name']}"
        if monitor["apiVersion"] != "monitoring.coreos.com/v1" or set(monitor) != {"apiVersion", "kind", "metadata", "spec"}:
            problems.append(f"{at}: not a monitoring.coreos.com/v1 object: {sorted(monitor)}")
        spec = monitor["spec"]
        unknown = set(spec) - {"selector", "namespaceSelector", "endpoints", "jobLabel", "targetLabels", "podTargetLabels", "sampleLimit"}
        if unknown or not spec.get("endpoints"):
            problems.append(f"{at}: unknown spec keys {sorted(unknown)} or no endpoints")
        if NAMESPACE not in spec.get("namespaceSelector", {}).get("matchNames", [NAMESPACE]):
            problems.append(f"{at}: its namespaceSelector leaves out {NAMESPACE}")
        picked = [s for s in services if selects(spec["selector"], s["metadata"].get("labels", {}))]
        if sorted(s["metadata"]["name"] for s in picked) != sorted(f"stratus-{c}" for c in COMPONENTS):
            problems.append(f"{at}: selects Services {[s['metadata']['name'] for s in picked]}")
        for endpoint in spec.get("endpoints", []):
            unknown = set(endpoint) - {"port", "path", "interval", "scrapeTimeout", "honorLabels", "scheme", "relabelings", "metricRelabelings"}
            if unknown:
                problems.append(f"{at}: unknown endpoint keys {sorted(unknown)}")
            for service in picked:
                if endpoint.get("port") not in {p.get("name") for p in service["spec"]["ports"]}:
                    problems.append(f"{at}: Service {service['metadata']['name']} has no port named {endpoint.get('port')}")


def alert_expressions(docs):
    """{alert name: expr} of the PrometheusRule, its structure checked."""
    alerts = {}
    for rule_doc in (d for d in docs if d["kind"] == "PrometheusRule"):
        at = f"PrometheusRule {rule_doc['metadata']['name']}"
        if rule_doc["apiVersion"] != "monitoring.coreos.com/v1" or set(rule_doc["spec"]) != {"groups"}:
            problems.append(f"{at}: not a monitoring.coreos.com/v1 object with spec.groups")
        for group in rule_doc["spec"]["groups"]:
            if set(group) - {"name", "interval", "rules"} or not group.get("rules"):
                problems.append(f"{at}: group {group.get('name')}: unknown keys or no rules")
            for rule in group["rules"]:
                name = rule.get("alert")
                if set(rule) - {"alert", "expr", "for", "labels", "annotations"} or not name or name in alerts:
                    problems.append(f"{at}: rule {name}: unknown keys, no alert name, or a name used twice")
                if not re.fullmatch(r"(\d+[smh])+", rule.get("for", "0s")):
                    problems.append(f"{at}: {name}: `for` is not a duration")
                if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                    problems.append(f"{at}: {name}: no severity label")
                if not {"summary", "description"} <= set(rule.get("annotations", {})):
                    problems.append(f"{at}: {name}: no summary or description")
                alerts[name] = rule["expr"]
    if set(alerts) != ALERTS:
        problems.append(f"PrometheusRule: alerts {sorted(alerts)}, expected {sorted(ALERTS)}")
    readme = (DEPLOY / "README.md").read_text()
    for name in alerts:
        if f"`{name}`" not in readme:
            problems.append(f"deploy/README.md does not explain the alert {name}")
    return alerts


def dashboard_expressions(docs):
    """{panel title: [expr]} of the dashboard; the chart ships the same file."""
    text = DASHBOARD.read_text()
    if (CHART / "dashboards" / "stratus.json").read_text() != text:
        problems.append("deploy/helm/stratus/dashboards/stratus.json differs from deploy/grafana/stratus.json")
    shipped = by_key(docs).get(("ConfigMap", "stratus-dashboard"), {})
    labels = shipped.get("metadata", {}).get("labels", {})
    if labels.get("grafana_dashboard") != "1" or json.loads(shipped.get("data", {}).get("stratus.json", "null")) != json.loads(text):
        problems.append("the chart's stratus-dashboard ConfigMap is not deploy/grafana/stratus.json with label grafana_dashboard: \"1\"")
    dashboard = json.loads(text)
    panels = [p for top in dashboard["panels"] for p in [top, *top.get("panels", [])] if p["type"] != "row"]
    expressions = {}
    for panel in panels:
        targets = [t for t in panel.get("targets", []) if t.get("expr")]
        if not panel.get("datasource") or not targets or any(not t.get("datasource") for t in targets):
            problems.append(f"dashboard panel {panel.get('title')!r}: no datasource or no query")
        expressions[panel["title"]] = [t["expr"] for t in targets]
    return expressions


def source_metrics():
    """Every "stratus_..." string literal in the workspace members' Rust sources."""
    members = re.search(r"members\s*=\s*\[(.*?)\]", (ROOT / "Cargo.toml").read_text(), re.S).group(1)
    names = set()
    for member in re.findall(r'"([^"]+)"', members):
        for source in (ROOT / member / "src").rglob("*.rs"):
            names |= set(re.findall(r'"(stratus_[a-z0-9_]+)"', source.read_text()))
    return names


def check_metrics(where, expr, defined):
    """The expression parses (where promql-parser is installed) and names
    only metrics the source defines."""
    used = set(re.findall(r"\b(stratus_[a-z0-9_]+)\b", expr))
    if promql_parser is not None:
        grafana = expr.replace("$__rate_interval", "5m").replace("$namespace", ".*")
        try:
            tree = promql_parser.parse(grafana)
        except Exception as error:  # its errors are plain exceptions
            problems.append(f"{where}: PromQL does not parse: {error}\n{expr}")
            return set()
        selectors = []
        promql_parser.walk(tree, lambda node: selectors.append(node.name) if isinstance(node, promql_parser.VectorSelector) else None)
        used = set(selectors)
    for name in sorted(used - PROMETHEUS_METRICS):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if base not in defined:
            problems.append(f"{where}: metric {name} is not defined in the source (no \"{base}\" literal in the workspace's src/**/*.rs)")
    return used


def check_chart(kustomize_docs, secret):
    default = render([])
    every = render(TOGGLES)
    print(f"helm lint --strict: default values, every toggle on ({len(TOGGLES)} settings)")
    for what, docs in (("default values", default), ("every toggle on", every)):
        validate_strictly(f"chart ({what})", [d for d in docs if d["kind"] not in CRD_KINDS])
        compared = check_same_as_kustomize(what, docs, kustomize_docs, set() if what == "default values" else TOGGLED)
        check_deployments(f"chart ({what})", docs, secret)
        print(f"chart ({what}): {count_kinds(docs)}; {compared} compared with deploy/kubernetes")
    policies = check_network_policies(every)
    print(f"network policies: {policies} checked against the pods' labels and ports")
    check_service_monitor(every)
    defined = source_metrics()
    used = set()
    alerts = alert_expressions(every)
    for name, expr in alerts.items():
        used |= check_metrics(f"alert {name}", expr, defined)
    panels = dashboard_expressions(every)
    for title, exprs in panels.items():
        for expr in exprs:
            used |= check_metrics(f"dashboard panel {title!r}", expr, defined)
    parsed = "parsed" if promql_parser else "NOT parsed (promql-parser is not installed)"
    print(f"monitoring: {len(alerts)} alerts, {len(panels)} dashboard panels; PromQL {parsed}; "
          f"{len(used - PROMETHEUS_METRICS)} stratus metrics used, checked against {len(defined)} names in the source")


# ---------------------------------------------------------------- systemd
def check_systemd():
    units = sorted(SYSTEMD.glob("*.service"))
    for unit in units:
        for line in unit.read_text().splitlines():
            key, _, value = line.partition("=")
            if key in ("ExecStart", "ExecStartPre"):
                words = value.split()
                if words[0] != "/usr/local/bin/stratus":
                    problems.append(f"{unit.name}: {key} runs {words[0]}")
                command = check_flags(unit.name, words[1:])
                if key == "ExecStart":
                    main = command
        for line in unit.read_text().splitlines():
            if line.startswith("Environment="):
                check_variables(unit.name, main, [line.split("=", 2)[1]])
    every = help_of(["gateway"]) + help_of(["speech"]) + help_of(["language"])
    for example in sorted(SYSTEMD.glob("*.env.example")):
        for line in example.read_text().splitlines():
            name = line.split("=", 1)[0]
            if name.startswith("STRATUS_") and f"env: {name}" not in every:
                problems.append(f"{example.name}: no command reads {name}")
    if shutil.which("systemd-analyze"):
        with tempfile.TemporaryDirectory() as tmp:
            for path in units + sorted(SYSTEMD.glob("*.env.example")):
                text = path.read_text().replace("/usr/local/bin/stratus", str(pathlib.Path(STRATUS).resolve()))
                text = text.replace("/etc/stratus/", tmp + "/")
                (pathlib.Path(tmp) / path.name.replace(".example", "")).write_text(text)
            out = subprocess.run(["systemd-analyze", "verify", *(f"{tmp}/{u.name}" for u in units)], capture_output=True, text=True)
            if out.returncode != 0 or out.stderr.strip():
                problems.append(f"systemd-analyze verify: {out.stdout}{out.stderr}")
        print(f"systemd units: {', '.join(u.name for u in units)} (verified)")
    else:
        print("systemd-analyze not installed: systemd units checked against --help only")


# ---------------------------------------------------------------- build context
def check_dockerignore():
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    for needed in ("data", "target", ".git"):
        if needed not in ignored:
            problems.append(f".dockerignore: `{needed}` is not excluded from the build context")
    print(f".dockerignore: {len(ignored)} patterns")


def main():
    kustomize_docs, secret = kustomize_documents()
    check_deployments("deploy/kubernetes", kustomize_docs, secret)
    kinds = {d["kind"] for d in kustomize_docs}
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "PersistentVolumeClaim"):
        if kind not in kinds:
            problems.append(f"no {kind} in deploy/kubernetes")
    print(f"manifests: {count_kinds(kustomize_docs)}")
    check_chart(kustomize_docs, secret)
    check_systemd()
    print(f"flags and variables checked against {len(helps)} --help texts")
    check_dockerignore()
    if problems:
        print("\n".join(dict.fromkeys(problems)), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    STRATUS, VALIDATE = sys.argv[1], sys.argv[2]
    HELM = sys.argv[3] if len(sys.argv) == 4 else os.environ.get("STRATUS_HELM")
    if not HELM:
        sys.exit("no helm: pass its path as the third argument or set STRATUS_HELM (scripts/test installs it)")
    main()
