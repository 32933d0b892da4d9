#!/usr/bin/env bash
# Makes a small seed corpus for every fuzz target with the real OpenSSL CLI.
# Adds to fuzz/corpus/<target>/ (kept in the repository, minimised; see README.md).
# Encrypted seeds use the password the fuzz functions try: "password" (PKCS#8,
# traditional PEM, read_any) and "" (PKCS#12).
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

# ---- keyward-authority, keyward-vault, keyward-client ----------------------------------
# Parts of one input are separated by NUL bytes (see each crate's src/fuzzing.rs). The
# authority's fuzz fixture has tenant 11111111-1111-4111-8111-111111111111, a confidential web
# app 22222222-2222-4222-8222-222222222222 (redirect http://localhost:3000/redirect), a public
# SPA 33333333-3333-4333-8333-333333333333 (redirect http://localhost) and the API api://tasks.

seed() { # seed TARGET NAME, contents on stdin
    mkdir -p "$corpus/$1"
    cat > "$corpus/$1/$2"
}

# The Key Vault fixtures (real Azure output), found from here upwards.
kv=""
for dir in "$here" "$here/.." "$here/../.." "$here/../../.."; do
    if [ -d "$dir/shared/fixtures/azure-key-vault" ]; then kv="$dir/shared/fixtures/azure-key-vault"; break; fi
done
[ -n "$kv" ] || { echo "shared/fixtures/azure-key-vault not found above $here" >&2; exit 1; }
kv_pfx_b64="$(openssl base64 -A -in "$kv/generated-by-key-vault.pfx")"
kv_cer_b64="$(openssl base64 -A -in "$kv/generated-by-key-vault.cer")"

web=22222222-2222-4222-8222-222222222222
spa=33333333-3333-4333-8333-333333333333
challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
telemetry='x-client-SKU=msal.js.node&x-client-VER=2.16.2&x-client-OS=linux&x-client-CPU=x64&x-ms-lib-capability=retry-after, h429&x-client-current-telemetry=5|865,0,,,|,&client_info=1'

# MSAL Node's getAuthCodeUrl, as sent (spaces as %20, ids as GUIDs).
printf 'client_id=%s&scope=openid%%20profile%%20offline_access&redirect_uri=http%%3A%%2F%%2Flocalhost%%3A3000%%2Fredirect&client-request-id=0b5a1b6e-6a0c-4b8e-9d6c-3b1f2a9e4c11&response_mode=query&response_type=code&%s&code_challenge=%s&code_challenge_method=S256&state=eyJpZCI6IjQyIn0%%3D&nonce=8f0a3c2d-1b4e-4f6a-9c7d-2e5b1a0c9d8f' \
    "$web" "$telemetry" "$challenge" | seed authorize_request msal-node
printf 'client_id=%s&scope=api%%3A%%2F%%2Ftasks%%2FTasks.Read%%20openid%%20profile%%20offline_access&redirect_uri=http%%3A%%2F%%2Flocalhost&response_mode=form_post&response_type=code&code_challenge=%s&code_challenge_method=S256&prompt=login&login_hint=alice%%40contoso.com&state=s' \
    "$spa" "$challenge" | seed authorize_request spa-form-post
printf 'client_id=%s&redirect_uri=http://localhost:3000/redirect&response_type=code&scope=openid+User.Read&prompt=create&response_mode=fragment' "$web" \
    | seed authorize_request sign-up-fragment
printf 'client_id=%s&redirect_uri=http://localhost&response_type=token&scope=openid&prompt=none' "$spa" | seed authorize_request implicit-refused
printf 'client_id=%s&redirect_uri=https://evil.example/&response_type=code&scope=openid' "$web" | seed authorize_request unregistered
printf 'client_id=%s&client_id=%s' "$web" "$spa" | seed authorize_request twice

printf 'http://localhost:3000/redirect\0eyJpZCI6IjQyIn0=' | seed redirect_uri registered
printf 'https://app.example/auth/callback?x=1\0a&b=c#d' | seed redirect_uri with-query
printf 'msal00000000-0000-0000-0000-000000000000://auth' | seed redirect_uri custom-scheme
printf 'http://localhost:3000/redirect/' | seed redirect_uri trailing-slash
printf 'HTTP://LOCALHOST:3000/redirect' | seed redirect_uri case

printf 'openid profile offline_access' | seed scope oidc
printf 'api://tasks/Tasks.Read api://tasks/Tasks.Write openid' | seed scope api
printf 'User.Read Mail.Read openid email' | seed scope graph-bare
printf 'https://graph.microsoft.com/.default openid' | seed scope graph-default
printf 'api://tasks/.default offline_access' | seed scope api-default
printf '%s/user_impersonation openid' "44444444-4444-4444-8444-444444444444" | seed scope app-id
printf 'api://tasks/Tasks.Read https://graph.microsoft.com/User.Read openid' | seed scope two-resources

printf '%s\0S256\0%s' "$challenge" "$verifier" | seed pkce rfc7636
printf '%s\0plain\0%s' "$verifier" "$verifier" | seed pkce plain
printf '%s\0\0%s' "$challenge" "$verifier" | seed pkce no-method
printf '\0S256\0' | seed pkce no-challenge

{ printf '\001'; printf '{"tenant_id":"11111111-1111-4111-8111-111111111111","client_id":"%s","target":{"uri":"http://localhost:3000/redirect","mode":"query","state":"st&ate=1"},"nonce":"n","scopes":{"oidc":["openid","profile","offline_access"],"resource":"00000003-0000-0000-c000-000000000000","scp":["User.Read"],"resource_scopes":["https://graph.microsoft.com/User.Read"]},"code_challenge":"%s","login_hint":"alice@contoso.com","prompt":"login","issued":1800000000}' "$web" "$challenge"; } \
    | seed pending_request sealed-json
# Regression: an age that overflowed (fixed 2026-12-03).
{ printf '\001'; printf '{"tenant_id":"11111111-1111-4111-8111-111111111111","client_id":"%s","target":{"uri":"http://localhost:3000/redirect","mode":"query","state":null},"nonce":null,"scopes":{"oidc":["openid"],"resource":"00000003-0000-0000-c000-000000000000","scp":["User.Read"],"resource_scopes":["https://graph.microsoft.com/User.Read"]},"code_challenge":null,"login_hint":null,"prompt":"default","issued":-9223372036854775808}' "$web"; } \
    | seed pending_request regression-issued-min
{ printf '\000'; head -c 180 /dev/urandom | openssl base64 -A | tr '+/' '-_' | tr -d '='; } | seed pending_request forged

csrf_secret="$(head -c 32 /dev/urandom | openssl base64 -A | tr '+/' '-_' | tr -d '=')"
printf 'other=1; __Host-keyward-csrf=%s\0%s' "$csrf_secret" "$(head -c 76 /dev/urandom | openssl base64 -A | tr '+/' '-_' | tr -d '=')" \
    | seed csrf cookie-and-token
printf '__Host-keyward-csrf="%s"; __Host-keyward-session-11111111111141118111111111111111=abc' "$csrf_secret" | seed csrf quoted-cookie
printf '__Host-keyward-csrf=short\0' | seed csrf short-secret

printf 'client_id=%s&scope=api%%3A%%2F%%2Ftasks%%2F.default&grant_type=client_credentials&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer&client_assertion=eyJhbGciOiJQUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln&x-client-SKU=msal.js.node&client_info=1\0\0client-request-id=0b5a1b6e-6a0c-4b8e-9d6c-3b1f2a9e4c11' "$web" \
    | seed token_form client-credentials-assertion
printf 'client_id=%s&redirect_uri=http%%3A%%2F%%2Flocalhost&scope=openid%%20offline_access&code=AQABAAIAAAB&code_verifier=%s&grant_type=authorization_code&client_info=1' "$spa" "$verifier" \
    | seed token_form code-redemption
printf 'grant_type=refresh_token&refresh_token=0.AQ&scope=openid\0Basic %s' "$(printf '%s:s3cr%%3At%%2B' "$web" | openssl base64 -A)" \
    | seed token_form refresh-basic
printf 'grant_type=client_credentials&client_id=a&client_id=b' | seed token_form duplicate

# Imports: the PFX Key Vault made (empty password), PEM text as JavaScript sends it, base64 of
# a PEM file as Python sends it, a PFX with a password, an encrypted key with its password.
printf '%s' "$kv_pfx_b64" | seed vault_import key-vault-pfx
{ printf '%s' "$kv_pfx_b64"; printf '\0'; } | seed vault_import key-vault-pfx-empty-pwd
cat ec.pkcs8.pem ec.cert.pem | seed vault_import pem-text
openssl base64 -in chain.pem | seed vault_import base64-pem-wrapped
ossl pkcs12 -export -in cert.pem -inkey rsa.key.pem -out pwd.p12 -passout pass:s3cret
{ openssl base64 -A -in pwd.p12; printf '\0s3cret'; } | seed vault_import pfx-with-pwd
{ cat cert.pem enc.v2.pem; printf '\0password'; } | seed vault_import encrypted-pem-with-pwd

# Policies: the sparse ones clients send, and full ones.
printf '%s' '{"key_props":{},"secret_props":{},"x509_props":{"subject":"CN=x","sans":{}},"issuer":{"name":"Self"}}' | seed vault_policy sparse
printf '%s' '{"x509_props":{"subject":"CN=x"}}' | seed vault_policy subject-only
printf '%s' '{"key_props":{"kty":"EC","crv":"P-384","exportable":false,"reuse_key":true},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=svc, O=Contoso","sans":{"dns_names":["svc.example"],"ipAddresses":["10.0.0.1"],"emails":["a@b.c"],"uris":["https://x"],"upns":["u@x"]},"ekus":["1.3.6.1.5.5.7.3.2"],"key_usage":["digitalSignature"],"validity_months":3},"lifetime_actions":[{"trigger":{"days_before_expiry":10},"action":{"action_type":"EmailContacts"}},{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}],"issuer":{"name":"Self","cty":"OV-SSL","cert_transparency":false},"attributes":{"enabled":true}}' \
    | seed vault_policy full
printf '%s' '{"key_props":{"kty":"RSA","key_size":4096},"issuer":{"name":"Unknown"},"x509_props":{"subject":"CN=csr"},"lifetime_actions":[{"trigger":{"days_before_expiry":30},"action":{"action_type":"EmailContacts"}}]}' \
    | seed vault_policy unknown-issuer
# Regression: a trigger before the calendar panicked the renewal pass (fixed 2026-12-03).
printf '%s' '{"lifetime_actions":[{"trigger":{"days_before_expiry":4294967295},"action":{"action_type":"EmailContacts"}}]}' | seed vault_policy regression-days-max
printf '%s' '{"lifetime_actions":[{"trigger":{"lifetime_percentage":90},"action":{"action_type":"AutoRenew"}}],"attributes":{"enabled":false}}' | seed vault_policy actions-only

for n in my-cert My-Cert-01 a_b 0123456789abcdef0123456789ABCDEF default myvault.localhost:8443 \
         localhost:8443 '[::1]:8443' 127.0.0.1 a.b.localhost vault.example.com. MYVAULT.LOCALHOST.; do
    printf '%s' "$n" | seed vault_names "n-$(printf '%s' "$n" | tr -c 'A-Za-z0-9-' '_')"
done

printf 'api-version=7.5&maxresults=10' | seed vault_paging first
printf 'api%%2Dversion=2025-07-01&maxresults=25&%%24skiptoken=%s' "$(printf 'o:25' | openssl base64 -A | tr '+/' '-_' | tr -d '=')" | seed vault_paging offset
printf 'api-version=2026-04-01&$skiptoken=%s' "$(printf 'n:name-010' | openssl base64 -A | tr '+/' '-_' | tr -d '=')" | seed vault_paging name
printf 'maxresults=lots&$skiptoken=bogus!' | seed vault_paging bad

printf '%s' '{"value":"s3cret","contentType":"text/plain","attributes":{"enabled":true,"nbf":1700000000,"exp":1900000000},"tags":{"env":"dev"}}' | seed vault_body set-secret
printf '%s' '{"contentType":"application/json","attributes":{"enabled":false},"tags":{}}' | seed vault_body update-secret
printf '%s' '{"policy":{"key_props":{},"secret_props":{},"x509_props":{"subject":"CN=x","sans":{}},"issuer":{"name":"Self"}},"attributes":{"enabled":true},"tags":{"a":"b"}}' | seed vault_body create
printf '{"value":"%s","pwd":"","policy":{"secret_props":{"contentType":"application/x-pkcs12"}}}' "$kv_pfx_b64" | seed vault_body import
printf '{"x5c":["%s"],"attributes":{"enabled":true}}' "$kv_cer_b64" | seed vault_body merge
printf '%s' '{"cancellation_requested":true}' | seed vault_body cancel
printf '   ' | seed vault_body empty

printf '%s' 'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"' | seed vault_challenge azure
printf '%s' 'Bearer authorization="https://localhost:8443/11111111-1111-4111-8111-111111111111", resource="https://vault.keyward.localhost"' | seed vault_challenge keyward
printf '%s' 'Bearer authorization_uri="https://login.windows.net/t", scope="https://vault.azure.net/.default"' | seed vault_challenge scope
printf '%s' 'Basic realm="x"' | seed vault_challenge basic

printf '%s' '{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"refresh_in":1800,"access_token":"eyJ0eXAiOiJKV1QifQ.e30.c2ln"}' | seed token_response client-credentials
printf '%s' '{"token_type":"Bearer","scope":"openid profile User.Read","expires_in":"3599","access_token":"eyJ0","refresh_token":"0.AQ","id_token":"eyJ0.e30.c2ln","client_info":"eyJ1aWQiOiIxIn0"}' | seed token_response user-tokens
# Regression: an expires_in past the calendar panicked the client (fixed 2026-12-03).
printf '%s' '{"token_type":"Bearer","expires_in":9223372036854775807,"access_token":"t"}' | seed token_response regression-expires-in-max
printf '%s' '{"error":"invalid_client","error_description":"AADSTS700027: Client assertion failed signature validation.","error_codes":[700027],"timestamp":"2026-01-01 00:00:00Z","trace_id":"0b5a1b6e-6a0c-4b8e-9d6c-3b1f2a9e4c11","correlation_id":"0b5a1b6e-6a0c-4b8e-9d6c-3b1f2a9e4c12"}' | seed token_response error

printf '{"id":"https://myvault.vault.azure.net/certificates/MyCert/0123456789abcdef0123456789abcdef","kid":"https://myvault.vault.azure.net/keys/MyCert/0123456789abcdef0123456789abcdef","sid":"https://myvault.vault.azure.net/secrets/MyCert/0123456789abcdef0123456789abcdef","x5t":"tHOUOqgt-GCK61US0qlkPr8j1-w","cer":"%s","attributes":{"enabled":true}}' "$kv_cer_b64" | seed vault_response certificate
printf '{"value":"%s","contentType":"application/x-pkcs12","id":"https://myvault.vault.azure.net/secrets/MyCert/0123456789abcdef0123456789abcdef","managed":true,"kid":"https://myvault.vault.azure.net/keys/MyCert/0123456789abcdef0123456789abcdef"}' "$kv_pfx_b64" | seed vault_response secret
printf '%s' '{"error":{"code":"Conflict","message":"Certificate is currently in a deleted but recoverable state","innererror":{"code":"ObjectIsDeletedButRecoverable"}}}' | seed vault_response error

# ---- keyward-jose -------------------------------------------------------------------
# A compact JWS signed with the RSA key above, a JWK Set of the EC and RSA public keys, and the
# two public keys as DER SubjectPublicKeyInfo.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jws_input="$(printf '%s' '{"alg":"RS256","typ":"JWT","kid":"k1"}' | b64url).$(printf '%s' '{"iss":"https://login.microsoftonline.com/t/v2.0","aud":"api://tasks","sub":"s","iat":1700000000,"nbf":1700000000,"exp":1900000000,"scp":"Tasks.Read"}' | b64url)"
jws_sig="$(printf '%s' "$jws_input" | openssl dgst -sha256 -sign "$tmp/rsa.key.pem" -binary | b64url)"
printf '%s.%s' "$jws_input" "$jws_sig" | seed jws rs256
printf '%s.%s.' "$(printf '%s' '{"alg":"none"}' | b64url)" "$(printf '%s' '{"sub":"x"}' | b64url)" | seed jws alg-none
printf '%s' 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA' | seed jws es256-short-sig
ossl pkey -in "$tmp/rsa.key.pem" -pubout -outform DER -out "$tmp/rsa.spki.der"
ossl pkey -in "$tmp/ec.sec1.pem" -pubout -outform DER -out "$tmp/ec.spki.der"
mkdir -p "$corpus/spki" && cp "$tmp/rsa.spki.der" "$tmp/ec.spki.der" "$corpus/spki/"
n="$(openssl rsa -in "$tmp/rsa.key.pem" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | b64url)"
x="$(tail -c 64 "$tmp/ec.spki.der" | head -c 32 | b64url)"; y="$(tail -c 32 "$tmp/ec.spki.der" | b64url)"
printf '{"keys":[{"kty":"RSA","use":"sig","kid":"k1","alg":"RS256","n":"%s","e":"AQAB"},{"kty":"EC","crv":"P-256","kid":"k2","x":"%s","y":"%s"}]}' "$n" "$x" "$y" | seed jwks rsa-ec
printf '%s' '{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}' | seed jwks unsupported

for t in read_any pem encrypted_pkcs8 pkcs12 text jws jwks spki authorize_request redirect_uri scope pkce pending_request csrf \
         token_form vault_import vault_policy vault_names vault_paging vault_body vault_challenge token_response \
         vault_response; do
    echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
