#!/usr/bin/env bash
# The suite's smoke run of one benchmark program: run it once, briefly, and check that it started,
# exited with an allowed code, and printed its figures. Not a timing assertion: a benchmark whose
# target is not met exits 2, which is a figure, not a failure, here.
#
# Usage: smoke_test.sh EXIT_CODES PATTERN... -- COMMAND [ARGS...]
#   EXIT_CODES  comma-separated allowed exit codes, e.g. 0 or 0,2
#   PATTERN     an extended regular expression that some output line must match (each one)
#   e.g. smoke_test.sh 0,2 'unary: daemon/no-work images/s ratio [0-9.]+' -- \
#            build/bench/daemon_vs_nowork --rounds=1
set -uo pipefail
allowed=$1
shift
patterns=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  patterns+=("$1")
  shift
done
[[ $# -gt 1 ]] || { echo "usage: smoke_test.sh EXIT_CODES PATTERN... -- COMMAND [ARGS...]"; exit 2; }
shift
output=$(mktemp)
trap 'rm -f "${output}"' EXIT
"$@" >"${output}" 2>&1
code=$?
cat "${output}"
status=0
if [[ ",${allowed}," != *",${code},"* ]]; then
  echo "smoke_test: $1 exited with ${code}, expected one of ${allowed}"
  status=1
fi
for pattern in "${patterns[@]}"; do
  if ! grep -Eq -- "${pattern}" "${output}"; then
    echo "smoke_test: $1 printed no line matching: ${pattern}"
    status=1
  fi
done
exit "${status}"
