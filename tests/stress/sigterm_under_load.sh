#!/usr/bin/env bash
# Stress: runs the SIGTERM-under-load scenario (overload_e2e_test's
# SigtermUnderLoadLosesNoAcceptedRequest: unary and stream clients keep a heavy model's queue full,
# the daemon gets SIGTERM, and every request it counted as answered must have reached a client)
# N times against a build, and reports how many runs lost an accepted request. Not a CI stage: a
# few hundred runs take tens of minutes. Run it with other work loading the machine too, which is
# when the races show.
#
#   tests/stress/sigterm_under_load.sh [RUNS=200] [BUILD_DIR=build]
#
# Prints one line per failed run with the test's failure, and a last line
# "runs N, failed F, lost L accepted requests in all".
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-200}
build=${2:-build}
test_binary="${build}/tests/overload_e2e_test"
[[ -x "${test_binary}" && -x "${build}/service/pynq-inferd" ]] ||
  { echo "build ${build} first (cmake --build ${build} --target overload_e2e_test pynq-inferd)"; exit 2; }
failed=0
lost=0
for i in $(seq 1 "${runs}"); do
  out=$(PYNQ_SOURCE_DIR="${PWD}" PYNQ_INFERD="${PWD}/${build}/service/pynq-inferd" \
        "${test_binary}" --gtest_filter='*SigtermUnderLoad*' 2>&1)
  if ! grep -q '\[  PASSED  \] 1 test' <<<"${out}"; then
    failed=$((failed + 1))
    # The daemon's count of answers against the clients', when that is what failed.
    # gtest prints "  server_ok\n    Which is: 345\n  unary_ok + stream_ok\n    Which is: 333".
    counts=$(grep -A3 '^  server_ok$' <<<"${out}" | grep -o 'Which is: [0-9]*' | grep -o '[0-9]*' |
             tr '\n' ' ')
    read -r server clients <<<"${counts}"
    [[ -n "${server:-}" && -n "${clients:-}" ]] && lost=$((lost + server - clients))
    echo "run ${i} failed: $(grep -m1 -E 'Failure|FAILED' <<<"${out}") ${counts:+(daemon answered ${server}, clients received ${clients})}"
  fi
done
echo "runs ${runs}, failed ${failed}, lost ${lost} accepted requests in all"
[[ ${failed} -eq 0 ]]
