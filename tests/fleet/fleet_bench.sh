#!/bin/bash
# Throughput of one pynq-inferd alone and of three behind each of the three ways in
# deploy/fleet/README.md (client-side round_robin, nginx, HAProxy), in one run on one machine,
# with `pynq-infer bench`. Not a CI stage: its figures go in deploy/fleet/README.md.
#
#   tests/fleet/fleet_bench.sh build [CONCURRENCY]
#
# Uses the shipped nginx and HAProxy configurations with the loopback addresses of this run.
set -euo pipefail
build="$(cd "${1:?usage: fleet_bench.sh BUILD_DIR [CONCURRENCY]}" && pwd)"
concurrency="${2:-32}"
src="$(cd "$(dirname "$0")/../.." && pwd)"
inferd="${build}/service/pynq-inferd"
cli="${build}/clients/pynq-infer"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "${p}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 200); do [[ -s "$1" ]] && return 0; sleep 0.05; done; echo "no $1" >&2; return 1; }

mkdir -p "${work}/models"
ln -s "${src}/models/zoo/mnist-bnn-tfc.pim" "${work}/models/"
grpc=(); http=()
for i in 0 1 2; do
  "${inferd}" --listen=127.0.0.1:0 --port_file="${work}/port${i}" --http_listen=127.0.0.1:0 \
    --http_port_file="${work}/http${i}" --model_dir="${work}/models" --board_name="board${i}" \
    --pl_lock_file="${work}/pl${i}.lock" --metrics_log_interval_s=0 --log_level=warn \
    >"${work}/board${i}.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  wait_file "${work}/port${i}"; wait_file "${work}/http${i}"
  grpc+=("$(cat "${work}/port${i}")"); http+=("$(cat "${work}/http${i}")")
done
boards="127.0.0.1:${grpc[0]},127.0.0.1:${grpc[1]},127.0.0.1:${grpc[2]}"

# nginx with the shipped site.
ng_grpc=$(free_port); ng_rest=$(free_port)
sed -e "s/listen 50051 http2/listen 127.0.0.1:${ng_grpc} http2/" -e "s/listen 8000/listen 127.0.0.1:${ng_rest}/" \
    -e "s/10.0.0.11:50051/127.0.0.1:${grpc[0]}/" -e "s/10.0.0.12:50051/127.0.0.1:${grpc[1]}/" \
    -e "s/10.0.0.13:50051/127.0.0.1:${grpc[2]}/" -e "s/10.0.0.11:8000/127.0.0.1:${http[0]}/" \
    -e "s/10.0.0.12:8000/127.0.0.1:${http[1]}/" -e "s/10.0.0.13:8000/127.0.0.1:${http[2]}/" \
    "${src}/deploy/fleet/nginx/pynq-fleet.conf" >"${work}/site.conf"
cat >"${work}/nginx.conf" <<CONF
$( [[ $(id -u) -eq 0 ]] && echo "user root;" )
worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi; uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
  include ${work}/site.conf;
}
CONF
nginx -p "${work}" -c "${work}/nginx.conf" -e "${work}/nginx-error.log" &
pids+=($!)

# HAProxy with the shipped configuration.
hp_grpc=$(free_port); hp_rest=$(free_port)
sed -e "s/bind :50051/bind 127.0.0.1:${hp_grpc}/" -e "s/bind :8000/bind 127.0.0.1:${hp_rest}/" \
    -e "s/10.0.0.11:50051/127.0.0.1:${grpc[0]}/" -e "s/10.0.0.12:50051/127.0.0.1:${grpc[1]}/" \
    -e "s/10.0.0.13:50051/127.0.0.1:${grpc[2]}/" \
    -e "s/10.0.0.11:8000/127.0.0.1:${http[0]}/" -e "s/10.0.0.12:8000/127.0.0.1:${http[1]}/" \
    -e "s/10.0.0.13:8000/127.0.0.1:${http[2]}/" \
    "${src}/deploy/fleet/haproxy/pynq-fleet.cfg" >"${work}/haproxy.cfg"
haproxy -db -f "${work}/haproxy.cfg" >"${work}/haproxy.log" 2>&1 &
pids+=($!)
sleep 2

bench() {
  local label="$1"; shift
  echo "== ${label}"
  "${cli}" bench --concurrency="${concurrency}" --warmup_ms=1000 --measure_ms=2000 --max_windows=3 "$@"
}
bench "one daemon alone" --server="127.0.0.1:${grpc[0]}"
bench "three daemons, client-side round_robin" --server="${boards}"
bench "three daemons behind nginx" --server="127.0.0.1:${ng_grpc}" --metrics_from="${boards}"
bench "three daemons behind HAProxy" --server="127.0.0.1:${hp_grpc}" --metrics_from="${boards}"
