"""MSAL Python (unmodified) against a real `keyward serve`: certificates, PFX, secrets, errors."""

from __future__ import annotations

import base64
import time

import msal
import pytest

from conftest import Registry, Server, TokenCall, jwt_parts, rand

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def msal_app(server: Server, client: dict, credential) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client["appId"],
        authority=f"{server.url}/{server.tenant}",
        client_credential=credential,
        instance_discovery=False,
    )


def assert_token(result: dict) -> str:
    assert "access_token" in result, f"no token: {result}"
    assert result["token_type"] == "Bearer", result
    assert isinstance(result["expires_in"], int) and 3000 < result["expires_in"] <= 3600, result
    return result["access_token"]


def padded_b64url(hex_digest: str) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).decode()


def only_assertion_call(calls: list[TokenCall], server: Server, client: dict) -> TokenCall:
    assert len(calls) == 1, calls
    call = calls[0]
    assert call.status == 200, call.body
    assert call.url.split("?", 1)[0] == server.token_endpoint
    assert call.form["grant_type"] == "client_credentials"
    assert call.form["client_id"] == client["appId"]
    assert call.form["client_assertion_type"] == JWT_BEARER
    assert "client_secret" not in call.form
    return call


def assert_msal_python_claims(payload: dict, server: Server, client: dict) -> None:
    """What MSAL Python puts in an assertion: float exp/iat, no nbf, 600 s, iss = sub = client."""
    assert payload["aud"] == server.token_endpoint
    assert payload["iss"] == payload["sub"] == client["appId"]
    assert isinstance(payload["exp"], float) and isinstance(payload["iat"], float), payload
    assert 599 <= payload["exp"] - payload["iat"] <= 601, payload
    assert "nbf" not in payload, payload
    assert payload["jti"]


def test_msal_pem_key_and_sha1_thumbprint(server: Server, registry: Registry, token_calls):
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    grant = registry.grant(client, resource)

    app = msal_app(
        server, client, {"private_key": cert.key.read_text(), "thumbprint": cert.thumbprint}
    )
    token = assert_token(app.acquire_token_for_client(scopes=[resource["scope"]]))
    claims = server.verify_access_token(
        token, resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )
    # sub and oid are the client's service principal, the grant's principal.
    assert claims["oid"] == claims["sub"] == grant["principalId"], (claims, grant)

    call = only_assertion_call(token_calls, server, client)
    assert call.form["scope"] == resource["scope"]
    header, payload = jwt_parts(call.assertion)
    assert header["alg"] == "RS256", header
    assert header["x5t"] == padded_b64url(cert.thumbprint), header
    assert len(header["x5t"]) == 28 and header["x5t"].endswith("="), header
    assert "x5t#S256" not in header and "x5c" not in header, header
    assert_msal_python_claims(payload, server, client)

    # The token is cached: MSAL trusts expires_in and does not ask again.
    again = app.acquire_token_for_client(scopes=[resource["scope"]])
    assert again["access_token"] == token
    assert again.get("token_source") == "cache", again
    assert len(token_calls) == 1


def test_msal_pem_key_with_public_certificate_sends_x5c(
    server: Server, registry: Registry, token_calls
):
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)

    app = msal_app(
        server,
        client,
        {
            "private_key": cert.key.read_text(),
            "thumbprint": cert.thumbprint,
            "public_certificate": cert.pem.read_text(),
        },
    )
    token = assert_token(app.acquire_token_for_client(scopes=[resource["scope"]]))
    server.verify_access_token(
        token, resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )

    header, payload = jwt_parts(only_assertion_call(token_calls, server, client).assertion)
    assert header["alg"] == "RS256", header
    assert header["x5t"] == padded_b64url(cert.thumbprint), header
    assert isinstance(header["x5c"], list) and len(header["x5c"]) == 1, header
    assert "\n" in header["x5c"][0], "MSAL Python keeps the PEM's line breaks in x5c"
    x5c_der = base64.b64decode("".join(header["x5c"][0].split()))
    assert x5c_der == cert.cer.read_bytes()
    assert_msal_python_claims(payload, server, client)


def test_msal_public_certificate_without_thumbprint_uses_ps256(
    server: Server, registry: Registry, token_calls
):
    """Given only the certificate, MSAL Python computes the SHA-256 thumbprint and signs PS256."""
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)

    app = msal_app(
        server,
        client,
        {"private_key": cert.key.read_text(), "public_certificate": cert.pem.read_text()},
    )
    token = assert_token(app.acquire_token_for_client(scopes=[resource["scope"]]))
    server.verify_access_token(
        token, resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )

    header, payload = jwt_parts(only_assertion_call(token_calls, server, client).assertion)
    assert header["alg"] == "PS256", header
    assert header["x5t#S256"] == padded_b64url(cert.thumbprint_sha256), header
    assert "x5c" in header, header
    assert_msal_python_claims(payload, server, client)


@pytest.mark.parametrize(
    "legacy_pfx, send_x5c",
    [
        pytest.param(False, False, id="aes-pfx"),
        pytest.param(False, True, id="aes-pfx-x5c"),
        pytest.param(True, False, id="legacy-3des-pfx"),
    ],
)
def test_msal_pfx_with_passphrase(
    server: Server, registry: Registry, token_calls, legacy_pfx: bool, send_x5c: bool
):
    """MSAL Python >= 1.29 loads the PFX itself and signs PS256 with a padded x5t#S256."""
    resource = registry.resource()
    client = registry.client()
    password = f"pfx-{rand()}-pässword"
    cert = registry.cert(client, password=password, legacy_pfx=legacy_pfx)
    registry.grant(client, resource)

    credential = {"private_key_pfx_path": str(cert.pfx), "passphrase": password}
    if send_x5c:
        credential["public_certificate"] = True  # MSAL >= 1.30: send the PFX's chain as x5c
    app = msal_app(server, client, credential)
    token = assert_token(app.acquire_token_for_client(scopes=[resource["scope"]]))
    server.verify_access_token(
        token, resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )

    header, payload = jwt_parts(only_assertion_call(token_calls, server, client).assertion)
    assert header["alg"] == "PS256", header
    assert header["x5t#S256"] == padded_b64url(cert.thumbprint_sha256), header
    assert len(header["x5t#S256"]) == 44 and header["x5t#S256"].endswith("="), header
    assert "x5t" not in header, header
    if send_x5c:
        assert base64.b64decode(header["x5c"][0]) == cert.cer.read_bytes(), header
    else:
        assert "x5c" not in header, header
    assert_msal_python_claims(payload, server, client)


def test_msal_encrypted_pem_key_with_passphrase(server: Server, registry: Registry, token_calls):
    """The .key that `keyward cert new --password-file` writes, read by MSAL with its passphrase."""
    resource = registry.resource()
    client = registry.client()
    password = f"key-{rand()}"
    cert = registry.cert(client, password=password)
    registry.grant(client, resource)
    assert "ENCRYPTED PRIVATE KEY" in cert.key.read_text()

    app = msal_app(
        server,
        client,
        {
            "private_key": cert.key.read_text(),
            "thumbprint": cert.thumbprint,
            "passphrase": password,
        },
    )
    token = assert_token(app.acquire_token_for_client(scopes=[resource["scope"]]))
    server.verify_access_token(
        token, resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )
    header, _ = jwt_parts(only_assertion_call(token_calls, server, client).assertion)
    assert header["alg"] == "RS256" and header["x5t"] == padded_b64url(cert.thumbprint)


def test_msal_second_resource_resends_the_same_assertion(
    server: Server, registry: Registry, token_calls
):
    first = registry.resource()
    second = registry.resource(role="Tasks.ReadWrite.All")
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, first)
    registry.grant(client, second, "Tasks.ReadWrite.All")

    app = msal_app(
        server, client, {"private_key": cert.key.read_text(), "thumbprint": cert.thumbprint}
    )
    token1 = assert_token(app.acquire_token_for_client(scopes=[first["scope"]]))
    token2 = assert_token(app.acquire_token_for_client(scopes=[second["scope"]]))
    assert token1 != token2
    claims1 = server.verify_access_token(
        token1, resource=first, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )
    claims2 = server.verify_access_token(
        token2, resource=second, client=client, roles=["Tasks.ReadWrite.All"], azpacr="2"
    )
    assert claims1["oid"] == claims2["oid"]
    assert claims1["uti"] != claims2["uti"]

    assert len(token_calls) == 2, token_calls
    assert [c.status for c in token_calls] == [200, 200], [c.body for c in token_calls]
    assert [c.form["scope"] for c in token_calls] == [first["scope"], second["scope"]]
    # MSAL Python keeps one assertion for ~540 s: the server must accept it again.
    assert token_calls[0].assertion == token_calls[1].assertion
    _, payload = jwt_parts(token_calls[1].assertion)
    assert payload["exp"] > time.time()


def test_msal_client_secret(server: Server, registry: Registry, token_calls):
    resource = registry.resource()
    client = registry.client()
    secret = server.app("secret", "add", client["appId"])["secretText"]
    assert secret
    registry.grant(client, resource)

    app = msal_app(server, client, secret)
    token = assert_token(app.acquire_token_for_client(scopes=[resource["scope"]]))
    server.verify_access_token(
        token, resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="1"
    )

    assert len(token_calls) == 1
    call = token_calls[0]
    assert call.status == 200
    assert call.form["client_secret"] == secret
    assert "client_assertion" not in call.form


def test_msal_removed_certificate_is_invalid_client_700027(
    server: Server, registry: Registry, token_calls
):
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)
    credential = {"private_key": cert.key.read_text(), "thumbprint": cert.thumbprint}

    # It works while the certificate is registered ...
    assert_token(msal_app(server, client, credential).acquire_token_for_client(scopes=[resource["scope"]]))

    # ... and not once it is removed (a new app object: no cached token).
    server.app("cert", "remove", client["appId"], cert.thumbprint)
    result = msal_app(server, client, credential).acquire_token_for_client(
        scopes=[resource["scope"]]
    )
    assert "access_token" not in result, result
    assert result["error"] == "invalid_client", result
    assert 700027 in result["error_codes"], result
    assert result["error_description"].startswith("AADSTS700027"), result
    # The error names the thumbprint that was sent.
    assert cert.thumbprint in result["error_description"].upper(), result
    for field in ("timestamp", "trace_id", "correlation_id"):
        assert result.get(field), result

    assert [c.status for c in token_calls] == [200, 401], [c.body for c in token_calls]


def test_msal_scope_without_default_is_invalid_scope(
    server: Server, registry: Registry, token_calls
):
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)

    app = msal_app(
        server, client, {"private_key": cert.key.read_text(), "thumbprint": cert.thumbprint}
    )
    scope = resource["scope"].removesuffix("/.default") + "/Tasks.Read.All"
    result = app.acquire_token_for_client(scopes=[scope])
    assert result.get("error") == "invalid_scope", result
    assert set(result["error_codes"]) & {1002012, 70011}, result
    assert token_calls[-1].status == 400, token_calls[-1].body


@pytest.mark.parametrize("alias", ["guid", "onmicrosoft"])
def test_msal_tenant_aliases(server: Server, registry: Registry, token_calls, alias: str):
    """The authority may name the tenant by GUID or NAME.onmicrosoft.com; the issuer is the GUID."""
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)
    tenant = server.tenant_id if alias == "guid" else f"{server.tenant}.onmicrosoft.com"

    app = msal.ConfidentialClientApplication(
        client["appId"],
        authority=f"{server.url}/{tenant}",
        client_credential={"private_key": cert.key.read_text(), "thumbprint": cert.thumbprint},
        instance_discovery=False,
    )
    token = assert_token(app.acquire_token_for_client(scopes=[resource["scope"]]))
    server.verify_access_token(
        token, resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )
    call = token_calls[-1]
    _, payload = jwt_parts(call.assertion)
    assert payload["aud"] == call.url.split("?", 1)[0]
    assert call.url.startswith(f"{server.url}/")
