"""What the reproduction scripts share: the data files, and pre-training/fine-tuning steps as run specs.

Every step builds a ``ssrec.runs.spec.RunSpec`` and runs it with ``ssrec.runs.execute``, so each run folder
holds what the ``ssrec`` commands write (model.pt, metrics.json, pretrained.pt, pretrain.json, the spec as
a config file) and repeats by hand with ``ssrec finetune --config FOLDER/finetune-config.toml``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ssrec.runs import execute
from ssrec.runs.folder import Reuse
from ssrec.runs.spec import BackboneSpec, DataSpec, FinetuneSpec, ObjectiveSpec, PretrainSpec, ProtocolSpec, RunSpec

#: data set -> (interactions file, fixed negatives file or None, the authors' checkpoint), under the shared folders
FILES = {"beauty": ("beauty/Beauty.txt", None, "s3rec-authors-Beauty-epochs-150.pt"),
         "lastfm": ("lastfm/LastFM.txt", "lastfm/LastFM_sample.txt", "s3rec-authors-LastFM-epochs-150.pt")}
log = logging.getLogger("reproduction")


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

    def spec(self, backbone: str, **stages: object) -> RunSpec:
        return RunSpec(data=DataSpec(self.data), backbone=BackboneSpec(backbone), seed=self.seed, device=self.device,
                       **{"pretrain": None, "finetune": None, **stages})  # type: ignore[arg-type]

    def pretrain(self, label: str, backbone: str, objectives: str, epochs: int) -> str:
        """Pre-train into ``root/pretrain-LABEL-eEPOCHS``; the path of its pretrained.pt."""
        out = self.root / f"pretrain-{label}-e{epochs}"
        if not (self.reuse and (out / "pretrained.pt").exists()):
            stage = PretrainSpec(objectives=tuple(ObjectiveSpec(name) for name in objectives.split(",")), epochs=epochs)
            execute.pretrain_run(self.spec(backbone, pretrain=stage), out, Reuse.OVERWRITE)
        record = json.loads((out / "pretrain.json").read_text())
        log.info("pre-training %s: %d epochs, %.0fs", label, record["epochs_run"], record["seconds"])
        return str(out / "pretrained.pt")

    def finetune(self, label: str, backbone: str, protocol: str, init: str | None) -> dict[str, float]:
        """Fine-tune into ``root/finetune-LABEL-PROTOCOL-pPATIENCE``; its test metrics."""
        out = self.root / f"finetune-{label}-{protocol}-p{self.patience}"
        if not (self.reuse and (out / "metrics.json").exists()):
            negatives = FILES[self.dataset][1]
            fixed = str(self.data_dir / negatives) if protocol == "sampled" and negatives else None
            spec = self.spec(backbone, finetune=FinetuneSpec(patience=self.patience, init=init),
                             protocol=ProtocolSpec(protocol, fixed))
            execute.finetune_run(spec, out, Reuse.OVERWRITE)
        record = json.loads((out / "metrics.json").read_text())
        log.info("%s %s: best epoch %d of %d, %.0fs", label, protocol, record["best_epoch"], record["epochs_run"],
                 record["seconds"])
        return record["metrics"]
