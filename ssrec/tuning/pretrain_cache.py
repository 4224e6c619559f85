"""Pre-training paid once per search: trials whose pre-training specs agree share one pre-training.

The cache folder of a pre-training is named by a digest of what determines it (data, backbone, pre-training
stage, seed). When ``pretrain.epochs`` is searched, one pre-training of the longest length writes a
checkpoint at every length asked for (``checkpoint_every`` = their greatest common divisor); with a constant
learning rate its epoch-K checkpoint is exactly what a K-epoch pre-training ends with, so RecBole's
S3-Rec space ``[50, 100, 150]`` costs one 150-epoch pre-training. Several workers may ask for the same
pre-training: the first runs it (holding the folder, ``ssrec.runs.folder.owned``), the others wait for its
checkpoint; a pre-training killed midway is resumed by the next worker that asks.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from pathlib import Path

from ssrec.runs import execute
from ssrec.runs.folder import Reuse, in_use
from ssrec.runs.spec import RunSpec, spec_to_dict
from ssrec.training.resume import state_path

log = logging.getLogger(__name__)
WAIT_SECONDS = 2.0


def pretrained_checkpoint(spec: RunSpec, epoch_choices: tuple[int, ...], cache: Path) -> Path:
    """The checkpoint of ``spec``'s pre-training after ``spec.pretrain.epochs`` epochs, from the shared cache.

    ``epoch_choices``: every length the search may ask for (empty when ``pretrain.epochs`` is not searched).
    """
    stage = spec.pretrain
    assert stage is not None
    lengths = tuple(sorted(set(epoch_choices) | {stage.epochs}))
    longest, every = lengths[-1], math.gcd(*lengths)
    shared = dataclasses.replace(spec, finetune=None, device="auto",
                                 pretrain=dataclasses.replace(stage, epochs=longest,
                                                              checkpoint_every=every if every < longest else 0))
    key = hashlib.sha256(json.dumps(spec_to_dict(shared), sort_keys=True).encode()).hexdigest()[:16]
    folder = cache / f"pretrain-{key}"
    wanted = folder / ("pretrained.pt" if stage.epochs == longest else f"pretrained-epoch-{stage.epochs}.pt")
    while not (folder / "pretrained.pt").exists():
        reuse = Reuse.RESUME if state_path(folder, "pretrain").exists() else Reuse.OVERWRITE
        try:
            log.info("pre-training for the search (%d epochs, checkpoints every %d) into %s", longest, every, folder)
            execute.pretrain_run(dataclasses.replace(shared, device=spec.device), folder, reuse, command="pretrain")
        except FileExistsError:  # another worker is running this very pre-training
            log.info("waiting for the pre-training another worker runs in %s", folder)
            while not (folder / "pretrained.pt").exists():
                time.sleep(WAIT_SECONDS)
                if not in_use(folder):
                    break  # its worker died: resume it here
    return wanted

