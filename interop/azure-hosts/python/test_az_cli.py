"""The Azure CLI from PyPI (azure-cli, in a venv of its own) against ``keyward serve --azure-hosts``:
``az login --service-principal --certificate``, the Resource Manager calls it makes after sign-in,
``az account get-access-token --resource https://vault.azure.net``, then the article's
``DefaultAzureCredential`` finds the Azure CLI's account and reads the vault.

Run by interop/azure-hosts/run.sh, which gives AZ (the az executable) and an AZURE_CONFIG_DIR of
the test's own.
"""

import json
import os
import subprocess

from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from test_azure_hosts import SETUP, claims

AZ = os.environ["AZ"]
READER = SETUP["reader"]


def az(*args):
    done = subprocess.run(
        [AZ, *args, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AZURE_CORE_COLLECT_TELEMETRY": "false", "AZURE_CORE_ONLY_SHOW_ERRORS": "true"},
    )
    assert done.returncode == 0, f"az {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_az_login_service_principal_then_get_access_token_then_default_azure_credential(monkeypatch):
    accounts = az(
        "login", "--service-principal",
        "--username", READER["clientId"],
        "--certificate", READER["bundlePath"],
        "--tenant", SETUP["tenantId"],
    )
    assert accounts and accounts[0]["tenantId"] == SETUP["tenantId"], accounts
    assert accounts[0]["state"] == "Enabled"
    assert accounts[0]["user"]["type"] == "servicePrincipal"

    token = az("account", "get-access-token", "--resource", "https://vault.azure.net")
    assert claims(token["accessToken"])["azp"] == READER["clientId"]
    assert token["tenant"] == SETUP["tenantId"]

    # The article: DefaultAzureCredential with no options and nothing AZURE_* in the
    # environment; its Azure CLI step runs `az account get-access-token`.
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH", "IDENTITY_ENDPOINT",
                 "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", os.path.dirname(AZ) + os.pathsep + os.environ["PATH"])
    secret = SecretClient(SETUP["vaultUrl"], DefaultAzureCredential()).get_secret(SETUP["vaultCertificate"])
    assert "-----BEGIN PRIVATE KEY-----" in secret.value

    # The article's own Node code, as published, with only the CLI's session: its
    # DefaultAzureCredential() reaches the Azure CLI step and reads the vault.
    node_dir = os.path.join(os.path.dirname(__file__), "..", "..", "node")
    article = subprocess.run(
        ["node", os.path.join(node_dir, "azure-hosts", "article", "get-key-and-thumbprint.cjs")],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": os.path.dirname(AZ) + os.pathsep + os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "AZURE_CONFIG_DIR": os.environ["AZURE_CONFIG_DIR"],
            "NODE_EXTRA_CA_CERTS": os.environ["REQUESTS_CA_BUNDLE"],
            "NODE_PATH": os.path.join(node_dir, "node_modules"),
            "KEY_VAULT_URL": SETUP["vaultUrl"],
            "CERTIFICATE_NAME": SETUP["vaultCertificate"],
            "TENANT_SUBDOMAIN": SETUP["tenant"],
            "CLIENT_ID": SETUP["clientId"],
            "SCOPE": SETUP["scope"],
        },
    )
    assert article.returncode == 0, f"{article.stdout}\n{article.stderr}"
    assert "KEYWARD-RESULT " in article.stdout, article.stdout


def test_az_login_with_device_code_through_the_hosted_page(tmp_path):
    import re
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
    from device_page import approve

    env = {
        **os.environ,
        "AZURE_CONFIG_DIR": str(tmp_path / "azure-cli"),
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
    }
    login = subprocess.Popen(
        [AZ, "login", "--use-device-code", "--tenant", SETUP["tenantId"], "--output", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    prompt = ""
    for line in login.stderr:
        prompt += line
        found = re.search(r"open the page (\S+) and enter the code (\S+)", line)
        if found:
            break
    else:
        login.kill()
        raise AssertionError(f"az printed no device code:\n{prompt}")
    url, code = found.group(1), found.group(2)
    assert url.startswith("https://login.microsoftonline.com/"), url
    approve(url, code, SETUP["user"]["email"], SETUP["user"]["password"])
    out, err = login.communicate(timeout=120)
    assert login.returncode == 0, f"{prompt}{err}"
    accounts = json.loads(out)
    assert accounts[0]["user"] == {"name": SETUP["user"]["email"], "type": "user"}, accounts
    assert accounts[0]["tenantId"] == SETUP["tenantId"]

    token = subprocess.run(
        [AZ, "account", "get-access-token", "--resource", "https://vault.azure.net", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert token.returncode == 0, token.stderr
    c = claims(json.loads(token.stdout)["accessToken"])
    assert c["preferred_username"] == SETUP["user"]["email"], c
    assert c["idtyp"] == "user"


def test_az_login_in_a_browser_with_the_auth_code_on_localhost(tmp_path):
    import sys

    # Ending in "&": Python's webbrowser starts it in the background, as it would a desktop
    # browser (a console browser is waited for, and the CLI's loopback server could not answer).
    browser = f"{sys.executable} {os.path.join(os.path.dirname(__file__), 'sign_in_browser.py')} %s &"
    env = {
        **os.environ,
        "AZURE_CONFIG_DIR": str(tmp_path / "azure-cli"),
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "BROWSER": browser,
        "KEYWARD_EMAIL": SETUP["user"]["email"],
        "KEYWARD_PASSWORD": SETUP["user"]["password"],
        "KEYWARD_BROWSER_LOG": str(tmp_path / "browser.log"),
    }
    try:
        login = subprocess.run(
            [AZ, "login", "--tenant", SETUP["tenantId"], "--output", "json"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            timeout=90,
        )
    except subprocess.TimeoutExpired as timeout:
        log = tmp_path / "browser.log"
        raise AssertionError(
            f"az login waited for the browser: {log.read_text() if log.exists() else 'the browser left no trace'}\n"
            f"{timeout.stderr}"
        ) from timeout
    assert login.returncode == 0, f"{login.stdout}\n{login.stderr}"
    accounts = json.loads(login.stdout)
    assert accounts[0]["user"] == {"name": SETUP["user"]["email"], "type": "user"}, accounts
    token = subprocess.run(
        [AZ, "account", "get-access-token", "--resource", "https://vault.azure.net", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert token.returncode == 0, token.stderr
    assert claims(json.loads(token.stdout)["accessToken"])["preferred_username"] == SETUP["user"]["email"]


def test_az_cloud_register_pointing_at_keywards_own_url(tmp_path):
    """The other way to use the Azure CLI: a cloud of its own whose endpoints are Keyward's URL
    (`az cloud register`), trusting the data directory's local CA. `az` reads the cloud's
    metadata from Keyward (`/metadata/endpoints`); MSAL asks login.microsoftonline.com for
    instance discovery, which the hosts file sends to Keyward too (without it:
    `az config set core.instance_discovery=false`)."""
    bundle = tmp_path / "both-cas.pem"
    bundle.write_text(open(os.environ["LOCAL_CA"]).read() + open(os.environ["REQUESTS_CA_BUNDLE"]).read())
    url = os.environ["KEYWARD_URL"]
    env = {
        **os.environ,
        "AZURE_CONFIG_DIR": str(tmp_path / "azure-cli"),
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "REQUESTS_CA_BUNDLE": str(bundle),
    }

    def run(*args):
        done = subprocess.run([AZ, *args, "--output", "json"], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, f"az {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    run("cloud", "register", "--name", "Keyward", "--endpoint-resource-manager", f"{url}/")
    run("cloud", "set", "--name", "Keyward")
    cloud = run("cloud", "show")
    assert cloud["endpoints"]["activeDirectory"].rstrip("/") == url, cloud
    accounts = run(
        "login", "--service-principal",
        "--username", READER["clientId"],
        "--certificate", READER["bundlePath"],
        "--tenant", SETUP["tenantId"],
    )
    assert accounts[0]["cloudName"] == "Keyward" and accounts[0]["tenantId"] == SETUP["tenantId"], accounts
    token = run("account", "get-access-token", "--resource", "https://vault.azure.net")
    assert claims(token["accessToken"])["azp"] == READER["clientId"]
