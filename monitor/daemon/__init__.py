"""The service: `Daemon` composes the components a role needs (parts.py); one-shot runs
(`run --once`, `replay`) live in oneshot.py. APScheduler is used only in schedule.py."""

from monitor.daemon.oneshot import replay, replay_clock, run_once
from monitor.daemon.parts import Role
from monitor.daemon.service import Daemon
from monitor.daemon.threads import in_daemon_thread

__all__ = ["Daemon", "Role", "in_daemon_thread", "replay", "replay_clock", "run_once"]
