"""What the reproduction scripts share: the data files, and pre-training/fine-tuning steps as ssrec commands.

Every step runs ``ssrec`` in-process with a command line, so each run folder holds what ``ssrec`` writes
(model.pt, metrics.json, pretrained.pt, pretrain.json) and can be inspected or repeated by hand.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ssrec.cli import main as ssrec_main

#: data set -> (interactions file, fixed negatives file or None, the authors' checkpoint), under the shared folders
FILES = {"beauty": ("beauty/Beauty.txt", None, "s3rec-authors-Beauty-epochs-150.pt"),
         "lastfm": ("lastfm/LastFM.txt", "lastfm/LastFM_sample.txt", "s3rec-authors-LastFM-epochs-150.pt")}
log = logging.getLogger("reproduction")


def run(argv: list[str]) -> None:
    """``ssrec ARGV``; a failure stops the script."""
    if ssrec_main(argv) != 0:
        raise SystemExit(f"ssrec {' '.join(argv)} failed")


@dataclass
class Steps:
    """Pre-training and fine-tuning on one data set with shared settings; ``reuse`` skips finished folders."""

    dataset: str
    data_dir: Path
    root: Path
    seed: int = 42
    device: str = "auto"
    patience: int = 10
    reuse: bool = False

    @property
    def data(self) -> str:
        return str(self.data_dir / FILES[self.dataset][0])

    def common(self) -> list[str]:
        return ["--data", self.data, "--seed", str(self.seed), "--device", self.device]

    def pretrain(self, label: str, backbone: str, objectives: str, epochs: int) -> str:
        """Pre-train into ``root/pretrain-LABEL-eEPOCHS``; the path of its pretrained.pt."""
        out = self.root / f"pretrain-{label}-e{epochs}"
        if not (self.reuse and (out / "pretrained.pt").exists()):
            run(["pretrain", *self.common(), "--backbone", backbone, "--objectives", objectives,
                 "--epochs", str(epochs), "--out", str(out), "--overwrite"])
        record = json.loads((out / "pretrain.json").read_text())
        log.info("pre-training %s: %d epochs, %.0fs", label, record["epochs_run"], record["seconds"])
        return str(out / "pretrained.pt")

    def finetune(self, label: str, backbone: str, protocol: str, init: str | None) -> dict[str, float]:
        """Fine-tune into ``root/finetune-LABEL-PROTOCOL-pPATIENCE``; its test metrics."""
        out = self.root / f"finetune-{label}-{protocol}-p{self.patience}"
        if not (self.reuse and (out / "metrics.json").exists()):
            argv = ["finetune", *self.common(), "--backbone", backbone, "--protocol", protocol,
                    "--patience", str(self.patience), "--out", str(out), "--overwrite"]
            if init:
                argv += ["--init", init]
            negatives = FILES[self.dataset][1]
            if protocol == "sampled" and negatives:
                argv += ["--negatives", str(self.data_dir / negatives)]
            run(argv)
        record = json.loads((out / "metrics.json").read_text())
        log.info("%s %s: best epoch %d of %d, %.0fs", label, protocol, record["best_epoch"], record["epochs_run"],
                 record["seconds"])
        return record["metrics"]
