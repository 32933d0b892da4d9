"""Code written for Entra ID and Key Vault, unchanged, against ``keyward serve --azure-hosts``.

Run by interop/azure-hosts/run.sh inside a network namespace whose hosts file sends Microsoft's
names to the server; REQUESTS_CA_BUNDLE holds the Azure-hosts CA. Nothing here names Keyward:
default authorities, no instance_discovery=False, no verify_challenge_resource=False.
"""

import base64
import json
import os

import msal
import pytest
from azure.identity import CertificateCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.secrets import SecretClient
from cryptography.hazmat.primitives import serialization

with open(os.environ["SETUP"], encoding="utf-8") as f:
    SETUP = json.load(f)


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def private_key_pem():
    with open(SETUP["keyPath"], "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=SETUP["passphrase"].encode())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def token_with(authority):
    app = msal.ConfidentialClientApplication(
        SETUP["clientId"],
        authority=authority,
        client_credential={"thumbprint": SETUP["thumbprint"], "private_key": private_key_pem()},
    )
    result = app.acquire_token_for_client(scopes=[SETUP["scope"]])
    assert "access_token" in result, result
    return claims(result["access_token"])


@pytest.mark.parametrize(
    "authority",
    [
        "https://{tenant}.ciamlogin.com/",
        "https://{tenant}.ciamlogin.com",
        "https://login.microsoftonline.com/{tenant}/",
        "https://login.microsoftonline.com/{tenant}.onmicrosoft.com",
        "https://login.microsoftonline.com/{tenant_id}",
    ],
)
def test_msal_python_with_default_authority_forms(authority):
    c = token_with(authority.format(tenant=SETUP["tenant"], tenant_id=SETUP["tenantId"]))
    assert c["tid"] == SETUP["tenantId"]
    assert c["roles"] == ["Tasks.Read.All"]


def test_ciam_token_issuer_follows_the_host_the_client_used():
    c = token_with("https://{}.ciamlogin.com/".format(SETUP["tenant"]))
    assert c["iss"] == "https://{}.ciamlogin.com/{}/v2.0".format(SETUP["tenant"], SETUP["tenantId"])


def test_azure_identity_and_key_vault_with_default_options():
    credential = CertificateCredential(
        SETUP["tenantId"], SETUP["reader"]["clientId"], certificate_path=SETUP["reader"]["bundlePath"]
    )
    secret = SecretClient(SETUP["vaultUrl"], credential).get_secret(SETUP["vaultCertificate"])
    assert "-----BEGIN PRIVATE KEY-----" in secret.value
    certificate = CertificateClient(SETUP["vaultUrl"], credential).get_certificate(SETUP["vaultCertificate"])
    assert certificate.name == SETUP["vaultCertificate"]


MI = SETUP["managedIdentityEnv"]
MI_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_CLIENT_ID")


@pytest.fixture
def no_identity_env(monkeypatch):
    for name in MI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def read_secret_with(credential):
    secret = SecretClient(SETUP["vaultUrl"], credential).get_secret(SETUP["vaultCertificate"])
    assert "-----BEGIN PRIVATE KEY-----" in secret.value
    return claims(credential.get_token("https://vault.azure.net/.default").token)


def test_default_azure_credential_through_app_service_managed_identity(no_identity_env):
    from azure.identity import DefaultAzureCredential

    no_identity_env.setenv("IDENTITY_ENDPOINT", MI["IDENTITY_ENDPOINT"])
    no_identity_env.setenv("IDENTITY_HEADER", MI["IDENTITY_HEADER"])
    c = read_secret_with(DefaultAzureCredential())
    assert c["azp"] == SETUP["reader"]["clientId"]


def test_managed_identity_credential_through_imds(no_identity_env):
    from azure.identity import ManagedIdentityCredential

    no_identity_env.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", MI["AZURE_POD_IDENTITY_AUTHORITY_HOST"])
    c = read_secret_with(ManagedIdentityCredential())
    assert c["azp"] == SETUP["reader"]["clientId"]


def test_a_wrong_identity_header_gets_nothing(no_identity_env):
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ManagedIdentityCredential

    no_identity_env.setenv("IDENTITY_ENDPOINT", MI["IDENTITY_ENDPOINT"])
    no_identity_env.setenv("IDENTITY_HEADER", "0" * 64)
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token("https://vault.azure.net/.default")
