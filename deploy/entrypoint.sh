#!/bin/sh
# Container entrypoint: refuse to start with broken rules (file:line on stderr), then exec.
set -eu
if [ "${1:-run}" = "run" ]; then
  rules="${MONITOR_RULES:-/etc/monitor/rules}"
  if ! monitor rules check "$rules" >/dev/null; then
    echo "entrypoint: rules at $rules are invalid; not starting" >&2
    exit 1
  fi
fi
exec monitor "$@"
