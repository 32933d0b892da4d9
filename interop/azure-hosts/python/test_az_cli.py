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
