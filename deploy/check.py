#!/usr/bin/env python3
"""Checks deploy/ against the Kubernetes schemas and the real binary.

  check.py STRATUS_BINARY KUBERNETES_VALIDATE

- every manifest in deploy/kubernetes validates strictly (unknown fields
  rejected) against the Kubernetes schemas bundled by kubernetes-validate;
- the kustomization lists every manifest but the example Secret;
- every Secret key and ConfigMap a Deployment reads exists;
- every flag and STRATUS_* variable that a container, a systemd unit or an
  environment file uses exists in `stratus <command> --help` of the binary,
  so the manifests cannot drift from the CLI;
- the systemd units pass `systemd-analyze verify` (where systemd is);
- .dockerignore keeps a local home (`./data`: store, secrets, models) out
  of the image's build context.

Runs with the python of the kubernetes-validate venv (it has PyYAML).
Prints what it checked; exits non-zero with every problem found.
"""

import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent
K8S = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
STRATUS, VALIDATE = sys.argv[1], sys.argv[2]
problems = []
helps = {}


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


# ---------------------------------------------------------------- schemas
manifests = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
out = subprocess.run([VALIDATE, "--strict", "--no-warn", *map(str, manifests)], capture_output=True, text=True)
print(out.stdout + out.stderr, end="")
if out.returncode != 0:
    problems.append("kubernetes-validate --strict failed (above)")

documents = {}
for path in manifests:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            documents[(doc["kind"], doc["metadata"]["name"])] = (path.name, doc)

kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
listed = set(kustomization["resources"])
expected = {p.name for p in manifests} - {"secret.example.yaml"}
if listed != expected:
    problems.append(f"kustomization.yaml lists {sorted(listed)}, the folder has {sorted(expected)}")
if "secret.example.yaml" in listed:
    problems.append("the example Secret (placeholder values) must not be applied by the kustomization")

secret_keys = set(documents[("Secret", "stratus-secrets")][1]["stringData"])
kinds = {}
for (kind, name), (file, doc) in documents.items():
    kinds[kind] = kinds.get(kind, 0) + 1
    if kind != "Deployment":
        continue
    spec = doc["spec"]["template"]["spec"]
    volumes = {v["name"] for v in spec.get("volumes", [])}
    for container in spec.get("initContainers", []) + spec["containers"]:
        where = f"{file} {name}/{container['name']}"
        command = check_flags(where, container["args"])
        names = [e["name"] for e in container.get("env", [])]
        for e in container.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and (ref["name"] != "stratus-secrets" or ref["key"] not in secret_keys):
                problems.append(f"{where}: no Secret key {ref['name']}/{ref['key']}")
        for source in container.get("envFrom", []):
            config = documents.get(("ConfigMap", source["configMapRef"]["name"]))
            if config is None:
                problems.append(f"{where}: no ConfigMap {source['configMapRef']['name']}")
            else:
                names += list(config[1]["data"])
        check_variables(where, command, names)
        for volume in spec.get("volumes", []):
            secret = volume.get("secret")
            if secret and secret["secretName"] != "stratus-secrets":
                problems.append(f"{where}: volume {volume['name']} mounts an unknown Secret {secret['secretName']}")
            for item in (secret or {}).get("items", []):
                if item["key"] not in secret_keys:
                    problems.append(f"{where}: volume {volume['name']}: no Secret key stratus-secrets/{item['key']}")
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                problems.append(f"{where}: no volume {mount['name']}")
        if container in spec["containers"]:
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                if container.get(probe, {}).get("httpGet", {}).get("path") != path:
                    problems.append(f"{where}: {probe} is not GET {path}")
            if "memory" not in container.get("resources", {}).get("requests", {}):
                problems.append(f"{where}: no memory request")
for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "PersistentVolumeClaim"):
    if not kinds.get(kind):
        problems.append(f"no {kind} in deploy/kubernetes")
print(f"manifests: {', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}")

# ---------------------------------------------------------------- systemd
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

print(f"flags and variables checked against {len(helps)} --help texts")

# ---------------------------------------------------------------- build context
ignored = [
    line.strip()
    for line in (DEPLOY.parent / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
for needed in ("data", "target", ".git"):
    if needed not in ignored:
        problems.append(f".dockerignore: `{needed}` is not excluded from the build context")
print(f".dockerignore: {len(ignored)} patterns")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
