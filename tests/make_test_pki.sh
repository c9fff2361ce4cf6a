#!/usr/bin/env bash
# Makes a throw-away PKI for the TLS and access-control tests, with Debian's openssl, in OUT_DIR:
#   ca.crt                      the test CA (P-256 keys, valid 2 days)
#   server.crt, server.key      localhost: SAN DNS:localhost, IP:127.0.0.1 (serverAuth)
#   admin.crt, admin.key        client "ops-admin", SAN email:ops@pynq.test (clientAuth)
#   reader.crt, reader.key      client "reader" (clientAuth)
#   rogue-ca.crt, rogue.crt, rogue.key   a second CA and a client "ops-admin" it signed, which the
#                               daemon must not accept
#   admin.token, inference.token    bearer tokens (openssl rand -hex 32)
# Private keys and tokens are mode 0600, as the daemon requires of its secrets.
# Usage: make_test_pki.sh OUT_DIR
set -euo pipefail
out=${1:?usage: make_test_pki.sh OUT_DIR}
mkdir -p "${out}"
cd "${out}"
umask 077

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# new_ca NAME CN
new_ca() {
  new_key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# new_cert NAME CA CN EXTENSIONS
new_cert() {
  new_key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr"
  printf '%s\n' "$4" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

new_ca ca "pynq-infer test CA"
new_cert server ca localhost \
  "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
new_cert admin ca ops-admin \
  "subjectAltName=email:ops@pynq.test
extendedKeyUsage=clientAuth"
new_cert reader ca reader "extendedKeyUsage=clientAuth"
new_ca rogue-ca "rogue CA"
new_cert rogue rogue-ca ops-admin "extendedKeyUsage=clientAuth"
openssl rand -hex 32 >admin.token
openssl rand -hex 32 >inference.token
# Certificates are public.
chmod 644 ./*.crt
