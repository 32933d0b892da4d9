#!/usr/bin/env bash
# Makes a small seed corpus for every fuzz target with the real OpenSSL CLI.
# Writes fuzz/corpus/<target>/ (gitignored). Encrypted seeds use the password
# the fuzz functions try: "password" (PKCS#8, traditional PEM, read_any) and
# "" (PKCS#12).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
corpus="$here/corpus"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

ossl() { openssl "$@" 2>/dev/null; }

# Self-signed RSA certificate, PEM and DER.
ossl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key.pem -out cert.pem \
    -subj "/CN=fuzz.example/O=Keyward/C=DE" -days 30 \
    -addext "subjectAltName=DNS:fuzz.example,IP:127.0.0.1"
ossl x509 -in cert.pem -outform DER -out cert.der
ossl pkey -in rsa.key.pem -outform DER -out rsa.key.der

# EC key (SEC1 PEM and PKCS#8 PEM/DER) and an EC self-signed certificate.
ossl ecparam -name prime256v1 -genkey -noout -out ec.sec1.pem
ossl pkey -in ec.sec1.pem -out ec.pkcs8.pem
ossl pkey -in ec.sec1.pem -outform DER -out ec.pkcs8.der
ossl req -x509 -key ec.sec1.pem -out ec.cert.pem -subj "/CN=ec.fuzz.example" -days 30

# PKCS#12, default (AES/PBKDF2) and -legacy (RC2/3DES), empty password.
ossl pkcs12 -export -in cert.pem -inkey rsa.key.pem -out default.p12 -passout pass:
ossl pkcs12 -export -legacy -in cert.pem -inkey rsa.key.pem -out legacy.p12 -passout pass:
ossl pkcs12 -export -in ec.cert.pem -inkey ec.sec1.pem -out ec.p12 -passout pass:

# Encrypted PKCS#8: PBES2 AES-256-CBC and PBES1 SHA1-3DES, DER and PEM.
ossl pkcs8 -topk8 -v2 aes-256-cbc -in rsa.key.pem -passout pass:password -outform DER -out enc.v2.der
ossl pkcs8 -topk8 -v2 aes-256-cbc -in rsa.key.pem -passout pass:password -out enc.v2.pem
ossl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in rsa.key.pem -passout pass:password -outform DER -out enc.v1.der
ossl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in rsa.key.pem -passout pass:password -out enc.v1.pem
ossl pkcs8 -topk8 -v2 aes-256-cbc -in ec.sec1.pem -passout pass:password -outform DER -out enc.ec.der

# Traditional (OpenSSL "Proc-Type: 4,ENCRYPTED") RSA key.
ossl genrsa -aes256 -traditional -passout pass:password -out trad.pem 2048

# Text seeds for thumbprints, names and subject alternative names.
ossl x509 -in cert.pem -noout -fingerprint -sha1 | cut -d= -f2 > tp.sha1.colon
tr -d ':' < tp.sha1.colon > tp.sha1.hex
ossl x509 -in cert.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' > tp.sha256.hex
ossl x509 -in cert.pem -noout -fingerprint -sha256 > tp.sha256.openssl
ossl x509 -in cert.der -inform DER -outform DER | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=' > tp.sha256.b64url
ossl x509 -in cert.pem -noout -subject -nameopt RFC2253 | sed 's/^subject=//' > dn.rfc2253
printf 'CN=fuzz.example, O=Keyward, C=DE' > dn.spaces
ossl x509 -in cert.pem -noout -subject -nameopt compat | sed 's/^subject=//' > dn.slash
printf 'CN=a\\,b+OU=x,O="Quoted, Inc",C=US' > dn.escaped
printf 'DNS:fuzz.example' > san.dns
printf 'IP:127.0.0.1' > san.ip4
printf 'IP:::1' > san.ip6
printf 'email:a@fuzz.example' > san.email
printf 'URI:https://fuzz.example/x' > san.uri

put() { # put TARGET FILE...
    mkdir -p "$corpus/$1"
    local t="$1"; shift
    for f in "$@"; do cp "$f" "$corpus/$t/$f"; done
}

all_bin="cert.pem cert.der rsa.key.pem rsa.key.der ec.sec1.pem ec.pkcs8.pem ec.pkcs8.der
         ec.cert.pem default.p12 legacy.p12 ec.p12 enc.v2.der enc.v2.pem enc.v1.der
         enc.v1.pem enc.ec.der trad.pem"
# shellcheck disable=SC2086
put read_any $all_bin
cat cert.pem rsa.key.pem ec.cert.pem > chain.pem
put pem cert.pem rsa.key.pem ec.sec1.pem ec.pkcs8.pem ec.cert.pem enc.v2.pem enc.v1.pem trad.pem chain.pem
put encrypted_pkcs8 enc.v2.der enc.v1.der enc.ec.der
put pkcs12 default.p12 legacy.p12 ec.p12
put text tp.sha1.colon tp.sha1.hex tp.sha256.hex tp.sha256.openssl tp.sha256.b64url dn.rfc2253 dn.slash dn.spaces dn.escaped \
    san.dns san.ip4 san.ip6 san.email san.uri

for t in read_any pem encrypted_pkcs8 pkcs12 text; do
    echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
