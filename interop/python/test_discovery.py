"""The discovery document and JWKS, as MSAL Python and azure-identity read them."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from conftest import Server

REQUIRED = [
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "token_endpoint_auth_methods_supported",
    "id_token_signing_alg_values_supported",
    "response_modes_supported",
    "scopes_supported",
    "subject_types_supported",
    "claims_supported",
    "tenant_region_scope",
    "cloud_instance_name",
]


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


@pytest.mark.parametrize("alias", ["name", "guid", "onmicrosoft"])
def test_discovery_document(server: Server, alias: str):
    tenant = {
        "name": server.tenant,
        "guid": server.tenant_id,
        "onmicrosoft": f"{server.tenant}.onmicrosoft.com",
    }[alias]
    response = requests.get(f"{server.url}/{tenant}/v2.0/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200, response.text
    doc = response.json()
    missing = [k for k in REQUIRED if k not in doc]
    assert not missing, f"missing {missing} in {doc}"
    # MSAL accepts the document only when the issuer has the authority's scheme, host and port.
    assert origin(doc["issuer"]) == origin(server.url), doc["issuer"]
    assert doc["issuer"] == f"{server.url}/{server.tenant_id}/v2.0"
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
        assert origin(doc[endpoint]) == origin(server.url), (endpoint, doc[endpoint])
    assert doc["token_endpoint"].endswith("/oauth2/v2.0/token")
    assert doc["jwks_uri"].endswith("/discovery/v2.0/keys")
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]


def test_jwks_publishes_rsa_signing_keys(server: Server):
    keys = server.jwks()["keys"]
    assert keys, "empty JWKS"
    for key in keys:
        assert key["kty"] == "RSA", key
        assert key["kid"] and key["n"] and key["e"], key
        assert key.get("use", "sig") == "sig", key

