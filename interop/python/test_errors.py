"""What MSAL Python gets back when the credential is wrong: Entra's error codes, never a token.

Hand-made assertions go through MSAL's own `client_assertion` credential, so the request is
still the one MSAL Python sends.
"""

from __future__ import annotations

import time
import uuid

import jwt
import msal
import pytest
import requests

from conftest import Registry, Server, b64url


def msal_app(server: Server, client_id: str, credential) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        authority=f"{server.url}/{server.tenant}",
        client_credential=credential,
        instance_discovery=False,
    )


def assert_error(result: dict, error: str, code: int, status: int, token_calls) -> None:
    assert "access_token" not in result, result
    assert result.get("error") == error, result
    assert code in result.get("error_codes", []), result
    assert result["error_description"].startswith(f"AADSTS{code}:"), result
    for field in ("timestamp", "trace_id", "correlation_id"):
        assert result.get(field), result
    assert token_calls[-1].status == status, token_calls[-1].body


def sha1_x5t(cert) -> str:
    return b64url(bytes.fromhex(cert.thumbprint))


def hand_made_assertion(server: Server, cert, client_id: str, **overrides) -> str:
    now = time.time()
    claims = {
        "aud": server.token_endpoint,
        "iss": client_id,
        "sub": client_id,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 600,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return jwt.encode(
        claims, cert.key.read_text(), algorithm="RS256", headers={"x5t": sha1_x5t(cert)}
    )


def test_wrong_client_secret_is_7000215(server: Server, registry: Registry, token_calls):
    resource = registry.resource()
    client = registry.client()
    server.app("secret", "add", client["appId"])
    registry.grant(client, resource)

    result = msal_app(server, client["appId"], "not-the-secret").acquire_token_for_client(
        scopes=[resource["scope"]]
    )
    assert_error(result, "invalid_client", 7000215, 401, token_calls)


def test_unknown_client_is_700016(server: Server, registry: Registry, token_calls):
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    unknown = str(uuid.uuid4())

    result = msal_app(
        server, unknown, {"private_key": cert.key.read_text(), "thumbprint": cert.thumbprint}
    ).acquire_token_for_client(scopes=[resource["scope"]])
    assert_error(result, "unauthorized_client", 700016, 400, token_calls)


def test_x5c_of_a_certificate_registered_elsewhere_is_not_trusted(
    server: Server, registry: Registry, token_calls
):
    """A certificate sent in x5c but registered on another app must not authenticate this one."""
    resource = registry.resource()
    victim = registry.client()
    registry.cert(victim)
    registry.grant(victim, resource)
    other = registry.client()
    stranger = registry.cert(other)  # registered on `other`, not on `victim`

    result = msal_app(
        server,
        victim["appId"],
        {
            "private_key": stranger.key.read_text(),
            "thumbprint": stranger.thumbprint,
            "public_certificate": stranger.pem.read_text(),
        },
    ).acquire_token_for_client(scopes=[resource["scope"]])
    assert_error(result, "invalid_client", 700027, 401, token_calls)


def expired(server: Server) -> dict:
    now = int(time.time())
    return {"iat": now - 4000, "nbf": now - 4000, "exp": now - 3000}


def wrong_audience(server: Server) -> dict:
    return {"aud": f"{server.url}/other-tenant/oauth2/v2.0/token"}


def iss_not_client(server: Server) -> dict:
    return {"iss": str(uuid.uuid4())}


def iss_and_sub_another_client(server: Server) -> dict:
    other = str(uuid.uuid4())
    return {"iss": other, "sub": other}


def not_yet_valid(server: Server) -> dict:
    now = int(time.time())
    return {"iat": now + 3000, "nbf": now + 3000, "exp": now + 3600}


def lifetime_over_cap(server: Server) -> dict:
    now = int(time.time())
    return {"exp": now + 7200}


@pytest.mark.parametrize(
    "overrides, code",
    [
        pytest.param(expired, 700024, id="expired-700024"),
        pytest.param(wrong_audience, 700023, id="wrong-audience-700023"),
        pytest.param(iss_not_client, 700021, id="iss-not-client-700021"),
        pytest.param(iss_and_sub_another_client, 700021, id="iss-sub-not-client_id-700021"),
        pytest.param(not_yet_valid, 700024, id="not-yet-valid-700024"),
        pytest.param(lifetime_over_cap, 700024, id="lifetime-over-cap-700024"),
    ],
)
def test_bad_assertion(server: Server, registry: Registry, token_calls, overrides, code):
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)

    # The control: the same hand-made assertion without the defect works.
    good = hand_made_assertion(server, cert, client["appId"])
    assert "access_token" in msal_app(
        server, client["appId"], {"client_assertion": lambda: good}
    ).acquire_token_for_client(scopes=[resource["scope"]]), token_calls[-1].body

    bad = hand_made_assertion(server, cert, client["appId"], **overrides(server))
    result = msal_app(server, client["appId"], {"client_assertion": lambda: bad}).acquire_token_for_client(
        scopes=[resource["scope"]]
    )
    assert_error(result, "invalid_client", code, 401, token_calls)


def test_signature_by_another_key_is_700027(server: Server, registry: Registry, token_calls):
    """The registered thumbprint in x5t, but signed with a different private key."""
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)
    other = server.cert_new(registry.tmp, f"unregistered-{uuid.uuid4().hex[:8]}")

    now = int(time.time())
    forged = jwt.encode(
        {"aud": server.token_endpoint, "iss": client["appId"], "sub": client["appId"],
         "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())},
        other.key.read_text(),
        algorithm="RS256",
        headers={"x5t": sha1_x5t(cert)},
    )
    result = msal_app(server, client["appId"], {"client_assertion": lambda: forged}).acquire_token_for_client(
        scopes=[resource["scope"]]
    )
    assert_error(result, "invalid_client", 700027, 401, token_calls)


def test_unknown_tenant_fails_discovery_with_90002(server: Server, registry: Registry):
    """MSAL Python reads the discovery document when the app is made; an unknown tenant stops it."""
    client = registry.client()
    cert = registry.cert(client)
    with pytest.raises(ValueError) as raised:
        msal.ConfidentialClientApplication(
            client["appId"],
            authority=f"{server.url}/no-such-tenant",
            client_credential={"private_key": cert.key.read_text(), "thumbprint": cert.thumbprint},
            instance_discovery=False,
        )
    assert "no-such-tenant" in str(raised.value), str(raised.value)
    # MSAL hides the body; what it was refused, as Entra words it:
    response = requests.get(
        f"{server.url}/no-such-tenant/v2.0/.well-known/openid-configuration", timeout=10
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_tenant", response.text
    assert response.json()["error_codes"] == [90002], response.text


def aud_by_name(server: Server) -> str:
    return f"{server.url}/{server.tenant}/oauth2/v2.0/token"


def aud_by_onmicrosoft(server: Server) -> str:
    return f"{server.url}/{server.tenant}.onmicrosoft.com/oauth2/v2.0/token"


def aud_by_guid_with_query(server: Server) -> str:
    return f"{server.url}/{server.tenant_id}/oauth2/v2.0/token?client-request-id={uuid.uuid4()}"


@pytest.mark.parametrize(
    "audience",
    [
        pytest.param(aud_by_name, id="name"),
        pytest.param(aud_by_onmicrosoft, id="onmicrosoft"),
        pytest.param(aud_by_guid_with_query, id="guid-with-query"),
    ],
)
def test_assertion_audience_may_name_any_tenant_alias(
    server: Server, registry: Registry, token_calls, audience
):
    """The contract: the token URL under every alias of the tenant, with or without a query."""
    resource = registry.resource()
    client = registry.client()
    cert = registry.cert(client)
    registry.grant(client, resource)

    assertion = hand_made_assertion(server, cert, client["appId"], aud=audience(server))
    result = msal_app(
        server, client["appId"], {"client_assertion": lambda: assertion}
    ).acquire_token_for_client(scopes=[resource["scope"]])
    assert "access_token" in result, result
    server.verify_access_token(
        result["access_token"], resource=resource, client=client, roles=["Tasks.Read.All"],
        azpacr="2",
    )
