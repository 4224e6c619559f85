#!/bin/bash
# The device checks of the GPU and speed issues in one short run (about 8 minutes on an H100/H200).
# Needs the Beauty and LastFM data in local-data/data/{beauty,lastfm} (git-ignored; copy them from
# ../shared/data and carry local-data).
# Writes every table and log under ${OUT:-gpu-check}.
set -u
out=${OUT:-gpu-check}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.csv" 2>&1
python -m pytest -q tests/test_attention.py -k cuda 2>&1 | tail -15 > "$out/cuda-tests.txt"
python benchmarks/speed_report.py --data local-data/data/beauty/Beauty.txt --device cuda \
    --peak-tflops 989 --peak-gbps 4800 > "$out/speed-report.txt" 2> "$out/speed-report.log"
python -m pytest -q benchmarks/test_core_speed.py -k cuda --benchmark-columns=mean,stddev,rounds \
    --benchmark-json "$out/core-speed.json" > "$out/core-speed.txt" 2>&1
python -m pytest -q tests/test_linear_cross_entropy.py tests/test_precision.py > "$out/precision-tests.txt" 2>&1
# a faithful pre-training epoch in fp32 and bf16 (the speed issue's first figure, on the GPU)
python benchmarks/pretrain_speed.py --data local-data/data/beauty/Beauty.txt --device cuda --release-steps 30 \
    --precisions fp32,bf16 > "$out/pretrain-speed.txt" 2> "$out/pretrain-speed.log"
# time to quality: the faithful 30-epoch LastFM run against the throughput preset, one seed each
for variant in faithful throughput; do
  python benchmarks/time_to_quality.py --data local-data/data/lastfm/LastFM.txt \
      --negatives local-data/data/lastfm/LastFM_sample.txt --variant $variant --seeds 42 --device cuda \
      --results "$out/time-to-quality-gpu.csv" >> "$out/time-to-quality.log" 2>&1
done
cat "$out/cuda-tests.txt" "$out/speed-report.txt" "$out/pretrain-speed.txt" "$out/time-to-quality-gpu.csv"
