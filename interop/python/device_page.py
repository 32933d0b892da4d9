"""What a person does on the hosted device code page (`/{tenant}/oauth2/v2.0/devicecode/verify`)
in a browser, done with `requests`: enter the code, sign in, allow. Shared by the MSAL Python
device flow tests and the Azure CLI's `az login --use-device-code` test (interop/azure-hosts)."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

import requests

PASSWORD = "correct horse battery"


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} on the page:\n{page}"
    return html.unescape(match.group(1))


def form_action(page: str) -> str:
    match = re.search(r'<form method="post" action="([^"]*)"', page)
    assert match, f"no form on the page:\n{page}"
    return html.unescape(match.group(1))


def approve(verification_uri: str, user_code: str, email: str, password: str = PASSWORD) -> None:
    """What the user does in a browser: open the page, enter the code, sign in, allow."""
    browser = requests.Session()
    page = browser.get(verification_uri, timeout=10)
    assert page.status_code == 200, page.text
    csrf = hidden(page.text, "csrf")
    entered = browser.post(
        urljoin(verification_uri, form_action(page.text)),
        data={"csrf": csrf, "code": user_code.lower()},
        timeout=10,
    )
    assert entered.status_code == 200, entered.text
    signed_in = browser.post(
        urljoin(verification_uri, form_action(entered.text)),
        data={
            "csrf": csrf,
            "ticket": hidden(entered.text, "ticket"),
            "email": email,
            "password": password,
        },
        timeout=30,
    )
    assert signed_in.status_code == 200, signed_in.text
    assert f"Continue as <strong>{email}</strong>" in signed_in.text, signed_in.text
    done = browser.post(
        urljoin(verification_uri, form_action(signed_in.text)),
        data={"csrf": csrf, "ticket": hidden(signed_in.text, "ticket"), "decision": "allow"},
        timeout=10,
    )
    assert done.status_code == 200, done.text
    assert "You have signed in to" in done.text, done.text
