"""`python -m benchmarks [--quick]`: run every benchmark; the last line is one JSON object."""

from __future__ import annotations

import argparse
import json
import os
import platform

from benchmarks import rules_bench


def main() -> None:
    """Run the benchmarks in order and print their figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under 2 minutes)")
    args = parser.parse_args()
    figures: dict[str, object] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}"
    }
    for name, module in (("rules", rules_bench),):
        result = module.run(quick=args.quick)
        print(f"[{name}]", json.dumps(result), flush=True)
        figures.update(result)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
