"""How many CPU threads torch may use: what this process may really run on, or what the user asks for.

torch starts one intra-op thread per core of the machine. In a container limited by a CPU quota, under an
affinity mask, or with several ranks of ``torchrun`` on one machine, that oversubscribes the cores, and two
training jobs that each take every core slow each other down many times over (a LastFM pre-training epoch
took 648.5 s with torch's default two threads beside another job on 2 cores, 24.5 s with one). ssrec
therefore uses ``min(affinity mask, cgroup CPU quota) / local ranks`` threads unless ``--threads`` (or
``OMP_NUM_THREADS``) says otherwise.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch

log = logging.getLogger(__name__)
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cgroup_cpu_limit(path: Path = CGROUP_CPU_MAX) -> float | None:
    """The CPUs a cgroup v2 quota allows (``"200000 100000"`` -> 2.0), or None where there is no quota."""
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup quota (at least 1)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpu_limit()
    if quota is not None:
        count = min(count, max(1, math.floor(quota)))
    return max(1, count)


def other_runnable_tasks(loadavg: Path = Path("/proc/loadavg")) -> int:
    """Tasks runnable right now besides this one (Linux's run queue; 0 where it cannot be read)."""
    try:
        running = int(loadavg.read_text().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, running - 1)


def default_threads() -> int:
    """The threads one process should use: ``OMP_NUM_THREADS`` when set, else its share of the available CPUs."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    return max(1, available_cpus() // max(local_ranks, 1))


def use_threads(requested: int | None) -> int:
    """Set torch's intra-op threads to ``requested`` (None: ``default_threads()``); the previous count."""
    if requested is not None and requested < 1:
        raise ValueError(f"--threads must be an integer >= 1, got {requested}")
    previous = torch.get_num_threads()
    count = requested or default_threads()
    others = other_runnable_tasks()
    if requested is None and count > 1 and others >= 1 and others + count > available_cpus():
        log.warning("the machine is busy (%d other runnable tasks on %d CPUs): %d torch threads will compete with "
                    "them, which can make training many times slower; pass --threads 1 (or fewer threads) to share "
                    "the cores", others, available_cpus(), count)
    if count != previous:
        torch.set_num_threads(count)
    log.debug("torch uses %d thread(s) (%d CPU(s) available to this process)", count, available_cpus())
    return previous
