#!/usr/bin/env bash
# Rebuild the lessons' shipped models (lessons 1-6, their CPU versions) and lesson 4's recall
# spread into checkpoints/lessons, as each lesson's "Run this lesson" trains them on a CPU, seeded;
# one thread, so this machine rebuilds them bit for bit (another CPU may differ in the last digits)
# (data: $1, default ../shared/datasets). About an hour on one core.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/datasets}
for lesson in 1 2 3 4 5 6; do
  OMP_NUM_THREADS=1 python -m rnnviz lesson "$lesson" --device cpu --data-dir "$DATA" \
    --out checkpoints/lessons --ship --json | tail -n 1
done
