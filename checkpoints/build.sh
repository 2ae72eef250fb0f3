#!/usr/bin/env bash
# Rebuild the shipped checkpoints, one command per model (data: $1, default ../shared/datasets).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/datasets}
train() { python -m rnnviz train --device cpu --data-dir "$DATA" --out checkpoints --json "$@" | tail -n 1; }
train --preset quick-cpu --hidden 128 --lr 0.003 --epochs 4 --name lstm-mnist
train --preset cells-gru --name gru-mnist
train --preset cells-rnn --name rnn-mnist
train --preset fashion-lstm --epochs 5 --name lstm-fashion
train --preset digits-offline --name lstm-digits
# The Draw page's model: MNIST's best, trained on batches redrawn like canvas drawings.
train --cell gru --hidden 128 --lr 0.003 --schedule one_cycle --epochs 10 --augment canvas --name gru-draw
# As shipped: without optimiser states (they train on with a fresh optimiser and say so), the
# history's numbers at 6 significant digits.
python -c 'import sys; from rnnviz.storage.folders import ship; [ship(p) for p in sys.argv[1:]]' \
  checkpoints/lstm-mnist checkpoints/gru-mnist checkpoints/rnn-mnist checkpoints/lstm-fashion \
  checkpoints/lstm-digits checkpoints/gru-draw
