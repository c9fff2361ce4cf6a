#!/bin/bash
# The shipped fleet configurations (deploy/fleet/) pass their own tools' checks: promtool for the
# Prometheus configuration and rules, haproxy -c, and nginx -t on the nginx snippet included in a
# minimal main configuration (as /etc/nginx/nginx.conf includes conf.d/).
set -euo pipefail
fleet="$(cd "$(dirname "$0")/../../deploy/fleet" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

promtool check config "${fleet}/prometheus/prometheus.yml"
promtool check rules "${fleet}/prometheus/pynq-fleet.rules.yml"
haproxy -c -f "${fleet}/haproxy/pynq-fleet.cfg"
cat >"${work}/nginx.conf" <<CONF
pid ${work}/nginx.pid;
error_log ${work}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${work}/body;
  proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi;
  uwsgi_temp_path ${work}/uwsgi;
  scgi_temp_path ${work}/scgi;
  include ${fleet}/nginx/pynq-fleet.conf;
}
CONF
nginx -t -p "${work}" -c "${work}/nginx.conf" -e "${work}/error.log"
echo "fleet configurations: OK"
