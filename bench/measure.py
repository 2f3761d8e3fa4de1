"""Running one crawler under measurement: wall time, peak RSS of its process tree, a time cap.

RSS is sampled from /proc every ``interval`` seconds: the launched process and all its
descendants (found through the ``PPid`` of every process), their resident set sizes summed, the
largest sum kept. Pool workers and browser children therefore count; memory shared between
processes (forked copy-on-write pages, shared libraries) counts once per process, as ``ps``
would show it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class RunResult:
    """What one measured run gave. ``timed_out`` runs were killed at ``wall_seconds``."""

    wall_seconds: float
    peak_rss_bytes: int
    returncode: int | None
    timed_out: bool


def _parent_pids() -> dict[int, int]:
    """pid -> parent pid for every live process."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
    return parents


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_bytes(root_pid: int) -> int:
    """The summed RSS of ``root_pid`` and all its descendants now (0 when it is gone)."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parent_pids().items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += _rss_bytes(pid)
        stack.extend(children.get(pid, ()))
    return total


class _PeakSampler(threading.Thread):
    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self.stopped.wait(self.interval)


def run_measured(
    command: Sequence[str],
    *,
    log_path: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    interval: float = 0.05,
) -> RunResult:
    """Run ``command`` (stdout and stderr to ``log_path``) and measure it.

    The command runs in its own session; at ``timeout`` seconds the whole process group gets
    SIGTERM, then SIGKILL two seconds later. Wall time runs from launch to exit.
    """
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            start_new_session=True,
        )
        sampler = _PeakSampler(process.pid, interval)
        sampler.start()
        timed_out = False
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        wall = time.perf_counter() - started
        _kill_group(process)  # a timed-out run, or anything the finished one left behind
        sampler.stopped.set()
        sampler.join()
    return RunResult(wall, sampler.peak, process.returncode, timed_out)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM then SIGKILL the process group of ``process``, which was started in its own."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(2.0)
