"""Why bf16 products were slow on the CPU: oneDNN generates a kernel for every new shape.

    python benchmarks/bf16_shapes.py

Times ``g.T @ h`` (the attribute heads' weight gradient: (T, 638) and (T, 64)) for 40 consecutive row
counts T, the first call on each shape and a repeat, in fp32 (MKL) and bf16 (oneDNN), and the same with
the rows padded to ``ssrec.nn.row_buckets.ROW_BUCKET`` as the heads now do under CPU autocast. Prints a table.
"""
from __future__ import annotations

import time

import torch

from ssrec.nn.row_buckets import pad_rows


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{'dtype':<10} {'rows':<10} {'first call (us)':>16} {'repeat (us)':>12}")
    for dtype in (torch.float32, torch.bfloat16):
        for bucketed in (False, True):
            first, repeat = [], []
            for count in range(2000, 2040):
                g, h = torch.randn(count, 638), torch.randn(count, 64)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                    if bucketed:
                        g, _ = pad_rows(g)
                        h, _ = pad_rows(h)
                    first.append(timed(lambda g=g, h=h: g.T @ h))
                    repeat.append(timed(lambda g=g, h=h: g.T @ h))
            name = "bf16" if dtype == torch.bfloat16 else "fp32"
            rows = "bucketed" if bucketed else "exact"
            print(f"{name:<10} {rows:<10} {1e6 * sum(first) / 40:>16.0f} {1e6 * sum(repeat) / 40:>12.0f}")


if __name__ == "__main__":
    main()
