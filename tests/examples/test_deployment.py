"""The users example's Kubernetes manifests agree with what the service reads."""

from __future__ import annotations

from typing import Any

import yaml

from lbtoolkit.config import parse_duration
from lbtoolkit.tools.probes import DEFAULT_PROBES_PORT
from tests.examples.examples_support import EXAMPLES
from users_service.service import build

MANIFESTS = EXAMPLES / "users" / "deploy" / "users.yaml"
MARGIN_SECONDS = 10  # time for the kubelet's own steps after the service's shutdown budget


def _documents() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFESTS.read_text())}


def test_every_variable_in_the_configmap_and_secret_is_read_by_the_service() -> None:
    docs = _documents()
    environ = {**docs["ConfigMap"]["data"], **docs["Secret"]["stringData"]}
    app = build(environ=environ, argv=[])
    read = {variable.name for variable in app.config.variables()}
    assert sorted(set(environ) - read) == []
    assert app.runtime.config.issues == []


def test_probes_point_at_the_probes_port_and_secrets_come_from_the_secret() -> None:
    docs = _documents()
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = docs["ConfigMap"]["data"]
    assert ports["probes"] == int(config["USERS_PROBES_SERVER_PORT"]) == DEFAULT_PROBES_PORT
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "probes"
    assert {"configMapRef": {"name": docs["ConfigMap"]["metadata"]["name"]}} in container["envFrom"]
    assert {"secretRef": {"name": docs["Secret"]["metadata"]["name"]}} in container["envFrom"]
    assert not any(name.endswith(("PASSWORD", "DSN")) for name in config)


def test_grace_period_is_the_shutdown_timeout_and_a_margin() -> None:
    docs = _documents()
    config = docs["ConfigMap"]["data"]
    # DRAIN_DELAY is spent inside SHUTDOWN_TIMEOUT, so the timeout alone bounds the stop.
    budget = parse_duration(config["USERS_SHUTDOWN_TIMEOUT"])
    assert parse_duration(config["USERS_DRAIN_DELAY"]) < budget
    grace = docs["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace == int(budget.total_seconds()) + MARGIN_SECONDS


def test_the_pod_exposes_the_ports_the_service_listens_on_and_no_other() -> None:
    docs = _documents()
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    config = docs["ConfigMap"]["data"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {
        "grpc": int(config["USERS_USERS_GRPC_SERVER_PORT"]),
        "http": int(config["USERS_USERS_SERVER_PORT"]),
        "probes": int(config["USERS_PROBES_SERVER_PORT"]),
    }
    # WebSocket clients of the realtime node come through the HTTP port.
    exposed = {p["name"]: p["targetPort"] for p in docs["Service"]["spec"]["ports"]}
    assert exposed == {"grpc": "grpc", "http": "http"}
