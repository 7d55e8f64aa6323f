#!/usr/bin/env bash
# Makes the TLS files the tests use (tests/fixtures/tls): a test certificate authority, a server
# certificate it signed for 127.0.0.1 and localhost, and a second authority that signed nothing
# (the "wrong CA"). Valid for 100 years, so they are made once and committed; rerun to replace
# them. Needs openssl. Never use these keys for anything real: they are public.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/tests/fixtures/tls"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
days=36500
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -keyout "$work/ca.key" -out "$out/ca.pem" -days $days \
    -subj "/CN=chat test CA" 2>/dev/null
openssl req -x509 $ec -keyout "$work/other-ca.key" -out "$out/other-ca.pem" -days $days \
    -subj "/CN=some other CA" 2>/dev/null
openssl req $ec -keyout "$out/server.key" -out "$work/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$work/ext"
openssl x509 -req -in "$work/server.csr" -CA "$out/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -CAserial "$work/ca.srl" -out "$out/server.pem" -days $days -extfile "$work/ext" 2>/dev/null
echo "wrote $out: ca.pem other-ca.pem server.pem server.key"
