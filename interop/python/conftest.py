"""Fixtures for the Python interop suite: a real `keyward serve`, its CLI, and a wire spy.

The server is started once per session from KEYWARD_BIN (default: target/debug/keyward at the
repo root) with a fresh data directory, and stopped with SIGTERM at the end (it must exit 0).
Clients trust its CA the way real users do: REQUESTS_CA_BUNDLE and SSL_CERT_FILE point at
DATA/tls/ca.pem before any client is created. Nothing disables TLS verification and no client
gets a custom session.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TENANT = "contoso"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
CLI_TIMEOUT_S = 120


def keyward_bin() -> Path:
    configured = os.environ.get("KEYWARD_BIN")
    path = Path(configured) if configured else REPO / "target" / "debug" / "keyward"
    if not path.is_file():
        pytest.exit(
            f"keyward binary not found at {path}: run `cargo build -p keyward` at the repo root "
            "or set KEYWARD_BIN",
            returncode=2,
        )
    return path.resolve()


def rand() -> str:
    return secrets.token_hex(4)


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_parts(token: str | bytes) -> tuple[dict, dict]:
    """Header and payload of a compact JWS, parsed as raw JSON (so floats stay floats)."""
    if isinstance(token, bytes):
        token = token.decode()
    header, payload, _signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


@dataclass
class Cert:
    """Files and thumbprints of a certificate made by `keyward cert new`."""

    prefix: Path
    thumbprint: str  # SHA-1, uppercase hex
    thumbprint_sha256: str  # SHA-256, uppercase hex
    password: str | None

    @property
    def cer(self) -> Path:
        return self.prefix.with_name(self.prefix.name + ".cer")

    @property
    def pem(self) -> Path:
        return self.prefix.with_name(self.prefix.name + ".pem")

    @property
    def key(self) -> Path:
        return self.prefix.with_name(self.prefix.name + ".key")

    @property
    def pfx(self) -> Path:
        return self.prefix.with_name(self.prefix.name + ".pfx")

    def pem_with_key(self) -> Path:
        """One PEM file with the certificate and the (unencrypted) key, as azure-identity takes."""
        assert self.password is None, "pem_with_key needs a certificate made with --no-password"
        out = self.prefix.with_name(self.prefix.name + "-with-key.pem")
        out.write_text(self.pem.read_text() + self.key.read_text())
        out.chmod(0o600)
        return out


@dataclass
class Server:
    bin: Path
    data: Path
    url: str
    tenant: str
    tenant_id: str
    proc: subprocess.Popen
    log: Path
    _discovery: dict | None = field(default=None, repr=False)

    @property
    def ca(self) -> Path:
        return self.data / "tls" / "ca.pem"

    @property
    def authority(self) -> str:
        return f"{self.url}/{self.tenant}"

    @property
    def token_endpoint(self) -> str:
        """The token endpoint the discovery document names (Entra names it by tenant GUID)."""
        return self.discovery()["token_endpoint"]

    @property
    def netloc(self) -> str:
        return self.url.split("://", 1)[1].rstrip("/")

    # -- the CLI -------------------------------------------------------------------------------

    def run(self, *args: str, data: bool = True) -> dict:
        """Runs `keyward ARGS [--data DIR] --json` and returns its JSON output."""
        argv = [str(self.bin), *args]
        if data:
            argv += ["--data", str(self.data)]
        argv.append("--json")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
        assert done.returncode == 0, (
            f"{' '.join(argv)} exited {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
        )
        return json.loads(done.stdout)

    def app(self, *args: str) -> dict:
        return self.run("app", *args)

    def cert_new(
        self, directory: Path, cn: str, password: str | None = None, legacy_pfx: bool = False
    ) -> Cert:
        prefix = directory / cn
        args = ["cert", "new", "--subject", f"CN={cn}", "--out", str(prefix)]
        if legacy_pfx:
            args.append("--legacy-pfx")
        if password is None:
            args.append("--no-password")
        else:
            password_file = directory / f"{cn}.password"
            password_file.write_text(password + "\n")
            args += ["--password-file", str(password_file)]
        made = self.run(*args, data=False)
        assert made["encrypted"] is (password is not None)
        return Cert(prefix, made["thumbprint"], made["thumbprintSha256"], password)

    # -- discovery and token checks ------------------------------------------------------------

    def discovery(self) -> dict:
        if self._discovery is None:
            response = requests.get(
                f"{self.authority}/v2.0/.well-known/openid-configuration", timeout=10
            )
            assert response.status_code == 200, response.text
            self._discovery = response.json()
        return self._discovery

    def jwks(self) -> dict:
        response = requests.get(self.discovery()["jwks_uri"], timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def verify_access_token(
        self, token: str, *, resource: dict, client: dict, roles: list[str], azpacr: str
    ) -> dict:
        """Verifies an app-only access token against the published JWKS and checks its claims."""
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "RS256", header
        assert header.get("kid"), header
        assert header.get("x5t"), header
        keys = self.jwks()["keys"]
        matching = [k for k in keys if k.get("kid") == header["kid"]]
        assert len(matching) == 1, f"kid {header['kid']} not in JWKS {keys}"
        jwk = matching[0]
        if "x5t" in jwk:
            assert jwk["x5t"] == header["x5t"], (jwk, header)
        key = jwt.PyJWK.from_dict(jwk, algorithm="RS256")
        issuer = self.discovery()["issuer"]
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=resource["appId"],
            issuer=issuer,
            options={"require": ["exp", "iat", "nbf", "iss", "aud"]},
        )
        assert claims["aud"] == resource["appId"]
        assert claims["iss"] == issuer == f"{self.url}/{self.tenant_id}/v2.0"
        assert claims["tid"] == self.tenant_id
        assert claims["azp"] == client["appId"]
        assert claims["azpacr"] == azpacr
        assert sorted(claims["roles"]) == sorted(roles)
        assert claims["idtyp"] == "app"
        assert claims["ver"] == "2.0"
        assert claims["sub"] == claims["oid"]
        assert claims.get("uti")
        assert "scp" not in claims
        now = time.time()
        assert claims["nbf"] <= now + 5 and claims["exp"] > now + 600
        return claims


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    binary = keyward_bin()
    data = tmp_path_factory.mktemp("keyward-data")
    log_path = data.parent / "keyward-serve.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(binary), "serve", "--data", str(data), "--listen", "127.0.0.1:0", "--tenant", TENANT],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    saved_env = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    try:
        info = None
        ca = data / "tls" / "ca.pem"
        deadline = time.monotonic() + START_TIMEOUT_S
        problem = "no server.json yet"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(
                    f"keyward serve exited {proc.returncode} while starting:\n{log_path.read_text()}"
                )
            try:
                info = json.loads((data / "server.json").read_text())
                response = requests.get(f"{info['url']}/healthz", verify=str(ca), timeout=2)
                if response.status_code == 200:
                    break
                problem = f"/healthz answered {response.status_code}"
            except (OSError, ValueError, KeyError, requests.RequestException) as error:
                problem = repr(error)
            time.sleep(0.2)
        else:
            raise AssertionError(
                f"keyward serve not ready after {START_TIMEOUT_S}s ({problem}):\n{log_path.read_text()}"
            )
        assert info["pid"] == proc.pid, info
        assert info["tenant"] == TENANT, info

        # How real users trust the CA: before any client (MSAL, azure-identity) is created.
        os.environ["REQUESTS_CA_BUNDLE"] = str(ca)
        os.environ["SSL_CERT_FILE"] = str(ca)

        srv = Server(
            bin=binary,
            data=data,
            url=info["url"].rstrip("/"),
            tenant=TENANT,
            tenant_id="",
            proc=proc,
            log=log_path,
        )
        issuer = srv.discovery()["issuer"]
        srv.tenant_id = issuer.rstrip("/").split("/")[-2]
        yield srv
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                log.close()
                raise AssertionError(
                    f"keyward serve did not stop within {STOP_TIMEOUT_S}s of SIGTERM:\n"
                    f"{log_path.read_text()}"
                )
        log.close()
        assert proc.returncode == 0, (
            f"keyward serve exited {proc.returncode} after SIGTERM:\n{log_path.read_text()}"
        )


@dataclass
class Registry:
    """Registers apps for one test through the CLI, each with a random name."""

    server: Server
    tmp: Path

    def resource(self, role: str = "Tasks.Read.All") -> dict:
        suffix = rand()
        app = self.server.app(
            "create", "--name", f"tasks-api-{suffix}", "--identifier-uri", f"api://tasks-{suffix}"
        )
        assert app["identifierUris"] == [f"api://tasks-{suffix}"], app
        self.server.app("role", "add", app["appId"], "--value", role)
        app["scope"] = f"api://tasks-{suffix}/.default"
        return app

    def client(self) -> dict:
        return self.server.app("create", "--name", f"client-{rand()}")

    def cert(self, client: dict, password: str | None = None, legacy_pfx: bool = False) -> Cert:
        cert = self.server.cert_new(self.tmp, f"client-cert-{rand()}", password, legacy_pfx)
        added = self.server.app("cert", "add", client["appId"], str(cert.cer))
        assert added["customKeyIdentifier"] == cert.thumbprint, added
        assert added["thumbprintSha256"] == cert.thumbprint_sha256, added
        return cert

    def grant(self, client: dict, resource: dict, role: str = "Tasks.Read.All") -> dict:
        return self.server.app("grant", client["appId"], resource["appId"], role)


@pytest.fixture
def registry(server: Server, tmp_path: Path) -> Registry:
    return Registry(server, tmp_path)


@dataclass
class TokenCall:
    url: str
    form: dict[str, str]
    status: int
    body: Any

    @property
    def assertion(self) -> str | None:
        return self.form.get("client_assertion")


@pytest.fixture
def token_calls(server: Server, monkeypatch: pytest.MonkeyPatch) -> list[TokenCall]:
    """Records what the clients send to the token endpoint, without changing how they send it.

    Both MSAL Python and azure-identity (through azure-core's RequestsTransport) end in
    requests.Session.send; this wraps it and passes every request on unchanged.
    """
    calls: list[TokenCall] = []
    original = requests.Session.send

    def send(self, request, **kwargs):
        response = original(self, request, **kwargs)
        if request.url.split("?", 1)[0].endswith("/oauth2/v2.0/token") and not kwargs.get("stream"):
            body = request.body or ""
            if isinstance(body, bytes):
                body = body.decode()
            form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            try:
                parsed = response.json()
            except ValueError:
                parsed = response.text
            calls.append(TokenCall(request.url, form, response.status_code, parsed))
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return calls
