"""Whole fine-tuning curves: validation and test metrics after every epoch, with no early stopping.

Each run fine-tunes for a fixed number of epochs (patience = epochs, so nothing stops it) and records, per
epoch, the training seconds, the validation metrics and the test metrics of that epoch's weights. Training
up to epoch E does not depend on the stopping rule, so a curve answers, for any rule, where it stops, which
epoch it selects and the test metrics a run with that rule reports (``benchmarks/stopping_rules.py``).

Test metrics are computed at the epochs that set a new best validation value (the only ones a rule that
keeps the best weights can report). Runs are appended to a CSV (one row per epoch) and skipped when already
there, so the grid resumes::

    python benchmarks/finetune_curves.py --dataset lastfm --model sasrec --seeds 42,43,44 --epochs 200
    python benchmarks/finetune_curves.py --dataset beauty --model authors --batches random --epochs 80
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

from ssrec.data.split import leave_one_out
from ssrec.evaluation.ranking import encoder_scorer, evaluate
from ssrec.io.checkpoint import load_checkpoint
from ssrec.io.released_checkpoint import import_released_checkpoint
from ssrec.io.transfer import transfer_weights
from ssrec.runs.execute import build_backbone, load_data, protocol_for
from ssrec.runs.spec import BackboneSpec, DataSpec, ProtocolSpec, RunSpec
from ssrec.training.finetuning import FinetuneConfig, finetune

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reproduction import FILES  # noqa: E402
from results_csv import read_rows, write_rows  # noqa: E402

log = logging.getLogger("finetune_curves")
KEY = ("dataset", "model", "batches", "loss", "seed")
TEST_METRICS = ("HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR")


def curve(dataset_name: str, model: str, batches: str, loss: str, seed: int, epochs: int, data_dir: Path,
          checkpoints: Path, work: Path) -> list[dict[str, object]]:
    """One run's rows: epoch, train seconds, validation metric, test metrics."""
    data_file, negatives_file, released = FILES[dataset_name]
    protocol_name = "sampled" if negatives_file else "full"
    backbone = "sasrec" if model == "sasrec" else "transformer"
    spec = RunSpec(data=DataSpec(str(data_dir / data_file)), backbone=BackboneSpec(backbone), seed=seed,
                   protocol=ProtocolSpec(protocol_name, str(data_dir / negatives_file) if negatives_file else None))
    dataset = load_data(spec.data, seed)
    encoder = build_backbone(spec, dataset)
    if model == "authors":  # S3-Rec: fine-tuned from the authors' pre-trained checkpoint
        imported = work / f"authors-{dataset_name}.pt"
        if not imported.exists():
            work.mkdir(parents=True, exist_ok=True)
            import_released_checkpoint(checkpoints / released, imported)
        log.info("%s", transfer_weights(encoder, load_checkpoint(imported)).summary())
    split = leave_one_out(dataset, spec.data.max_len)
    protocol, _ = protocol_for(spec.protocol, seed, dataset)
    config = FinetuneConfig(loss=loss, epochs=epochs, patience=epochs, protocol=protocol.name, seed=seed,
                            bucketing=batches == "bucketed")
    rows: list[dict[str, object]] = []

    def record(epoch: int, logs: dict[str, float]) -> None:
        valid = logs[f"valid_{protocol.valid_metric}"]
        row: dict[str, object] = {"dataset": dataset_name, "model": model, "batches": batches, "loss": loss,
                                  "seed": seed, "epoch": epoch, "train_seconds": round(logs["train_seconds"], 3),
                                  "valid": round(valid, 6), "valid_metric": protocol.valid_metric}
        # a rule that keeps the best validation weights only ever reports a new best epoch's test metrics
        if all(valid > float(r["valid"]) for r in rows):  # type: ignore[arg-type]
            test = evaluate(encoder_scorer(encoder), split, "test", protocol)
            row.update({f"test_{m}": round(test[m], 6) for m in TEST_METRICS})
        rows.append(row)
        log.info("%s %s %s seed %d epoch %d: valid %.4f", dataset_name, model, batches, seed, epoch, valid)

    finetune(encoder, split, config, protocol.negatives, on_epoch_end=record)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(FILES), required=True)
    parser.add_argument("--model", choices=("sasrec", "authors"), default="sasrec",
                        help="sasrec: from scratch; authors: the Transformer from the authors' S3-Rec checkpoint")
    parser.add_argument("--batches", choices=("bucketed", "random"), default="bucketed")
    parser.add_argument("--loss", default="bce")
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--checkpoints", type=Path, default=Path("../shared/checkpoints"))
    parser.add_argument("--work", type=Path, default=Path("runs/curves"))
    parser.add_argument("--csv", type=Path, default=None,
                        help="default: benchmarks/results/curves-DATASET-MODEL-BATCHES-LOSS.csv")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args.csv = args.csv or Path(f"benchmarks/results/curves-{args.dataset}-{args.model}-{args.batches}-{args.loss}.csv")
    for seed in (int(s) for s in args.seeds.split(",")):
        key = (args.dataset, args.model, args.batches, args.loss, str(seed))
        kept: list[dict[str, object]] = [dict(row) for row in read_rows(args.csv)]
        if sum(tuple(row[k] for k in KEY) == key for row in kept) >= args.epochs:
            log.info("%s: already in %s", key, args.csv)
            continue
        kept = [row for row in kept if tuple(row[k] for k in KEY) != key]  # a shorter, older curve is replaced
        torch.manual_seed(seed)
        rows = kept + curve(args.dataset, args.model, args.batches, args.loss, seed, args.epochs, args.data_dir,
                            args.checkpoints, args.work)
        write_rows(args.csv, rows, list(dict.fromkeys(k for row in rows for k in row)))
        log.info("wrote %s (%d rows)", args.csv, len(rows))


if __name__ == "__main__":
    main()
