"""azure-keyvault-certificates and azure-keyvault-secrets (unmodified) against keyward's vault.

The default vault is the server's bare origin. The clients get the vault's challenge, take a token
for ``https://vault.keyward.localhost/.default`` from the authority it names, and need
``verify_challenge_resource=False`` (``localhost`` is not under ``vault.keyward.localhost``); the
credential needs ``authority="https://localhost:PORT"`` and ``disable_instance_discovery=True``.
The CA is trusted through ``REQUESTS_CA_BUNDLE`` (set by conftest) or ``connection_verify=``.

The bootstrap admin (``DATA/admin/``) has every permission on the default vault and makes the
certificates; test apps get exactly what a test grants them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import msal
import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity import CertificateCredential, DefaultAzureCredential
from azure.keyvault.certificates import (
    CertificateClient,
    CertificateContentType,
    CertificatePolicy,
    WellKnownIssuerNames,
)
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import Registry, Server, rand

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "azure-key-vault"
FIXTURE_PFX_THUMBPRINT = "430CB3D0ECCC21A3E991A6B02A877D858F32C5D7"
VAULT_RESOURCE = "https://vault.keyward.localhost"
VERSION = re.compile(r"^[0-9a-f]{32}$")


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    assert path.is_file(), f"fixture {path} is missing: the shared directory must sit beside the clone"
    return path.read_bytes()


def unique(prefix: str) -> str:
    return f"{prefix}-{rand()}"


def sha1_hex(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest().upper()


def openssl(*args: str, input: bytes | None = None) -> bytes:
    done = subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=60)
    assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stderr.decode(errors='replace')}"
    return done.stdout


def der_of_private_key(pem: bytes | str) -> bytes:
    if isinstance(pem, str):
        pem = pem.encode()
    key = serialization.load_pem_private_key(pem, password=None)
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Vault:
    """The default vault, the admin's clients and management helpers."""

    server: Server
    work: Path
    admin_app_id: str
    admin_bundle: Path

    @property
    def url(self) -> str:
        return self.server.url

    def admin_credential(self) -> CertificateCredential:
        return CertificateCredential(
            tenant_id=self.server.tenant_id,
            client_id=self.admin_app_id,
            certificate_path=str(self.admin_bundle),
            authority=self.server.url,
            disable_instance_discovery=True,
        )

    def certificates(self, credential=None, **kwargs) -> CertificateClient:
        return CertificateClient(
            self.url, credential or self.admin_credential(), verify_challenge_resource=False, **kwargs
        )

    def secrets(self, credential=None, **kwargs) -> SecretClient:
        return SecretClient(
            self.url, credential or self.admin_credential(), verify_challenge_resource=False, **kwargs
        )

    def grant(self, app_id: str, certificates: list[str] = (), secrets: list[str] = ()) -> None:
        """`keyward vault grant APPID --certificates ... --secrets ...` (replaces what it had)."""
        args = ["vault", "grant", app_id]
        if certificates:
            args += ["--certificates", ",".join(certificates)]
        if secrets:
            args += ["--secrets", ",".join(secrets)]
        self.server.run(*args)


@pytest.fixture(scope="module")
def vault(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Vault:
    admin = json.loads((server.data / "admin" / "admin.json").read_text())
    assert admin["tenantId"] == server.tenant_id, admin
    work = tmp_path_factory.mktemp("vault")
    bundle = work / "admin-bundle.pem"
    bundle.write_text(
        (server.data / "admin" / "admin.pem").read_text() + (server.data / "admin" / "admin.key").read_text()
    )
    bundle.chmod(0o600)
    return Vault(server, work, admin["appId"], bundle)


# -- shapes --------------------------------------------------------------------------------------

PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\n(.*?)-----END \1-----\n", re.S)


def assert_pem_secret(value: str, cer: bytes) -> str:
    """The contract's PEM secret; returns the key block (what the article's split yields)."""
    assert "\r" not in value
    assert value.startswith("-----BEGIN PRIVATE KEY-----\n"), value[:40]
    assert value.endswith("-----END CERTIFICATE-----\n"), value[-40:]
    blocks, end = [], 0
    for match in PEM_BLOCK.finditer(value):
        assert match.start() == end, f"text between PEM blocks: {value[end:match.start()]!r}"
        end = match.end()
        lines = match.group(2).split("\n")[:-1]
        for i, line in enumerate(lines):
            assert re.fullmatch(r"[A-Za-z0-9+/=]+", line), line
            if i < len(lines) - 1:
                assert len(line) == 64, f"{match.group(1)} line {i} has {len(line)} characters"
            else:
                assert 0 < len(line) <= 64
        blocks.append((match.group(1), base64.b64decode("".join(lines)), match.group(0)))
    assert end == len(value), f"text after the last PEM block: {value[end:]!r}"
    labels = [label for label, _, _ in blocks]
    assert labels[0] == "PRIVATE KEY" and labels[1:] and set(labels[1:]) == {"CERTIFICATE"}, labels
    assert blocks[1][1] == cer, "the PEM secret's certificate is not the certificate"
    key_pem = blocks[0][2]
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    cert = x509.load_der_x509_certificate(cer)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert key_pem == value.split("-----BEGIN CERTIFICATE-----\n")[0]
    return key_pem


def assert_pkcs12_secret(value: str, cer: bytes, work: Path) -> bytes:
    """Standard base64 of a PFX that `openssl pkcs12 -passin pass:` opens; returns the key (DER)."""
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value), "not standard base64"
    pfx = base64.b64decode(value, validate=True)
    assert base64.b64encode(pfx).decode() == value
    path = work / f"{rand()}.pfx"
    path.write_bytes(pfx)
    cert_pem = openssl("pkcs12", "-in", str(path), "-passin", "pass:", "-nokeys", "-clcerts")
    key_pem = openssl("pkcs12", "-in", str(path), "-passin", "pass:", "-nocerts", "-nodes")
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.public_bytes(serialization.Encoding.DER) == cer
    key = serialization.load_pem_private_key(key_pem[key_pem.index(b"-----BEGIN"):], password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    return der_of_private_key(key_pem[key_pem.index(b"-----BEGIN"):])


def assert_certificate(certificate, vault: Vault, name: str) -> tuple[bytes, str]:
    version = certificate.properties.version
    assert VERSION.fullmatch(version), version
    assert certificate.name == name
    assert certificate.id == f"{vault.url}/certificates/{name}/{version}"
    assert certificate.key_id == f"{vault.url}/keys/{name}/{version}"
    assert certificate.secret_id == f"{vault.url}/secrets/{name}/{version}"
    assert certificate.properties.vault_url == vault.url
    cer = bytes(certificate.cer)
    assert certificate.properties.x509_thumbprint.hex().upper() == sha1_hex(cer)
    assert certificate.properties.enabled is True
    return cer, version


# Python's LROPoller never runs the polling method when the first response is already final: if
# the 202 of POST /certificates/{name}/create says "completed", CreateCertificatePoller.run never
# fetches the certificate and poller.result() is None (azure-core LROPoller.__init__ checks
# finished() and sets done without starting the thread). Azure Key Vault answers "inProgress"
# first. The setup helpers below therefore read the certificate back when result() is None; the
# poller itself is checked by test_begin_create_certificate_poller_result.
CREATE_COMPLETED_IN_202 = (
    "server bug: the 202 of POST /certificates/{name}/create says status 'completed', so "
    "azure-keyvault-certificates' begin_create_certificate(...).result() returns None; "
    "Key Vault answers 'inProgress' there and 'completed' from GET .../pending"
)


def create_certificate(vault: Vault, name: str, policy: CertificatePolicy):
    """begin_create_certificate, waited for; the certificate (read back if result() is None)."""
    started = time.monotonic()
    poller = vault.certificates().begin_create_certificate(name, policy)
    certificate = poller.result()
    assert poller.done() and poller.status() == "completed", poller.status()
    assert time.monotonic() - started < 30
    return certificate or vault.certificates().get_certificate(name)


def create_pem_certificate(vault: Vault, name: str, subject: str):
    return create_certificate(
        vault,
        name,
        CertificatePolicy(
            issuer_name=WellKnownIssuerNames.self, subject=subject, content_type=CertificateContentType.pem
        ),
    )


# -- the article's flow in Python ----------------------------------------------------------------


def article_setup(vault: Vault, registry: Registry):
    resource = registry.resource()
    client = registry.client()
    registry.grant(client, resource)
    name = unique("ciam-client-app")
    certificate = create_pem_certificate(vault, name, "CN=ciam-client-app")
    cer, _ = assert_certificate(certificate, vault, name)
    assert x509.load_der_x509_certificate(cer).subject.rfc4514_string() == "CN=ciam-client-app"
    cer_path = vault.work / f"{name}.cer"
    cer_path.write_bytes(cer)
    added = vault.server.app("cert", "add", client["appId"], str(cer_path))
    assert added["customKeyIdentifier"] == sha1_hex(cer), added

    reader = registry.client()
    reader_cert = registry.cert(reader)
    vault.grant(reader["appId"], certificates=["get"], secrets=["get"])
    return resource, client, name, cer, reader, reader_cert


def test_article_flow_with_default_azure_credential(
    vault: Vault, registry: Registry, monkeypatch: pytest.MonkeyPatch
):
    resource, client, name, cer, reader, reader_cert = article_setup(vault, registry)
    server = vault.server

    # DefaultAzureCredential from the environment, as an app deployed with a certificate has it.
    monkeypatch.setenv("AZURE_TENANT_ID", server.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", reader["appId"])
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(reader_cert.pem_with_key()))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", server.url)
    for variable in ("AZURE_CLIENT_SECRET", "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(variable, raising=False)

    credential = DefaultAzureCredential(disable_instance_discovery=True)
    cert_client = CertificateClient(server.url, credential, verify_challenge_resource=False)
    secret_client = SecretClient(server.url, credential, verify_challenge_resource=False)

    # getKeyAndThumbprint, in Python.
    certificate = cert_client.get_certificate(name)
    thumbprint = certificate.properties.x509_thumbprint.hex()
    secret = secret_client.get_secret(name)
    private_key = secret.value.split("-----BEGIN CERTIFICATE-----\n")[0]

    assert thumbprint == sha1_hex(cer).lower()
    assert secret.properties.content_type == "application/x-pem-file"
    assert secret.properties.managed is True
    assert secret.properties.key_id == certificate.key_id
    assert private_key == assert_pem_secret(secret.value, cer)

    app = msal.ConfidentialClientApplication(
        client["appId"],
        authority=f"{server.url}/{server.tenant}",
        client_credential={"private_key": private_key, "thumbprint": thumbprint},
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=[resource["scope"]])
    assert "access_token" in result, result
    server.verify_access_token(
        result["access_token"], resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )


def test_article_flow_with_certificate_credential_and_connection_verify(
    vault: Vault, registry: Registry, monkeypatch: pytest.MonkeyPatch
):
    """The CA given to the clients explicitly instead of through REQUESTS_CA_BUNDLE."""
    resource, client, name, cer, reader, reader_cert = article_setup(vault, registry)
    server = vault.server
    # No CA in the environment at all: requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override
    # a Session's verify (which is how MSAL's verify= is applied), so they must be unset here.
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(variable, raising=False)
    ca = str(server.ca)

    credential = CertificateCredential(
        tenant_id=server.tenant_id,
        client_id=reader["appId"],
        certificate_path=str(reader_cert.pem_with_key()),
        authority=server.url,
        disable_instance_discovery=True,
        connection_verify=ca,
    )
    cert_client = CertificateClient(
        server.url, credential, verify_challenge_resource=False, connection_verify=ca
    )
    secret_client = SecretClient(server.url, credential, verify_challenge_resource=False, connection_verify=ca)
    certificate = cert_client.get_certificate(name)
    secret = secret_client.get_secret(name)
    key_pem = assert_pem_secret(secret.value, cer)

    # MSAL Python with the SHA-256 thumbprint form (PS256): key + certificate, no thumbprint.
    app = msal.ConfidentialClientApplication(
        client["appId"],
        authority=f"{server.url}/{server.tenant}",
        client_credential={
            "private_key": key_pem,
            "public_certificate": secret.value[len(key_pem):],
        },
        instance_discovery=False,
        verify=ca,
    )
    result = app.acquire_token_for_client(scopes=[resource["scope"]])
    assert "access_token" in result, result
    monkeypatch.undo()  # the token check below fetches the JWKS with plain requests
    server.verify_access_token(
        result["access_token"], resource=resource, client=client, roles=["Tasks.Read.All"], azpacr="2"
    )
    assert certificate.properties.x509_thumbprint.hex().upper() == sha1_hex(cer)


# -- certificates --------------------------------------------------------------------------------


def test_begin_create_certificate_poller_result(vault: Vault):
    """What an app writes: begin_create_certificate(...).result() is the new certificate."""
    name = unique("py-poller")
    poller = vault.certificates().begin_create_certificate(
        name, CertificatePolicy(issuer_name=WellKnownIssuerNames.self, subject="CN=poller.example")
    )
    certificate = poller.result()
    if certificate is None:
        pytest.xfail(CREATE_COMPLETED_IN_202)
    assert_certificate(certificate, vault, name)
    assert certificate.policy.subject == "CN=poller.example"


def test_begin_create_certificate_default_policy_is_pkcs12(vault: Vault):
    name = unique("py-created")
    certificate = create_certificate(
        vault, name, CertificatePolicy(issuer_name=WellKnownIssuerNames.self, subject="CN=py.example")
    )
    cer, version = assert_certificate(certificate, vault, name)
    policy = certificate.policy
    assert policy.content_type == CertificateContentType.pkcs12
    assert policy.key_type == "RSA" and policy.key_size == 2048
    assert policy.exportable is True and policy.reuse_key is False
    assert policy.validity_in_months == 12
    assert sorted(policy.enhanced_key_usage) == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]
    assert sorted(policy.key_usage) == ["digitalSignature", "keyEncipherment"]
    [action] = policy.lifetime_actions
    assert action.action == "AutoRenew" and action.lifetime_percentage == 80
    operation = vault.certificates().get_certificate_operation(name)
    assert operation.status == "completed", operation.status

    secret = vault.secrets().get_secret(name)
    assert secret.properties.content_type == "application/x-pkcs12"
    assert secret.properties.managed is True
    assert secret.properties.version == version
    assert_pkcs12_secret(secret.value, cer, vault.work)

    x509_cert = x509.load_der_x509_certificate(cer)
    assert x509_cert.signature_hash_algorithm.name == "sha256"
    assert x509_cert.issuer == x509_cert.subject


def test_import_key_vault_pfx(vault: Vault):
    name = unique("py-kv-pfx")
    pfx = fixture_bytes("generated-by-key-vault.pfx")
    imported = vault.certificates().import_certificate(name, pfx)
    cer, version = assert_certificate(imported, vault, name)
    assert sha1_hex(cer) == FIXTURE_PFX_THUMBPRINT
    assert imported.policy.content_type == CertificateContentType.pkcs12

    secret = vault.secrets().get_secret(name)
    assert secret.properties.content_type == "application/x-pkcs12"
    assert secret.properties.version == version
    key_der = assert_pkcs12_secret(secret.value, cer, vault.work)
    fixture_path = vault.work / "generated-by-key-vault.pfx"
    fixture_path.write_bytes(pfx)
    original = openssl("pkcs12", "-in", str(fixture_path), "-passin", "pass:", "-nocerts", "-nodes")
    assert key_der == der_of_private_key(original[original.index(b"-----BEGIN"):])


def test_import_openssl_pem_with_pem_policy(vault: Vault):
    key_path, cert_path = vault.work / "openssl.key", vault.work / "openssl.crt"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key_path))
    openssl(
        "req", "-new", "-x509", "-key", str(key_path), "-subj", "/CN=py-openssl-pem",
        "-days", "30", "-sha256", "-out", str(cert_path),
    )
    cer = openssl("x509", "-in", str(cert_path), "-outform", "DER")
    name = unique("py-openssl-pem")
    imported = vault.certificates().import_certificate(
        name,
        cert_path.read_bytes() + key_path.read_bytes(),
        policy=CertificatePolicy(issuer_name="Unknown", content_type=CertificateContentType.pem),
    )
    assert bytes(imported.cer) == cer
    secret = vault.secrets().get_secret(name)
    assert secret.properties.content_type == "application/x-pem-file"
    key_pem = assert_pem_secret(secret.value, cer)
    assert der_of_private_key(key_pem) == der_of_private_key(key_path.read_bytes())


def test_soft_delete_recover_purge(vault: Vault):
    certificates, secrets = vault.certificates(), vault.secrets()
    name = unique("py-deleted")
    imported = certificates.import_certificate(name, fixture_bytes("generated-by-key-vault.pfx"))
    value_before = secrets.get_secret(name).value

    deleted = certificates.begin_delete_certificate(name).result()
    assert deleted.name == name
    assert deleted.recovery_id == f"{vault.url}/deletedcertificates/{name}"
    assert deleted.deleted_on is not None and deleted.scheduled_purge_date is not None
    assert round((deleted.scheduled_purge_date - deleted.deleted_on).total_seconds() / 86400) == 90

    with pytest.raises(ResourceNotFoundError):
        certificates.get_certificate(name)
    assert certificates.get_deleted_certificate(name).properties.version == imported.properties.version
    with pytest.raises(ResourceExistsError) as conflict:
        certificates.import_certificate(name, fixture_bytes("generated-by-key-vault.pfx"))
    assert conflict.value.status_code == 409
    assert "ObjectIsDeletedButRecoverable" in str(conflict.value.response.text())

    recovered = certificates.begin_recover_deleted_certificate(name).result()
    assert recovered.properties.version == imported.properties.version
    assert secrets.get_secret(name).value == value_before

    certificates.begin_delete_certificate(name).result()
    certificates.purge_deleted_certificate(name)
    with pytest.raises(ResourceNotFoundError):
        certificates.get_deleted_certificate(name)
    with pytest.raises(ResourceNotFoundError):
        secrets.get_deleted_secret(name)
    again = certificates.import_certificate(name, fixture_bytes("generated-by-key-vault.pfx"))
    assert again.properties.version != imported.properties.version


# -- secrets -------------------------------------------------------------------------------------


def test_secrets_set_get_versions_update_delete(vault: Vault):
    secrets = vault.secrets()
    name = unique("py-secret")
    first = secrets.set_secret(name, "one", content_type="text/plain", tags={"env": "test"})
    assert VERSION.fullmatch(first.properties.version)
    assert first.id == f"{vault.url}/secrets/{name}/{first.properties.version}"
    assert first.value == "one" and first.properties.content_type == "text/plain"
    assert first.properties.tags == {"env": "test"}
    second = secrets.set_secret(name, "two ✓\n")
    assert secrets.get_secret(name).value == "two ✓\n"
    assert secrets.get_secret(name, first.properties.version).value == "one"
    versions = sorted(p.version for p in secrets.list_properties_of_secret_versions(name))
    assert versions == sorted([first.properties.version, second.properties.version])
    assert [p.name for p in secrets.list_properties_of_secrets()].count(name) == 1

    updated = secrets.update_secret_properties(name, first.properties.version, enabled=False, tags={"a": "b"})
    assert updated.enabled is False and updated.tags == {"a": "b"}

    secrets.begin_delete_secret(name).result()
    with pytest.raises(ResourceNotFoundError):
        secrets.get_secret(name)
    with pytest.raises(ResourceExistsError):
        secrets.set_secret(name, "reuse")
    secrets.begin_recover_deleted_secret(name).result()
    assert secrets.get_secret(name).value == "two ✓\n"
    secrets.begin_delete_secret(name).result()
    secrets.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError):
        secrets.get_deleted_secret(name)


def test_no_permission_is_403(vault: Vault, registry: Registry):
    client = registry.client()
    cert = registry.cert(client)
    credential = CertificateCredential(
        tenant_id=vault.server.tenant_id,
        client_id=client["appId"],
        certificate_path=str(cert.pem_with_key()),
        authority=vault.server.url,
        disable_instance_discovery=True,
    )
    with pytest.raises(HttpResponseError) as denied:
        vault.secrets(credential).get_secret(unique("anything"))
    assert denied.value.status_code == 403, denied.value


def test_challenge_without_token(vault: Vault):
    """What both SDKs parse: 401, the authority by tenant GUID and the resource, Key Vault's body."""
    response = requests.get(f"{vault.url}/secrets/{unique('anything')}/?api-version=2026-04-01", timeout=10)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{vault.url}/{vault.server.tenant_id}", resource="{VAULT_RESOURCE}"'
    )
    assert response.json() == {
        "error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}
    }
