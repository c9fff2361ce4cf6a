#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, start pynq-inferd on the
# bundled models (CPU backend) on a free loopback port, and classify the bundled held-out MNIST
# images through it with `pynq-infer eval`, which prints accuracy, images/s and latency.
# The daemon is stopped with SIGTERM at the end (it drains first).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DPYNQ_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j "${JOBS:-2}" --target pynq-inferd pynq-infer >/dev/null

work=$(mktemp -d)
daemon_pid=""
cleanup() {
  if [[ -n "${daemon_pid}" ]] && kill -0 "${daemon_pid}" 2>/dev/null; then
    kill -TERM "${daemon_pid}"
    wait "${daemon_pid}" || true
  fi
  rm -rf "${work}"
}
trap cleanup EXIT

build-release/service/pynq-inferd --model_dir=models/zoo --listen=127.0.0.1:0 \
  --port_file="${work}/port" --pl_lock_file="${work}/pl.lock" &
daemon_pid=$!
for _ in $(seq 1 300); do
  [[ -s "${work}/port" ]] && break
  kill -0 "${daemon_pid}" 2>/dev/null || { echo "pynq-inferd exited before serving" >&2; exit 1; }
  sleep 0.1
done
[[ -s "${work}/port" ]] || { echo "pynq-inferd did not start in 30 s" >&2; exit 1; }
server="127.0.0.1:$(cat "${work}/port")"

build-release/clients/pynq-infer models --server="${server}"
build-release/clients/pynq-infer eval --server="${server}" --model=mnist-bnn-tfc \
  --images=models/data/mnist-heldout-images.idx3-ubyte \
  --labels=models/data/mnist-heldout-labels.idx1-ubyte
build-release/clients/pynq-infer metrics --server="${server}"
