#!/usr/bin/env bash
# The whole test suite: installs dependencies, then builds and runs every test three ways:
#   build/        RelWithDebInfo: unit, Python and end-to-end tests
#   build-asan/   AddressSanitizer + UndefinedBehaviorSanitizer: every C++ test, the daemon too
#   build-tsan/   ThreadSanitizer: the batcher, metrics, the model registry and the FPGA driver on
#                 the virtual board (label "tsan"), which own the threads
# Prints each ctest summary and a total line; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-2}"

deploy/install-deps.sh || exit 1

total_passed=0
total_failed=0
status=0

# run_suite NAME BUILD_DIR "CMAKE_ARGS" "BUILD_TARGETS" "CTEST_ARGS"
run_suite() {
  local name=$1 dir=$2 cmake_args=$3 targets=$4 ctest_args=$5
  echo "=== ${name}: configure and build (${dir})"
  local build_log
  build_log=$(mktemp)
  # shellcheck disable=SC2086
  if ! { cmake -S . -B "${dir}" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${cmake_args} &&
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
  ctest --test-dir "${dir}" --output-on-failure ${ctest_args} 2>&1 | tee "${log}"
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

run_suite "main" build "" "" ""
run_suite "asan+ubsan" build-asan "-DPYNQ_SANITIZER=address" "" "-LE models"
run_suite "tsan" build-tsan "-DPYNQ_SANITIZER=thread" "batcher_test metrics_test sim_device_test fpga_backend_test model_registry_test" "-L tsan"

echo "all suites: ${total_passed} passed, ${total_failed} failed"
exit "${status}"
