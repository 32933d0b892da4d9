"""azure-identity for Python (unmodified) CertificateCredential against a real `keyward serve`."""

from __future__ import annotations

import base64
import time

import pytest
from azure.identity import CertificateCredential, ClientSecretCredential

from conftest import Registry, Server, jwt_parts, rand


def credential_for(server: Server, client: dict, **kwargs) -> CertificateCredential:
    return CertificateCredential(
        tenant_id=server.tenant,
        client_id=client["appId"],
        # The origin with its scheme: azure-identity Python's normalize_authority runs urlparse,
        # which reads a bare "localhost:PORT" as scheme "localhost" and rejects it as not https.
        authority=server.url,
        disable_instance_discovery=True,
        **kwargs,
    )


def get_verified_token(server: Server, credential, resource: dict, client: dict, azpacr: str):
    access = credential.get_token(resource["scope"])
    assert isinstance(access.expires_on, int)
    assert time.time() + 3000 < access.expires_on <= time.time() + 3600 + 5, access.expires_on
    return server.verify_access_token(
        access.token, resource=resource, client=client, roles=["Tasks.Read.All"], azpacr=azpacr
    )


def test_azure_identity_pem_with_key(server: Server, registry: Registry, token_calls):
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)

    credential = credential_for(server, client, certificate_path=str(cert.pem_with_key()))
    get_verified_token(server, credential, resource, client, azpacr="2")

    assert len(token_calls) == 1 and token_calls[0].status == 200, token_calls
    call = token_calls[0]
    assert call.url.split("?", 1)[0] == server.token_endpoint
    header, payload = jwt_parts(call.assertion)
    assert header["alg"] == "RS256", header
    assert header["x5t"] == base64.urlsafe_b64encode(bytes.fromhex(cert.thumbprint)).decode()
    assert "x5c" not in header, header
    assert payload["iss"] == payload["sub"] == client["appId"]
    assert payload["aud"] == server.token_endpoint
    assert "nbf" not in payload

    # Cached by MSAL inside the credential: no second request.
    credential.get_token(resource["scope"])
    assert len(token_calls) == 1


def test_azure_identity_send_certificate_chain(server: Server, registry: Registry, token_calls):
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)

    credential = credential_for(
        server, client, certificate_path=str(cert.pem_with_key()), send_certificate_chain=True
    )
    get_verified_token(server, credential, resource, client, azpacr="2")

    assert len(token_calls) == 1 and token_calls[0].status == 200, token_calls
    header, _ = jwt_parts(token_calls[0].assertion)
    assert header["alg"] == "RS256", header
    assert header["x5t"] == base64.urlsafe_b64encode(bytes.fromhex(cert.thumbprint)).decode()
    assert len(header["x5c"]) == 1, header
    assert base64.b64decode("".join(header["x5c"][0].split())) == cert.cer.read_bytes()


@pytest.mark.parametrize("chain", [False, True], ids=["pfx", "pfx-send-chain"])
def test_azure_identity_pfx_with_password(
    server: Server, registry: Registry, token_calls, chain: bool
):
    resource = registry.resource()
    client = registry.client()
    password = f"pfx-{rand()}"
    cert = registry.cert(client, password=password)
    registry.grant(client, resource)

    credential = credential_for(
        server, client, certificate_path=str(cert.pfx), password=password,
        send_certificate_chain=chain,
    )
    get_verified_token(server, credential, resource, client, azpacr="2")

    assert len(token_calls) == 1 and token_calls[0].status == 200, token_calls
    header, _ = jwt_parts(token_calls[0].assertion)
    # azure-identity decrypts the PFX itself and gives MSAL a PEM key and the SHA-1 thumbprint.
    assert header["alg"] == "RS256", header
    assert header["x5t"] == base64.urlsafe_b64encode(bytes.fromhex(cert.thumbprint)).decode()
    if chain:
        assert base64.b64decode(header["x5c"][0]) == cert.cer.read_bytes(), header
    else:
        assert "x5c" not in header, header


def test_azure_identity_client_secret(server: Server, registry: Registry, token_calls):
    resource = registry.resource()
    client = registry.client()
    secret = server.app("secret", "add", client["appId"])["secretText"]
    registry.grant(client, resource)

    credential = ClientSecretCredential(
        tenant_id=server.tenant,
        client_id=client["appId"],
        client_secret=secret,
        authority=server.url,
        disable_instance_discovery=True,
    )
    get_verified_token(server, credential, resource, client, azpacr="1")
    assert [c.status for c in token_calls] == [200]


def test_azure_identity_removed_certificate_raises(
    server: Server, registry: Registry, token_calls
):
    from azure.core.exceptions import ClientAuthenticationError

    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)
    server.app("cert", "remove", client["appId"], cert.thumbprint_sha256)

    credential = credential_for(server, client, certificate_path=str(cert.pem_with_key()))
    with pytest.raises(ClientAuthenticationError) as raised:
        credential.get_token(resource["scope"])
    assert "AADSTS700027" in str(raised.value), str(raised.value)
    assert token_calls[-1].status == 401
    assert token_calls[-1].body["error"] == "invalid_client"


def test_azure_identity_rejects_bare_host_port_authority(server: Server, registry: Registry):
    """Client-side, before any request: urlparse reads "localhost:PORT" as scheme "localhost".

    So azure-identity Python needs authority="https://localhost:PORT" (what the tests above use);
    this pins the behaviour so the README's advice is noticed if a release changes it.
    """
    assert server.netloc.startswith("localhost:")
    client = registry.client()
    cert = registry.cert(client)
    with pytest.raises(ValueError, match="invalid authority"):
        CertificateCredential(
            tenant_id=server.tenant,
            client_id=client["appId"],
            certificate_path=str(cert.pem_with_key()),
            authority=server.netloc,
            disable_instance_discovery=True,
        )
