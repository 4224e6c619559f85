"""Thread counts: the CPUs a process may use (affinity, cgroup quota), torchrun's local ranks, --threads."""
from __future__ import annotations

import torch

from ssrec import threads
from ssrec.cli import main


def test_a_cgroup_quota_is_read_and_max_means_none(tmp_path):
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")
    assert threads.cgroup_cpu_limit(quota) == 1.5
    quota.write_text("max 100000\n")
    assert threads.cgroup_cpu_limit(quota) is None
    assert threads.cgroup_cpu_limit(tmp_path / "absent") is None


def test_the_default_respects_omp_num_threads_and_shares_cpus_between_local_ranks(monkeypatch):
    monkeypatch.setattr(threads, "available_cpus", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert threads.default_threads() == 8
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert threads.default_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.default_threads() == 3


def test_threads_apply_to_the_command_only(tmp_path, data_file, monkeypatch):
    before = torch.get_num_threads()
    seen = []
    from ssrec.runs import execute

    real = execute.finetune_run
    monkeypatch.setattr(execute, "finetune_run", lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k))
    assert main(["-q", "--threads", "1", "finetune", "--data", str(data_file), "--epochs", "1", "--max-len", "8",
                 "--protocol", "full", "--out", str(tmp_path / "r")]) == 0
    assert seen == [1] and torch.get_num_threads() == before


def test_the_run_queue_counts_the_other_runnable_tasks(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("2.61 1.20 0.51 3/250 12345\n")
    assert threads.other_runnable_tasks(loadavg) == 2
    assert threads.other_runnable_tasks(tmp_path / "absent") == 0
