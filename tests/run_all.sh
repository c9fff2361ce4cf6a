#!/usr/bin/env bash
# The whole test suite: installs dependencies, then builds and runs every test three ways:
#   build/        RelWithDebInfo: unit, Python and end-to-end tests
#   build-asan/   AddressSanitizer + UndefinedBehaviorSanitizer at -O1: the C++ unit and
#                 end-to-end tests, the daemon too (not the benchmarks, the models' accuracy runs,
#                 nor the Python, browser and fleet tests, whose daemon paths the C++ end-to-end
#                 tests already take)
#   build-tsan/   ThreadSanitizer: the batcher, metrics, the model registry, the systemd notifier,
#                 the FPGA driver on the virtual board and the shadow checker (label "tsan"), which
#                 own the threads
# then each libFuzzer target briefly (build-fuzz/, clang), then the board packages (see
# run_packages below): the amd64 .deb from build/, and the daemon and client cross-built for
# arm64 (build-arm64/) and armhf (build-armhf/), each packaged and driven by the host's end-to-end
# test, under qemu-user for ARM, after the ARM CPU kernels' golden check under qemu-user.
# Prints each ctest summary, each stage's time, and a total line; exits non-zero if anything
# failed.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-2}"
# Ninja for new build directories (one already configured keeps its generator): it starts a
# target's compiles before the libraries it links are archived, so both cores stay busy.
export CMAKE_GENERATOR="${CMAKE_GENERATOR:-Ninja}"

deploy/install-deps.sh || exit 1
run_start=${SECONDS}

total_passed=0
total_failed=0
status=0

# run_suite NAME BUILD_DIR "CMAKE_ARGS" "BUILD_TARGETS" "CTEST_ARGS" [OPTIMIZATION]
run_suite() {
  local name=$1 dir=$2 cmake_args=$3 targets=$4 ctest_args=$5 opt=${6:--O2}
  echo "=== ${name}: configure and build (${dir})"
  local build_log
  build_log=$(mktemp)
  # shellcheck disable=SC2086
  # -g1 (line tables, enough for sanitizer and crash stack traces) instead of -g: measured on
  # service/inference_service.cc under ASan, 44 s instead of 56-61 s and 16 MB instead of 27 MB.
  if ! { cmake -S . -B "${dir}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYNQ_LINKER=mold \
             "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=${opt} -g1 -DNDEBUG" \
             "-DCMAKE_C_FLAGS_RELWITHDEBINFO=${opt} -g1 -DNDEBUG" ${cmake_args} &&
         cmake --build "${dir}" -j "${jobs}" ${targets:+--target ${targets}}; } \
       >"${build_log}" 2>&1; then
    echo "=== ${name}: BUILD FAILED"
    grep -E "error|Error" "${build_log}" | head -40
    rm -f "${build_log}"
    status=1
    total_failed=$((total_failed + 1))
    return
  fi
  grep -E "warning:" "${build_log}" | sort -u | head -20
  rm -f "${build_log}"
  echo "=== ${name}: ctest"
  local log
  log=$(mktemp)
  # shellcheck disable=SC2086
  ctest --test-dir "${dir}" --output-on-failure -j "${jobs}" ${ctest_args} 2>&1 | tee "${log}"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
  local line passed failed
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "${log}" | tail -1)
  if [[ -z "${line}" ]]; then
    status=1
  else
    failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"${line}")
    passed=$(( $(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"${line}") - failed ))
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
  fi
  rm -f "${log}"
}

# timed LABEL COMMAND...: runs the command and prints how long it took.
timed() {
  local label=$1 start=${SECONDS}
  shift
  "$@"
  local rc=$?
  echo "=== ${label}: $((SECONDS - start)) s"
  return "${rc}"
}

# check LABEL COMMAND...: one pass or failure in the totals, timed.
check() {
  local label=$1
  shift
  if timed "${label}" "$@"; then
    total_passed=$((total_passed + 1))
  else
    echo "=== ${label}: FAILED"
    status=1
    total_failed=$((total_failed + 1))
    return 1
  fi
}

# Cross builds make only what a board runs (the daemon, the client and the CPU benchmark, as
# packaged) and the CPU kernels' golden check (tests/cpu_golden_check, run under qemu-user), in
# Release. PYNQ_WITH_PROMETHEUS=OFF: prometheus-cpp-dev:arm64 cannot be co-installed, so the
# Prometheus exporter is left out of cross builds.
cross_build() {
  local dir=$1 toolchain=$2
  shift 2
  local log="${dir}/cross-build.log"
  mkdir -p "${dir}"
  cmake -S . -B "${dir}" --toolchain "cmake/toolchains/${toolchain}.cmake" \
      -DCMAKE_BUILD_TYPE=Release -DPYNQ_BUILD_TESTS=OFF -DPYNQ_WITH_PROMETHEUS=OFF "$@" \
      >"${log}" 2>&1 &&
    cmake --build "${dir}" -j "${jobs}" --target pynq-inferd pynq-infer cpu_backend_bench \
        cpu_golden_check >>"${log}" 2>&1 ||
    { grep -E "error|Error" "${log}" | head -40; return 1; }
}

run_packages() {
  echo "=== packages: cross dependencies (deploy/install-deps.sh --cross)"
  check "cross dependencies" deploy/install-deps.sh --cross || return
  check "package amd64 + e2e" tests/package_e2e_test.sh amd64 build build
  # Every shipped model's whole test set on every ARM kernel set, forced one by one (qemu's
  # default CPUs have NEON, and on arm64 the dot-product extension): about 30 s of CPU each.
  if check "cross-build arm64" cross_build build-arm64 aarch64-linux-gnu; then
    check "arm64 CPU kernels vs golden under qemu-aarch64" \
      qemu-aarch64 build-arm64/tests/cpu_golden_check --source_dir="${PWD}" \
        --require=portable,neon,neon-dotprod
    check "package arm64 + e2e under qemu-aarch64" \
      tests/package_e2e_test.sh arm64 build-arm64 build qemu-aarch64
  fi
  # No XRT for armhf in Debian (and Zynq-7000 boards use /dev/uio + u-dma-buf anyway).
  if check "cross-build armhf" cross_build build-armhf arm-linux-gnueabihf \
      -DPYNQ_SYSROOT="${PWD}/build-cross/sysroot-armhf" -DPYNQ_WITH_XRT=OFF; then
    check "armhf CPU kernels vs golden under qemu-arm" \
      qemu-arm -L build-cross/sysroot-armhf build-armhf/tests/cpu_golden_check \
        --source_dir="${PWD}" --require=portable,neon
    check "package armhf + e2e under qemu-arm" \
      tests/package_e2e_test.sh armhf build-armhf build qemu-arm -L build-cross/sysroot-armhf
  fi
  # The ARM speed estimate once, briefly (bench/: a smoke run, figures not checked).
  if [[ -x build-arm64/bench/cpu_backend_bench && -x build-armhf/bench/cpu_backend_bench ]]; then
    check "bench smoke: arm_cpu_estimate.py" bench/smoke_test.sh 0 \
      "^Cortex-A9 .*mnist-lenet5-int8 +neon +[0-9,]+" \
      "^Cortex-A53 .*mnist-int8-mlp +neon-dotprod +[0-9,]+" -- bench/arm_cpu_estimate.py --batch=4
  fi
}

timed "suite main" run_suite "main" build "" "" ""
# The benchmarks, the models' accuracy runs and the Python, browser and fleet tests are left to
# the main suite: under ASan they would only repeat the C++ end-to-end tests' daemon paths. -O1,
# as ASan's authors advise: measured on service/inference_service.cc, about a third less compile
# time than -O2, and the build is most of this stage.
timed "suite asan+ubsan" run_suite "asan+ubsan" build-asan \
  "-DPYNQ_SANITIZER=address -DPYNQ_BUILD_BENCH=OFF" "" "-LE models|browser|fleet|python" -O1
timed "suite tsan" run_suite "tsan" build-tsan "-DPYNQ_SANITIZER=thread" \
  "batcher_test batcher_liveness_test metrics_test systemd_notifier_test sim_device_test \
   fpga_backend_test model_registry_test shadow_checker_test" "-L tsan"
# Each libFuzzer target briefly (fuzz/README.md): its regression inputs, its seed corpus and 3 s of
# fuzzing, with clang's ASan + UBSan (build-fuzz/). The full runs are fuzz/run_all.sh, not CI.
check "fuzz targets (brief)" fuzz/run_all.sh --brief
timed "packages and cross builds" run_packages

echo "=== total time (after the base dependencies): $((SECONDS - run_start)) s"
echo "all suites: ${total_passed} passed, ${total_failed} failed"
exit "${status}"
