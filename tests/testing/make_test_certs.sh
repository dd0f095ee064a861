#!/usr/bin/env bash
# Creates a throw-away PKI for TLS tests in directory $1:
#   ca.pem/ca.key            trusted test CA
#   server.pem/server.key    for localhost / 127.0.0.1, signed by ca
#   client.pem/client.key    SAN DNS:svc-booking.mtls.invalid, signed by ca
#   rogue-ca.pem, rogue.pem/rogue.key   a client certificate from an untrusted CA
#   server-rotated.pem/.key  CN localhost-rotated, same names, signed by ca
# Synthetic names only; keys are EC P-256 and valid for one day.
set -euo pipefail
cd "$1"
sub() { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
          -subj "/CN=$2" -out "$1.csr" 2>/dev/null; }
sign() {  # name ca extfile-line
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 1 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
for ca in ca rogue-ca; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ca.key" \
    -subj "/CN=dsar test $ca" -days 1 -out "$ca.pem" 2>/dev/null
done
sub server localhost
sign server ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
sub client svc-booking-mtls
sign client ca "subjectAltName=DNS:svc-booking.mtls.invalid"
sub rogue svc-booking-mtls
sign rogue rogue-ca "subjectAltName=DNS:svc-booking.mtls.invalid"
# The same names under a new key, as after a rotation (tests of SIGHUP).
sub server-rotated localhost-rotated
sign server-rotated ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
