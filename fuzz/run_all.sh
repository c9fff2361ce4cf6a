#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, in build-fuzz/) and runs each in turn, one
# fuzzing process at a time, then prints per target: executions, seconds, coverage (libFuzzer's
# cov: edges and ft: features), corpus size and findings. See fuzz/README.md.
#
#   fuzz/run_all.sh                      every target, 1,000,000 executions or 600 s each
#   fuzz/run_all.sh -runs=200000 png_decoder jpeg_decoder
#   fuzz/run_all.sh --brief              for CI: the regression inputs, then the corpus and 3 s of
#                                        fuzzing per target; fails on any finding
#
# Full runs grow a working corpus in build-fuzz/corpus/<target> (seeded from fuzz/<target>/corpus,
# which is not modified) and leave findings in build-fuzz/findings/<target>/. Exit status: 0 when
# no target found anything.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="${PYNQ_FUZZ_BUILD_DIR:-${src}/build-fuzz}"
runs=1000000
max_time=600
brief=0
targets=()
for arg in "$@"; do
  case "${arg}" in
    --brief) brief=1 ;;
    -runs=*) runs="${arg#-runs=}" ;;
    -max_total_time=*) max_time="${arg#-max_total_time=}" ;;
    -*) echo "run_all.sh: unknown option ${arg}" >&2; exit 2 ;;
    *) targets+=("${arg}") ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  for dir in "${src}"/fuzz/*/; do
    [[ -f "${dir}/$(basename "${dir}")_fuzzer.cc" ]] && targets+=("$(basename "${dir}")")
  done
fi

if [[ ! -f "${build}/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S "${src}" -B "${build}" -DPYNQ_FUZZ=ON -DPYNQ_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1" \
    $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      -DCMAKE_C_COMPILER_LAUNCHER=ccache) >/dev/null
fi
cmake --build "${build}" --target pynq_fuzzers -j2 >/dev/null

# Leaks are findings too; a hang of 10 s or 2 GB of memory on one input is a finding.
common=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for t in "${targets[@]}"; do
  bin="${build}/fuzz/${t}_fuzzer"
  log="${build}/fuzz-logs/${t}.log"
  findings="${build}/findings/${t}"
  mkdir -p "$(dirname "${log}")" "${findings}"
  : >"${log}"
  regressions=("${src}/fuzz/${t}/regressions/"*)
  status=0
  if [[ -e "${regressions[0]}" ]]; then
    # Each regression input once: it crashed or leaked before its fix.
    "${bin}" "${common[@]}" "${regressions[@]}" >>"${log}" 2>&1 || status=$?
  fi
  start=${SECONDS}
  if [[ ${status} -eq 0 ]]; then
    if [[ ${brief} -eq 1 ]]; then
      work="$(mktemp -d)"
      "${bin}" "${common[@]}" -max_total_time=3 -artifact_prefix="${findings}/" \
        "${work}" "${src}/fuzz/${t}/corpus" >>"${log}" 2>&1 || status=$?
      rm -rf "${work}"
    else
      mkdir -p "${build}/corpus/${t}"
      "${bin}" "${common[@]}" -runs="${runs}" -max_total_time="${max_time}" \
        -artifact_prefix="${findings}/" "${build}/corpus/${t}" "${src}/fuzz/${t}/corpus" \
        >>"${log}" 2>&1 || status=$?
    fi
  fi
  seconds=$((SECONDS - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "${log}" | tail -1 | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+' "${log}" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' <<<"${last}" | grep -o '[0-9]*' || true)
  ft=$(grep -o 'ft: [0-9]*' <<<"${last}" | grep -o '[0-9]*' || true)
  corp=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' <<<"${last}" | cut -d' ' -f2 || true)
  found=$(find "${findings}" -type f | wc -l)
  line=$(printf '%-20s execs %9s  %4ds  cov %5s  ft %6s  corpus %10s  findings %d' \
    "${t}" "${execs:-?}" "${seconds}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${found}")
  [[ ${status} -ne 0 ]] && line+="  FAILED (exit ${status}, see ${log})"
  echo "${line}"
  [[ ${status} -ne 0 || ${found} -ne 0 ]] && failed+=("${t}")
done
if [[ ${#failed[@]} -ne 0 ]]; then
  echo "run_all.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
