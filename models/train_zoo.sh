#!/usr/bin/env bash
# Trains every shipped model with its recipe (see models/README.md), writes models/zoo/*.pim, then
# rewrites the golden scores in models/golden/ and prints the accuracy table. One core; about 10
# minutes on an idle machine of this project's kind. Needs deploy/install-deps.sh first.
#
#   models/train_zoo.sh [SPLIT_DIR]     SPLIT_DIR: where the MNIST split goes (build/mnist-split)
set -euo pipefail
cd "$(dirname "$0")"
split="${1:-../build/mnist-split}"
python=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1

run() {
  echo "=== $*"
  local start=${SECONDS}
  "${python}" "$@"
  echo "=== $(( SECONDS - start )) s"
}

run mnist_split.py --out "${split}"
run train_bnn.py --data "${split}"
run train_int8.py --arch mlp --data "${split}"
run train_int8.py --arch lenet5 --data "${split}"
run train_bnn.py --dataset fashion
run train_int8.py --arch mlp --dataset fashion
run train_int8.py --arch lenet5 --dataset fashion
run reference.py --zoo --update-golden
