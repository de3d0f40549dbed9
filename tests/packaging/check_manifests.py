#!/usr/bin/env python3
"""Cross-file consistency of the Kubernetes manifests, docker-compose.yml, the Prometheus
configuration and the Grafana provisioning: names, ports, keys and timeouts that must agree.
Needs python3-yaml; exits 77 (skipped) without it.

usage: check_manifests.py REPO_ROOT
"""
import os
import re
import sys

SKIP = 77
try:
    import yaml
except ImportError:
    print("skipped: python3-yaml is not installed (import yaml failed)")
    sys.exit(SKIP)

root = os.path.abspath(sys.argv[1])
errors = []


def check(condition, message):
    if not condition:
        errors.append(message)
    return condition


def load_all(rel):
    return [d for d in yaml.safe_load_all(open(os.path.join(root, rel), encoding="utf-8")) if d]


def seconds(duration):
    """A configuration duration (30s, 1m, 0, 250ms) or a compose duration (1m30s) in seconds."""
    duration = str(duration).strip()
    if duration == "0":
        return 0.0
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+)(us|ms|min|s|m|h|d)", duration)
    if not parts or "".join(a + b for a, b in parts) != duration:
        raise ValueError(f"cannot parse duration {duration!r}")
    return sum(int(n) * units[u] for n, u in parts)


def dockerfile_user():
    for line in open(os.path.join(root, "Dockerfile"), encoding="utf-8"):
        m = re.match(r"^USER\s+(\d+)(?::(\d+))?", line)
        if m:
            return int(m.group(1)), int(m.group(2) or m.group(1))
    return None


# ---- Kubernetes -------------------------------------------------------------------------------
K = "deploy/kubernetes/"
kustomization = load_all(K + "kustomization.yaml")[0]
for res in kustomization.get("resources", []):
    check(os.path.exists(os.path.join(root, K, res)), f"kustomization.yaml: resource {res} does not exist")

configmap = load_all(K + "configmap.yaml")[0]
deployment = load_all(K + "deployment.yaml")[0]
service = load_all(K + "service.yaml")[0]
secret = load_all(K + "secret.example.yaml")[0]
podmonitor = load_all(K + "podmonitor.yaml")[0]

proxy_config = yaml.safe_load(configmap["data"]["ouroboros.yaml"])
metrics_port = int(proxy_config["metrics"]["port"])
check(proxy_config["listen"]["host"] == "127.0.0.1",
      "configmap: a sidecar listens on 127.0.0.1 (only its pod's application connects)")
check(proxy_config["metrics"]["host"] == "0.0.0.0",
      "configmap: metrics.host must be 0.0.0.0 so the kubelet's probes and Prometheus reach it")

pod = deployment["spec"]["template"]
spec = pod["spec"]
containers = {c["name"]: c for c in spec["containers"]}
check(deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
      "deployment: selector does not match the pod template's labels")
proxy = containers.get("ouroboros")
if check(proxy is not None, "deployment: no container named ouroboros"):
    check(list(containers)[0] == "ouroboros",
          "deployment: ouroboros must be the first container (its postStart hook holds back the app)")
    ports = {p["name"]: p["containerPort"] for p in proxy.get("ports", [])}
    check(ports.get("metrics") == metrics_port,
          f"deployment: ouroboros port 'metrics' is {ports.get('metrics')}, the ConfigMap's metrics.port is {metrics_port}")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = proxy.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path, f"deployment: ouroboros {probe} must GET {path}")
        port = get.get("port")
        check(port == metrics_port or ports.get(port) == metrics_port,
              f"deployment: ouroboros {probe} port {port} is not the metrics port {metrics_port}")

    # The configuration: the ConfigMap mounted as a directory where the ENTRYPOINT reads it.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = [m for m in proxy.get("volumeMounts", []) if m["mountPath"].rstrip("/") == "/etc/ouroboros"]
    if check(len(mounts) == 1, "deployment: the ConfigMap must be mounted at /etc/ouroboros"):
        check("subPath" not in mounts[0], "deployment: no subPath mount (ConfigMap updates would not arrive)")
        volume = volumes.get(mounts[0]["name"], {})
        check(volume.get("configMap", {}).get("name") == configmap["metadata"]["name"],
              "deployment: /etc/ouroboros is not the ConfigMap from configmap.yaml")
    check("ouroboros.yaml" in configmap["data"], "configmap: no key ouroboros.yaml")

    # Shutdown: preStop delay + shutdown_timeout must fit in the grace period.
    grace = spec.get("terminationGracePeriodSeconds", 30)
    pre_stop = proxy.get("lifecycle", {}).get("preStop", {})
    delay = 0.0
    command = pre_stop.get("exec", {}).get("command", [])
    if command[:1] == ["sleep"]:
        delay = float(command[1])
    elif "sleep" in pre_stop:
        delay = float(pre_stop["sleep"]["seconds"])
    shutdown = seconds(proxy_config.get("timeouts", {}).get("shutdown_timeout", "30s"))
    check(grace > delay + shutdown,
          f"deployment: terminationGracePeriodSeconds {grace} must exceed preStop {delay:g}s + shutdown_timeout {shutdown:g}s")

    # Secrets: every secretKeyRef names the example Secret and one of its keys.
    env = {e["name"]: e for e in proxy.get("env", [])}
    for var in ("APP_PASSWORD", "DB_PASSWORD", "OUROBOROS_PG_HOST"):
        check(var in env, f"deployment: ouroboros does not set {var}, which the ConfigMap's config needs")
    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for c in containers.values():
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                check(ref["name"] == secret["metadata"]["name"] and ref["key"] in secret_keys,
                      f"deployment: {c['name']} env {e['name']} refers to {ref['name']}/{ref['key']}, not in secret.example.yaml")
    for var in ("APP_PASSWORD", "DB_PASSWORD"):
        check("value" not in env.get(var, {}), f"deployment: {var} must come from the Secret, not a literal value")

    # Non-root, matching the image's numeric user.
    security = proxy.get("securityContext", {})
    user = dockerfile_user()
    check(spec.get("securityContext", {}).get("runAsNonRoot") is True, "deployment: runAsNonRoot must be set")
    check(user is not None and security.get("runAsUser") == user[0],
          f"deployment: ouroboros runAsUser {security.get('runAsUser')} differs from the Dockerfile's USER {user}")
    check(security.get("allowPrivilegeEscalation") is False, "deployment: allowPrivilegeEscalation must be false")
    check(security.get("readOnlyRootFilesystem") is True, "deployment: ouroboros needs no writable root filesystem")

for c in containers.values():
    res = c.get("resources", {})
    check(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory"),
          f"deployment: container {c['name']} needs cpu/memory requests and a memory limit")

annotations = pod["metadata"].get("annotations", {})
check(annotations.get("prometheus.io/scrape") == "true", "deployment: pod annotation prometheus.io/scrape must be \"true\"")
check(str(annotations.get("prometheus.io/port")) == str(metrics_port), "deployment: prometheus.io/port is not the metrics port")
check(annotations.get("prometheus.io/path") == "/metrics", "deployment: prometheus.io/path must be /metrics")

check(service["spec"]["selector"].items() <= pod["metadata"]["labels"].items(), "service: selector does not match the pods")
all_ports = {p.get("name"): p["containerPort"] for c in containers.values() for p in c.get("ports", [])}
for p in service["spec"]["ports"]:
    target = p.get("targetPort", p["port"])
    check(target in all_ports or target in all_ports.values(), f"service: targetPort {target} is no container port")
    check(target not in ("metrics", metrics_port, 6432), "service: do not expose the proxy's ports through the Service")

check(podmonitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
      "podmonitor: selector does not match the pods")
for ep in podmonitor["spec"]["podMetricsEndpoints"]:
    check(all_ports.get(ep["port"]) == metrics_port, f"podmonitor: port {ep['port']} is not the metrics port")
    check(ep.get("path", "/metrics") == "/metrics", "podmonitor: path must be /metrics")

# ---- docker-compose ---------------------------------------------------------------------------
compose = load_all("deploy/docker-compose.yml")[0]
services = compose["services"]
compose_dir = os.path.join(root, "deploy")
for name in ("postgres", "ouroboros", "prometheus", "grafana"):
    check(name in services, f"docker-compose: no service {name}")
check(str(services.get("postgres", {}).get("image", "")).startswith("postgres:15"), "docker-compose: postgres must be postgres:15")
build = services.get("ouroboros", {}).get("build", {})
context = os.path.normpath(os.path.join(compose_dir, build.get("context", ".")))
check(os.path.exists(os.path.join(context, build.get("dockerfile", "Dockerfile"))),
      "docker-compose: ouroboros build context has no Dockerfile")
for name, svc in services.items():
    for volume in svc.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
        if source.startswith("."):
            check(os.path.exists(os.path.join(compose_dir, source)),
                  f"docker-compose: {name} mounts {source}, which does not exist next to the compose file")
docker_config = yaml.safe_load(open(os.path.join(root, "deploy/docker/ouroboros.yaml"), encoding="utf-8"))
compose_env = services.get("ouroboros", {}).get("environment", {})
for var in ("OUROBOROS_PG_HOST", "APP_PASSWORD", "DB_PASSWORD"):
    check(var in compose_env, f"docker-compose: ouroboros does not set {var}")
check(compose_env.get("OUROBOROS_PG_HOST") == "postgres", "docker-compose: OUROBOROS_PG_HOST must name the postgres service")
default_shutdown = re.search(r":-([^}]+)\}", str(docker_config["timeouts"]["shutdown_timeout"]))
shutdown = seconds(default_shutdown.group(1) if default_shutdown else docker_config["timeouts"]["shutdown_timeout"])
check(seconds(services.get("ouroboros", {}).get("stop_grace_period", "10s")) > shutdown,
      "docker-compose: ouroboros stop_grace_period must exceed shutdown_timeout")
for name, svc in services.items():
    for port in svc.get("ports", []):
        check(str(port).startswith("127.0.0.1:"), f"docker-compose: {name} publishes {port} beyond 127.0.0.1")

# ---- Prometheus and Grafana -------------------------------------------------------------------
prometheus = load_all("deploy/prometheus/prometheus.yml")[0]
jobs = {j["job_name"]: j for j in prometheus["scrape_configs"]}
metrics_default = re.search(r":-(\d+)\}", str(docker_config["metrics"]["port"]))
compose_metrics_port = metrics_default.group(1) if metrics_default else str(docker_config["metrics"]["port"])
if check("ouroboros" in jobs, "prometheus.yml: no job named ouroboros (alerts.yml expects it)"):
    targets = [t for sc in jobs["ouroboros"].get("static_configs", []) for t in sc["targets"]]
    check(f"ouroboros:{compose_metrics_port}" in targets,
          f"prometheus.yml: ouroboros job must scrape ouroboros:{compose_metrics_port} (the compose service)")
for rule_file in prometheus.get("rule_files", []):
    check(os.path.exists(os.path.join(root, "deploy/prometheus", rule_file)), f"prometheus.yml: rule file {rule_file} missing")
    mounts = [v.split(":")[1] for v in services.get("prometheus", {}).get("volumes", []) if isinstance(v, str)]
    check(f"/etc/prometheus/{rule_file}" in mounts, f"docker-compose: prometheus does not mount {rule_file}")

datasources = load_all("deploy/grafana/provisioning/datasources/prometheus.yml")[0]["datasources"]
check(any(d["type"] == "prometheus" and "prometheus:9090" in d["url"] for d in datasources),
      "grafana datasource must point at the compose prometheus service")
providers = load_all("deploy/grafana/provisioning/dashboards/ouroboros.yml")[0]["providers"]
grafana_mounts = dict(reversed(v.split(":")[:2]) for v in services.get("grafana", {}).get("volumes", []))
for provider in providers:
    source = grafana_mounts.get(provider["options"]["path"])
    if check(source is not None, f"grafana provider path {provider['options']['path']} is not mounted by docker-compose"):
        check(any(f.endswith(".json") for f in os.listdir(os.path.join(compose_dir, source))),
              f"grafana: no dashboard JSON in {source}")

for e in errors:
    print("error:", e)
if errors:
    sys.exit(1)
print("manifests: ok")
