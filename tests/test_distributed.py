"""Distributed: the sampler splits an epoch without duplicates or gaps, and evaluation under
DistributedDataParallel (2 processes, gloo, CPU) equals single-process evaluation of the same weights exactly."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import ssrec
from ssrec.data import make_synthetic
from ssrec.data.sampling import UserItemIndex, sample_distinct_negatives
from ssrec.data.split import leave_one_out
from ssrec.distributed import shard_batches
from ssrec.evaluation.ranking import encoder_scorer, evaluate, rank_full, rank_sampled

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="this torch has no gloo backend")


@pytest.mark.parametrize("sizes,world", [([100] * 7 + [37], 2), ([100] * 8, 4), ([50, 50, 3], 2), ([5], 3)])
def test_shards_hold_every_sample_once_in_equal_step_counts(sizes, world):
    batches = list(torch.arange(sum(sizes)).split(sizes))
    shards = [shard_batches(batches, r, world) for r in range(world)]
    assert len({len(s) for s in shards}) == 1, "every process runs the same number of steps"
    rows = torch.cat([b for s in shards for b in s])
    assert torch.equal(rows.sort().values, torch.arange(sum(sizes))), "no duplicate, no gap"
    assert all(len(b) > 0 for s in shards for b in s)


def test_too_few_leftover_samples_for_the_processes_is_a_clear_error():
    with pytest.raises(ValueError, match="2 leftover samples cannot be shared by 3 processes"):
        shard_batches([torch.arange(2)], 0, 3)


def _evaluation_fixture():
    """The same weights, split and negatives in every process (built from seeds)."""
    split = leave_one_out(make_synthetic(num_users=300, num_items=400, seed=3), max_len=20)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=split.dataset.num_items, max_len=20, hidden_size=16).eval()
    negatives = torch.from_numpy(sample_distinct_negatives(UserItemIndex(split.dataset), 99, seed=1))
    return split, encoder, negatives


def _evaluate_everything(split, encoder, negatives) -> dict:
    """Ranks under small chunks (many per process) and the metrics of both protocols."""
    score = encoder_scorer(encoder)
    width = split.dataset.num_items + 2
    return {"full_ranks": rank_full(score, split, "test", score_budget=width * 23),
            "sampled_ranks": rank_sampled(score, split.inputs("test"), split.targets("test"), negatives, batch_size=19),
            "full": evaluate(score, split, "valid", "full"),
            "sampled": evaluate(score, split, "test", "sampled", negatives)}


def _worker(rank: int, world: int, rendezvous: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    try:
        torch.save(_evaluate_everything(*_evaluation_fixture()), f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_process_evaluation_equals_one_process_exactly(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "rendezvous"), str(tmp_path)), nprocs=2, join=True)
    single = _evaluate_everything(*_evaluation_fixture())
    for rank in (0, 1):
        together = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert torch.equal(together["full_ranks"], single["full_ranks"])
        assert torch.equal(together["sampled_ranks"], single["sampled_ranks"])
        assert together["full"] == single["full"] and together["sampled"] == single["sampled"]
    assert (single["full_ranks"] > 0).float().mean() > 0.5, "ranks are real, not the zeros of an unscored user"


def _write_s3rec(dataset, path: Path) -> None:
    path.write_text("".join(f"{u + 1} {' '.join(map(str, dataset.sequence(u).tolist()))}\n"
                            for u in range(dataset.num_users)))


def _ssrec(*argv: str, processes: int = 1) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"] \
        if processes > 1 else [sys.executable]
    return subprocess.run([*launcher, "-m", "ssrec", *argv], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_torchrun_fine_tuning_writes_once_and_its_metrics_match_one_process(tmp_path):
    data = tmp_path / "data.txt"
    _write_s3rec(make_synthetic(num_users=300, num_items=120, seed=3), data)
    run = _ssrec("finetune", "--data", str(data), "--backbone", "sasrec", "--epochs", "3", "--max-len", "20",
                 "--protocol", "full", "--device", "cpu", "--out", str(tmp_path / "ddp"), processes=2)
    assert run.returncode == 0, run.stderr
    assert "rank 1 of 2 (gloo backend)" in run.stderr
    assert run.stdout.count("NDCG@10") == 1, "only rank 0 prints"
    log = [json.loads(line) for line in (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in log] == [1, 2, 3], "only rank 0 writes"
    recorded = json.loads((tmp_path / "ddp" / "metrics.json").read_text())["metrics"]
    alone = _ssrec("evaluate", "--checkpoint", str(tmp_path / "ddp" / "model.pt"), "--data", str(data),
                   "--protocol", "full", "--device", "cpu", "--json")
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["metrics"] == recorded
