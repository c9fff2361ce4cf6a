#!/usr/bin/env bash
# Checks deploy/'s configuration against the daemon that will read it:
#   1. `systemd-analyze verify` accepts the unit (ExecStart pointed at the built daemon, since
#      verify insists the binary exists), and its `systemd-analyze security` exposure stays at
#      or under the bound below (printed, so the CI log carries the figure);
#   2. systemd-sysusers creates the pynq-infer user and group from the shipped sysusers.d file;
#   3. the daemon starts with the shipped flagfile (an unknown or misspelt flag in it would stop
#      it) and serves, with only the paths a test machine needs overridden after it.
# Usage: deploy_config_test.sh PYNQ_INFERD   (PYNQ_SOURCE_DIR set by CTest)
set -euo pipefail
daemon=$(realpath "$1")
src=${PYNQ_SOURCE_DIR:?}
max_exposure=2.0
work=$(mktemp -d)
daemon_pid=""
cleanup() {
  [[ -n "${daemon_pid}" ]] && kill -KILL "${daemon_pid}" 2>/dev/null
  rm -rf "${work}"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# 1. The unit.
sed "s#^ExecStart=/usr/bin/pynq-inferd #ExecStart=${daemon} #" \
  "${src}/deploy/systemd/pynq-inferd.service" >"${work}/pynq-inferd.service"
grep -q "^ExecStart=${daemon} " "${work}/pynq-inferd.service" || fail "ExecStart not found in the unit"
if ! verify=$(systemd-analyze verify "${work}/pynq-inferd.service" 2>&1) || [[ -n "${verify}" ]]; then
  fail "systemd-analyze verify: ${verify}"
fi
exposure_line=$(systemd-analyze security --offline=true "${work}/pynq-inferd.service" 2>&1 |
                grep "Overall exposure level" || true)
echo "${exposure_line}"
exposure=$(sed -E 's/.*: ([0-9.]+) .*/\1/' <<<"${exposure_line}")
if [[ -z "${exposure}" ]] || ! awk -v e="${exposure}" -v m="${max_exposure}" 'BEGIN { exit !(e <= m) }'; then
  fail "systemd-analyze security exposure '${exposure}' is above ${max_exposure}"
fi

# 2. The service user.
mkdir -p "${work}/root/etc"
systemd-sysusers --root="${work}/root" "${src}/deploy/sysusers-pynq-infer.conf" >/dev/null 2>&1 ||
  fail "systemd-sysusers rejected deploy/sysusers-pynq-infer.conf"
grep -q "^pynq-infer:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$" "${work}/root/etc/passwd" ||
  fail "no pynq-infer system user"
grep -q "^pynq-infer:x:" "${work}/root/etc/group" || fail "no pynq-infer group"

# 3. The flagfile.
"${daemon}" --flagfile="${src}/deploy/pynq-inferd.flags" --listen=127.0.0.1:0 \
  --port_file="${work}/port" --pl_lock_file="${work}/pl.lock" --model_dir="${src}/models/zoo" \
  >"${work}/log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 600); do
  [[ -s "${work}/port" ]] && break
  kill -0 "${daemon_pid}" 2>/dev/null || break
  sleep 0.1
done
if [[ -s "${work}/port" ]]; then
  kill -TERM "${daemon_pid}"
  wait "${daemon_pid}" || fail "the daemon did not exit cleanly on SIGTERM"
else
  fail "the daemon did not serve with the shipped flagfile: $(cat "${work}/log")"
fi
daemon_pid=""

echo "deploy_config_test: ${failures} failure(s)"
exit $((failures > 0))
