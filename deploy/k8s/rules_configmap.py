"""Print the `monitor-rules` ConfigMap for a rules folder, ready for kubectl:

    python deploy/k8s/rules_configmap.py rules | kubectl apply -f -

A ConfigMap is flat, so files in subfolders (rules/lists/common.yaml) become top-level keys
(common.yaml); the daemon reads every .yaml file of the mounted folder and reloads when the
ConfigMap changes. JSON is valid YAML, and needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LIMIT = 1_000_000  # bytes: Kubernetes refuses larger ConfigMaps


def rule_files(folder: Path) -> list[Path]:
    """Every .yaml/.yml file under `folder`, hidden ones skipped (as the daemon does)."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def configmap(folder: Path) -> dict[str, Any]:
    """The ConfigMap object; SystemExit with a reason when it cannot be built."""
    data: dict[str, str] = {}
    for path in rule_files(folder):
        if path.name in data:
            raise SystemExit(f"two rule files are named {path.name}: rename one (a ConfigMap is flat)")
        data[path.name] = path.read_text(encoding="utf-8")
    if not data:
        raise SystemExit(f"no .yaml rule files under {folder}")
    size = sum(len(v.encode()) for v in data.values())
    if size > LIMIT:
        raise SystemExit(f"rule files hold {size} bytes; a ConfigMap holds at most {LIMIT}")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "monitor-rules", "labels": {"app.kubernetes.io/name": "monitor"}},
        "data": data,
    }


if __name__ == "__main__":
    print(json.dumps(configmap(Path(sys.argv[1] if len(sys.argv) > 1 else "rules")), indent=2, ensure_ascii=False))
