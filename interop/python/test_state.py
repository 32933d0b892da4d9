"""MSAL Python against a server started with a declarative state file (`keyward serve --config`).

The test knows only what the file says and the files it names: two tenants with fixed ids, five
apps with fixed ids, a certificate the file asks Keyward to generate, one made by the real
`openssl`, a generated client secret, a user and a vault. MSAL gets tokens with nothing else (the
server's CA in REQUESTS_CA_BUNDLE, as the rest of the suite trusts its server).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from conftest import jwt_parts, keyward_bin

CONTOSO = "5a5a5a5a-0000-4000-8000-000000000001"
FABRIKAM = "5a5a5a5a-0000-4000-8000-000000000002"
API = "5a5a5a5a-0000-4000-8000-0000000000a1"
DAEMON = "5a5a5a5a-0000-4000-8000-0000000000a2"
LEGACY = "5a5a5a5a-0000-4000-8000-0000000000a3"
WEB = "5a5a5a5a-0000-4000-8000-0000000000b1"
WORKER = "5a5a5a5a-0000-4000-8000-0000000000b2"

CONFIG = f"""
[[tenant]]
name = "contoso"
id = "{CONTOSO}"

[[tenant]]
name = "fabrikam"
id = "{FABRIKAM}"

[[app]]
name = "api"
tenant = "contoso"
app_id = "{API}"
identifier_uris = ["api://state-api"]
[[app.role]]
value = "Tasks.Read"

[[app]]
name = "daemon"
tenant = "contoso"
app_id = "{DAEMON}"
[[app.grant]]
app = "api"
roles = ["Tasks.Read"]
[[app.certificate]]
name = "generated"
generate = {{ subject = "CN=daemon", cert = "out/daemon.pem", key = "out/daemon.key" }}
[[app.secret]]
name = "ci"
generate = "out/daemon.secret"
expires = "30d"

[[app]]
name = "legacy"
tenant = "contoso"
app_id = "{LEGACY}"
[[app.certificate]]
name = "openssl"
file = "legacy.pem"

[[app]]
name = "web"
tenant = "fabrikam"
app_id = "{WEB}"
identifier_uris = ["api://fabrikam-web"]
[[app.role]]
value = "Web.Call"

[[app]]
name = "worker"
tenant = "fabrikam"
app_id = "{WORKER}"
[[app.grant]]
app = "web"
roles = ["Web.Call"]
[[app.certificate]]
name = "generated"
generate = {{ subject = "CN=worker", cert = "out/worker.pem", key = "out/worker.key" }}

[[user]]
email = "alice@contoso.com"
tenant = "contoso"
generate_password = "out/alice.password"
roles = ["global-admin"]

[[vault]]
name = "default"
tenant = "contoso"
[[vault.secret]]
name = "db-password"
generate = "out/db-password"
[[vault.access]]
app = "daemon"
secrets = ["get"]
"""


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("state")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=legacy",
         "-keyout", str(work / "legacy.key"), "-out", str(work / "legacy.pem")],
        check=True, capture_output=True,
    )
    (work / "keyward.toml").write_text(CONFIG)
    ready = work / "keyward.url"
    log = (work / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(keyward_bin()), "serve", "--config", str(work / "keyward.toml"), "--listen", "127.0.0.1:0",
         "--data", str(work / "data"), "--ready-file", str(ready)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, (work / "serve.log").read_text()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    # Trusted as real users trust a server: the CA in the environment, for this module's clients.
    saved = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    for k in saved:
        os.environ[k] = str(work / "data" / "tls" / "ca.pem")
    yield work, ready.read_text().strip()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    log.close()


def thumbprint(pem: Path) -> str:
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    return cert.fingerprint(hashes.SHA1()).hex().upper()


def token(url: str, work: Path, tenant: str, client_id: str, credential, scope: str) -> dict:
    app = msal.ConfidentialClientApplication(
        client_id,
        authority=f"{url}/{tenant}",
        client_credential=credential,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=[scope])
    assert "access_token" in result, result
    return jwt_parts(result["access_token"])[1]


def certificate(work: Path, cert: str, key: str) -> dict:
    return {"private_key": (work / key).read_text(), "thumbprint": thumbprint(work / cert)}


def test_msal_python_gets_tokens_with_only_the_files_ids(configured):
    work, url = configured
    claims = token(url, work, CONTOSO, DAEMON, certificate(work, "out/daemon.pem", "out/daemon.key"),
                   "api://state-api/.default")
    assert claims["tid"] == CONTOSO
    assert claims["aud"] == API
    assert claims["roles"] == ["Tasks.Read"]

    secret = (work / "out" / "daemon.secret").read_text()
    claims = token(url, work, CONTOSO, DAEMON, secret, "api://state-api/.default")
    assert claims["azp"] == DAEMON

    claims = token(url, work, CONTOSO, LEGACY, certificate(work, "legacy.pem", "legacy.key"),
                   "api://state-api/.default")
    assert claims["azp"] == LEGACY

    claims = token(url, work, FABRIKAM, WORKER, certificate(work, "out/worker.pem", "out/worker.key"),
                   "api://fabrikam-web/.default")
    assert claims["tid"] == FABRIKAM
    assert claims["roles"] == ["Web.Call"]


def test_applying_the_file_again_changes_nothing(configured):
    work, _url = configured
    out = subprocess.run(
        [str(keyward_bin()), "apply", str(work / "keyward.toml"), "--data", str(work / "data"), "--json"],
        check=True, capture_output=True, text=True,
    )
    assert json.loads(out.stdout)["changes"] == []
