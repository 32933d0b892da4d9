"""The device authorization grant (RFC 8628) as MSAL Python runs it (`az login --use-device-code`
does the same): `initiate_device_flow`, then `acquire_token_by_device_flow` polling the token
endpoint while a person, here `requests` in a thread, enters the code on the hosted page, signs
in and allows."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urljoin

import msal
import requests

from conftest import Registry, Server, jwt_parts, rand
from device_page import PASSWORD, approve, form_action, hidden


def create_user(server: Server, tmp: Path) -> str:
    email = f"device-{rand()}@example.com"
    password_file = tmp / "password"
    password_file.write_text(PASSWORD + "\n")
    server.run("user", "create", "--email", email, "--password-file", str(password_file))
    return email


def test_msal_python_device_flow_through_the_hosted_page(
    server: Server, registry: Registry, tmp_path: Path
):
    client = registry.client()  # a public client: no certificate, no secret
    email = create_user(server, tmp_path)
    app = msal.PublicClientApplication(
        client["appId"], authority=server.authority, instance_discovery=False
    )

    flow = app.initiate_device_flow(scopes=["User.Read"])
    assert "user_code" in flow, flow
    assert flow["verification_uri"] == f"{server.url}/{server.tenant}/oauth2/v2.0/devicecode/verify"
    assert flow["interval"] == 5 and flow["expires_in"] == 900, flow
    assert flow["user_code"] in flow["message"], flow

    failures: list[BaseException] = []

    def person() -> None:
        try:
            approve(flow["verification_uri"], flow["user_code"], email)
        except BaseException as error:  # reported by the test below
            failures.append(error)

    thread = threading.Thread(target=person)
    thread.start()
    # Polls (authorization_pending first) until the person has allowed it.
    result = app.acquire_token_by_device_flow(flow)
    thread.join(timeout=60)
    assert not failures, failures
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert "refresh_token" in result, sorted(result)
    assert result["id_token_claims"]["preferred_username"] == email
    assert result["id_token_claims"]["aud"] == client["appId"]
    _header, claims = jwt_parts(result["access_token"])
    assert claims["idtyp"] == "user" and claims["azp"] == client["appId"], claims

    # MSAL keeps the account: a silent call returns a token from its cache.
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == [email]
    silent = app.acquire_token_silent(["User.Read"], account=accounts[0])
    assert silent and "access_token" in silent, silent


def test_msal_python_device_flow_stops_when_the_user_denies(
    server: Server, registry: Registry, tmp_path: Path
):
    client = registry.client()
    email = create_user(server, tmp_path)
    app = msal.PublicClientApplication(
        client["appId"], authority=server.authority, instance_discovery=False
    )
    flow = app.initiate_device_flow(scopes=["User.Read"])
    browser = requests.Session()
    page = browser.get(flow["verification_uri"], timeout=10)
    csrf = hidden(page.text, "csrf")
    action = urljoin(flow["verification_uri"], form_action(page.text))
    entered = browser.post(action, data={"csrf": csrf, "code": flow["user_code"]}, timeout=10)
    ticket = hidden(entered.text, "ticket")
    browser.post(
        f"{action}/signin",
        data={"csrf": csrf, "ticket": ticket, "email": email, "password": PASSWORD},
        timeout=30,
    )
    denied = browser.post(
        f"{action}/decide", data={"csrf": csrf, "ticket": ticket, "decision": "deny"}, timeout=10
    )
    assert "Sign-in declined" in denied.text, denied.text
    result = app.acquire_token_by_device_flow(flow)
    assert result.get("error") == "authorization_declined", result
    assert "access_token" not in result
