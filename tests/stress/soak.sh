#!/usr/bin/env bash
# Soak: runs pynq-inferd on the virtual board for a long time (default 30 minutes) under mixed
# load, and reports whether it stays well. Not a CI stage. What it does:
#   - the daemon serves three models (mnist-bnn-tfc, fashion-bnn-tfc, mnist-int8-mlp) on
#     --device=sim with the timing model, --shadow_check_rate=0.01 and recurring injected engine
#     faults (--sim_fault: a hang, a corrupted output, a bus error and a flipped weight bit, each
#     once every FAULT_EVERY engine batches);
#   - load: unary Classify calls on mnist-bnn-tfc (pynq-infer bench, closed loop) and
#     ClassifyStream on fashion-bnn-tfc (two streams), both for the whole run, in rounds;
#   - model swaps every SWAP_S seconds: mnist-bnn-tfc is replaced by a fresh load of its file
#     (requests in flight finish on the old version), and fashion-bnn-tfc is unloaded and loaded
#     again (its stream requests meanwhile fail NOT_FOUND, a documented code);
#   - every SAMPLE_S seconds: images/s (GetMetrics, last 10 s, all models), the daemon's RSS.
# At the end it prints the series, RSS at start, after warm-up (a fifth of the run) and at the
# end with a flatness check (end within max(RSS_SLACK_PCT % of the warm RSS, RSS_SLACK_MB)), the
# engine fault, fallback and shadow counts per model, and the clients' request counts: every
# request must be answered OK or failed with a documented code (NOT_FOUND while a model is
# unloaded, UNAVAILABLE when a queue is full or a version is retiring, DEADLINE_EXCEEDED).
#
#   tests/stress/soak.sh [DURATION_S=1800] [BUILD_DIR=build]
#   env: SWAP_S=5 SAMPLE_S=10 FAULT_EVERY=20000 CONCURRENCY=8 SHADOW_RATE=0.01
#
# Exit status 0 if RSS is flat, every request was accounted for and the daemon exited cleanly.
set -uo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-1800}
build=${2:-build}
swap_s=${SWAP_S:-5}
sample_s=${SAMPLE_S:-10}
fault_every=${FAULT_EVERY:-20000}
concurrency=${CONCURRENCY:-8}
shadow_rate=${SHADOW_RATE:-0.01}
rss_slack_pct=${RSS_SLACK_PCT:-10}
rss_slack_mb=${RSS_SLACK_MB:-8}
daemon="${build}/service/pynq-inferd"
client="${build}/clients/pynq-infer"
pypath="${build}/clients/python/package"
[[ -x "${daemon}" && -x "${client}" && -f "${pypath}/pynq_infer/v1/inference_pb2.py" ]] ||
  { echo "build ${build} first (cmake --build ${build} --target pynq-inferd pynq-infer pynq_infer_python)"; exit 2; }

work=$(mktemp -d /tmp/pynq-soak.XXXXXX)
models="${work}/models"
mkdir -p "${models}"
for m in mnist-bnn-tfc fashion-bnn-tfc mnist-int8-mlp; do cp "models/zoo/${m}.pim" "${models}/"; done
# Four recurring faults, spread over each period of FAULT_EVERY engine batches (RUN calls).
q=$((fault_every / 4))
faults="hang:${q}:1:${fault_every},corrupt:$((2 * q)):1:${fault_every}"
faults+=",bus_error:$((3 * q)):1:${fault_every},flip_weight:${fault_every}:1:${fault_every}"

"${daemon}" --listen=127.0.0.1:0 --port_file="${work}/port" --pl_lock_file="${work}/pl.lock" \
  --model_dir="${models}" --allow_model_management --accelerator=fpga --device=sim \
  --sim_timing=true --sim_fault="${faults}" --engine_timeout_ms=200 \
  --shadow_check_rate="${shadow_rate}" --metrics_log_interval_s=0 >"${work}/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do [[ -s "${work}/port" ]] && break; sleep 0.1; done
[[ -s "${work}/port" ]] || { echo "the daemon did not start:"; tail "${work}/daemon.log"; exit 1; }
server="127.0.0.1:$(cat "${work}/port")"
echo "soak: ${duration} s, daemon pid ${pid} on ${server}, faults ${faults}, shadow rate ${shadow_rate}, work dir ${work}"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/${pid}/status" 2>/dev/null || echo 0; }
end=$((SECONDS + duration))

# Load: rounds of pynq-infer bench until the end; each round appends its CSV row.
load_loop() {  # name, then bench flags
  local name=$1; shift
  local round=0
  while ((SECONDS < end - 12)); do
    round=$((round + 1))
    "${client}" bench --server="${server}" --timeout_ms=5000 --warmup_ms=200 --measure_ms=3000 \
      --max_windows=3 --stability_pct=100 --csv="${work}/${name}.${round}.csv" "$@" \
      >>"${work}/${name}.out" 2>&1
  done
}
load_loop unary --model=mnist-bnn-tfc --mode=unary --concurrency="${concurrency}" &
unary_pid=$!
load_loop stream --model=fashion-bnn-tfc --mode=stream --streams=2 \
  --concurrency="${concurrency}" --images_per_request=4 &
stream_pid=$!

# Swaps.
swap_loop() {
  local n=0
  while ((SECONDS < end - 12)); do
    sleep "${swap_s}"
    n=$((n + 1))
    "${client}" load --server="${server}" mnist-bnn-tfc.pim >>"${work}/swaps.out" 2>&1 ||
      echo "swap ${n}: load mnist-bnn-tfc.pim failed" >>"${work}/swaps.err"
    "${client}" unload --server="${server}" fashion-bnn-tfc >>"${work}/swaps.out" 2>&1 ||
      echo "swap ${n}: unload fashion-bnn-tfc failed" >>"${work}/swaps.err"
    sleep 0.5
    "${client}" load --server="${server}" fashion-bnn-tfc.pim >>"${work}/swaps.out" 2>&1 ||
      echo "swap ${n}: load fashion-bnn-tfc.pim failed" >>"${work}/swaps.err"
  done
  echo "${n}" >"${work}/swaps.count"
}
swap_loop &
swap_pid=$!

# Samples: elapsed s, RSS MB, images/s over the last 10 s summed over the models.
metrics_py='
import sys
from pynq_infer.client import Client
with Client(sys.argv[1]) as c:
    m = c.metrics()["models"]
    print("%.1f" % sum(v.get("images_per_s_10s", 0) for v in m.values()))
'
start_s=${SECONDS}
: >"${work}/samples"
while ((SECONDS < end)); do
  ips=$(PYTHONPATH="${pypath}" /usr/bin/python3 -c "${metrics_py}" "${server}" 2>/dev/null || echo "?")
  echo "$((SECONDS - start_s)) $(($(rss_kb) / 1024)) ${ips}" >>"${work}/samples"
  sleep "${sample_s}"
done
wait "${unary_pid}" "${stream_pid}" "${swap_pid}"

final_py='
import sys
from pynq_infer.client import Client
keys = ["backend", "engine_state", "engine_faults", "engine_resets", "faulted_batches",
        "fallback_batches", "fallback_images", "shadow_checked", "shadow_mismatches",
        "shadow_skipped", "requests_ok", "requests_failed"]
with Client(sys.argv[1]) as c:
    for name, v in sorted(c.metrics()["models"].items()):
        print("  " + name + ": " + ", ".join("%s %s" % (k, v.get(k, 0)) for k in keys))
'
echo "metrics at the end (since start; a model unloaded and loaded again keeps its counters):"
PYTHONPATH="${pypath}" /usr/bin/python3 -c "${final_py}" "${server}"
kill -TERM "${pid}"
wait "${pid}"
exit_code=$?

echo "samples (elapsed_s rss_mb images_per_s_10s):"
cat "${work}/samples"
rss_start=$(awk 'NR == 1 {print $2}' "${work}/samples")
rss_warm=$(awk -v t=$((duration / 5)) '$1 >= t {print $2; exit}' "${work}/samples")
rss_end=$(awk 'END {print $2}' "${work}/samples")
rss_max=$(awk 'NR == 1 || $2 > m {m = $2} END {print m}' "${work}/samples")
slack=$(( rss_warm * rss_slack_pct / 100 > rss_slack_mb ? rss_warm * rss_slack_pct / 100 : rss_slack_mb ))
flat=no
((rss_end <= rss_warm + slack)) && flat=yes
echo "rss MB: start ${rss_start}, after warm-up (${duration}/5 s) ${rss_warm}, end ${rss_end}, max ${rss_max}; flat (end <= warm + ${slack} MB): ${flat}"

# Client accounting: requests OK and failed (with codes) over all rounds.
ok=$(cat "${work}"/unary.*.csv "${work}"/stream.*.csv 2>/dev/null | awk -F, '$1 != "mode" {s += $17} END {print s + 0}')
failed=$(cat "${work}"/unary.*.csv "${work}"/stream.*.csv 2>/dev/null | awk -F, '$1 != "mode" {s += $18} END {print s + 0}')
dropped=$(cat "${work}"/unary.*.csv "${work}"/stream.*.csv 2>/dev/null | awk -F, '$1 != "mode" {s += $19} END {print s + 0}')
rounds=$(ls "${work}"/unary.*.csv "${work}"/stream.*.csv 2>/dev/null | wc -l)
# bench prints the failed requests of a level by code after its "stable" column, e.g.
# "yes (NOT_FOUND=4158)"; a round that could not start (its model unloaded) says so and sends
# nothing.
codes=$(grep -ho '[A-Z_]\+=[0-9]\+' "${work}/unary.out" "${work}/stream.out" |
        awk -F= '{n[$1] += $2} END {for (c in n) printf "%s %d; ", c, n[c]}')
undocumented=$(grep -ho '[A-Z_]\+=[0-9]\+' "${work}/unary.out" "${work}/stream.out" |
               grep -cvE '^(NOT_FOUND|UNAVAILABLE|DEADLINE_EXCEEDED)=')
aborted=$(grep -c '^pynq-infer bench: NOT_FOUND' "${work}/unary.out" "${work}/stream.out" |
          awk -F: '{s += $2} END {print s + 0}')
bench_errors=$(grep -h '^pynq-infer bench:' "${work}/unary.out" "${work}/stream.out" |
               grep -v 'NOT_FOUND' | head -5)
echo "clients: ${rounds} bench rounds; requests ok ${ok}, failed ${failed}, not answered (client dropped) ${dropped}"
echo "failed requests by code: ${codes:-none}(documented: NOT_FOUND, UNAVAILABLE, DEADLINE_EXCEEDED; others: ${undocumented})"
echo "bench rounds that found their model unloaded and sent nothing: ${aborted}"
[[ -n "${bench_errors}" ]] && echo "bench rounds that failed otherwise: ${bench_errors}"
swap_errors=0
[[ -f "${work}/swaps.err" ]] && swap_errors=$(wc -l <"${work}/swaps.err")
echo "swaps: $(cat "${work}/swaps.count" 2>/dev/null || echo 0) rounds (3 model changes each); failed swap commands: ${swap_errors}"
echo "daemon exit code ${exit_code}; log ${work}/daemon.log ($(grep -c 'shadow check' "${work}/daemon.log") shadow-check lines, $(grep -c 'fpga batch of' "${work}/daemon.log") fallback lines)"
[[ "${flat}" == yes && "${dropped}" -eq 0 && "${undocumented}" -eq 0 && -z "${bench_errors}" &&
   "${swap_errors}" -eq 0 && "${exit_code}" -eq 0 ]]
