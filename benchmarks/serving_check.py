"""Serving a fine-tuned checkpoint: `ssrec recommend` for every user, the ONNX export against torch, latency.

    python benchmarks/serving_check.py --checkpoint runs/beauty/model.pt --data ../shared/data/beauty/Beauty.txt

Prints: the wall time and peak memory (max RSS) of `ssrec recommend` over all users of the data and its first
rows; the largest absolute score difference of onnxruntime against torch over 1,000 users; the median
latency of torch and onnxruntime for one history and for a batch of 256 (same thread count); whether the
safetensors export loads back bit for bit. Ratios are measured in the same run; absolute times are this
machine's.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ssrec.data import load_dataset
from ssrec.data.split import leave_one_out
from ssrec.serving import Recommender
from ssrec.serving.export import ScoringPath, export_checkpoint


def median_seconds(call, repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="ssrec-serving-"))

    out = work / "recs.csv"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ssrec", "-q", "--threads", str(args.threads), "recommend", "--checkpoint",
                    args.checkpoint, "--data", args.data, "--k", "10", "--out", str(out), "--device", "cpu"],
                   check=True)
    wall = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = out.read_text().splitlines()
    print(f"ssrec recommend, all users: {wall:.1f} s wall, peak RSS {peak_mib:.0f} MiB, {len(lines) - 1} rows")
    print("\n".join(lines[:6]))

    import onnxruntime as ort

    export_checkpoint(args.checkpoint, "onnx", work / "onnx")
    export_checkpoint(args.checkpoint, "safetensors", work / "st")
    a, b = Recommender.load(args.checkpoint), Recommender.load(work / "st")
    identical = all(torch.equal(x, y) for x, y in zip(a.encoder.state_dict().values(), b.encoder.state_dict().values()))
    print(f"safetensors round trip bit-identical: {identical} ({len(a.encoder.state_dict())} tensors)")

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(work / "onnx" / "model.onnx"), options, providers=["CPUExecutionProvider"])
    model = ScoringPath(a.encoder).eval()
    split = leave_one_out(load_dataset(args.data), int(a.encoder.spec["max_len"]))
    inputs = split.inputs("test")[:1000]
    worst = 0.0
    with torch.no_grad():
        for chunk in inputs.split(250):
            got = session.run(None, {"items": chunk.numpy()})[0]
            worst = max(worst, float(np.abs(got - model(chunk).numpy()).max()))
    print(f"onnxruntime vs torch, 1,000 users: largest |score difference| {worst:.2e}")

    from ssrec.evaluation.ranking import encoder_scorer

    data = split.dataset
    sample = torch.arange(0, data.num_users, max(1, data.num_users // 500))
    with torch.no_grad():
        scores = encoder_scorer(a.encoder)(split.inputs("valid")[sample], sample)  # what validation ranks by
    scores[:, 0] = scores[:, -1] = float("-inf")
    for row, u in enumerate(sample.tolist()):
        scores[row, torch.from_numpy(data.sequence(u)[:-2])] = float("-inf")
    vocabulary = data.item_vocabulary
    expected = [vocabulary[i - 1] for i in scores.argmax(dim=1).tolist()]
    histories = [[vocabulary[i - 1] for i in data.sequence(u)[:-2]] for u in sample.tolist()]
    got = [items[0] for items in a.recommend(histories, k=1).items]
    print(f"top-1 of recommend(training part) = arg-max of the evaluation scorer: "
          f"{sum(g == e for g, e in zip(got, expected))}/{len(sample)} users")
    one, batch = inputs[:1], inputs[:256]
    with torch.no_grad():
        rows = []
        for name, x, repeats in (("one history", one, 200), ("batch of 256", batch, 20)):
            torch_s = median_seconds(lambda x=x: model(x), repeats)
            ort_s = median_seconds(lambda x=x: session.run(None, {"items": x.numpy()}), repeats)
            rows.append((name, torch_s, ort_s))
    print(f"\n| input ({args.threads} thread) | torch | onnxruntime | torch / onnxruntime |\n|---|---|---|---|")
    for name, torch_s, ort_s in rows:
        print(f"| {name} | {torch_s * 1e3:.2f} ms | {ort_s * 1e3:.2f} ms | {torch_s / ort_s:.2f} |")


if __name__ == "__main__":
    main()
