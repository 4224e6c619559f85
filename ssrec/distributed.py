"""Multi-process training on PyTorch's own engine: ``torchrun`` + ``DistributedDataParallel``.

``torchrun --nproc_per_node N -m ssrec pretrain|finetune|run ...`` starts N processes; ``ssrec`` sees
torchrun's environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``) and joins the process group (gloo on CPU,
NCCL on CUDA, one GPU per process). Then:

- the batch size stays the global one: every rank builds the same batches of ``per_process(batch_size)``
  rows from the shared shuffle seed and ``shard_batches`` deals them out, so one step of N processes sees
  ``batch_size`` samples, every sample is seen once per epoch and every rank takes the same number of steps;
- the model is wrapped in ``DistributedDataParallel``, which averages gradients across ranks (Adam is
  invariant to that scale); masking, negatives and dropout draw from per-rank seeds (``seed + rank``);
- evaluation scores each chunk of users on one rank only (``owns``) ``all_reduce_sum`` assembles every
  user's rank, so metrics equal single-process evaluation of the same weights exactly;
- only rank 0 writes files and prints.
Exact resume (``ssrec.training.resume``) is single-process: a distributed run saves rank 0's random state only.
"""
from __future__ import annotations

import logging
import os

import torch
import torch.distributed as dist
from torch import nn

log = logging.getLogger(__name__)


def world_size() -> int:
    """Processes in the job (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """Whether this process writes files and prints: rank 0, or the only process."""
    return rank() == 0


def init_from_environment(device: str) -> str:
    """Join the process group torchrun describes in the environment; the device this process should use.

    Without torchrun's variables (or with ``WORLD_SIZE=1``) nothing happens and ``device`` is returned.
    """
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1 or (dist.is_available() and dist.is_initialized()):
        return device
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    cuda = device.startswith("cuda")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    log.info("distributed: rank %d of %d (%s backend), device %s", rank(), world_size(), dist.get_backend(), device)
    return device


def per_process(batch_size: int) -> int:
    """Each process's share of a global ``batch_size`` (rounded up)."""
    return -(-batch_size // world_size())


def shard_batches(batches: list[torch.Tensor], rank: int, world: int) -> list[torch.Tensor]:
    """This rank's share of an epoch's ``batches`` (the same list on every rank).

    Whole batches are dealt round-robin; the rows of the last, incomplete round are split evenly, so every
    rank gets ``ceil(len(batches) / world)`` batches and every row lands on exactly one rank.
    """
    if world == 1:
        return list(batches)
    whole = len(batches) - len(batches) % world
    mine = list(batches[rank:whole:world])
    if whole < len(batches):
        rest = torch.cat(batches[whole:])
        if len(rest) < world:
            raise ValueError(f"{len(rest)} leftover samples cannot be shared by {world} processes; "
                             "use fewer processes or a smaller batch size")
        mine.append(rest.tensor_split(world)[rank])
    return mine


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` in ``DistributedDataParallel`` when there are several processes, else itself."""
    if world_size() == 1:
        return module
    device_ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum ``values`` over ranks (a copy; on the tensor's device, moved through CUDA for NCCL)."""
    if world_size() == 1:
        return values
    on = values.to("cuda") if dist.get_backend() == "nccl" else values.clone()
    dist.all_reduce(on)
    return on.to(values.device)


def owns(chunk_index: int) -> bool:
    """Whether this rank scores evaluation chunk ``chunk_index`` (round-robin)."""
    return chunk_index % world_size() == rank()



def barrier() -> None:
    """Wait for every process (nothing to wait for alone)."""
    if world_size() > 1:
        dist.barrier()


def shutdown() -> None:
    """Leave the process group, if this process joined one, once every process has come this far
    (a rank tearing gloo down while rank 0 still writes its files aborts the job)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
