#!/bin/bash
# The device checks of the GPU issue in one short run (about 5 minutes on an H100/H200).
# Needs the Beauty data in local-data/data/beauty (git-ignored; copy it from ../shared/data and carry it).
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
cat "$out/cuda-tests.txt" "$out/speed-report.txt"
