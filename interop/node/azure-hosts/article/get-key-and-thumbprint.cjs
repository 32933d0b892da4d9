// The article's Key Vault code ("Use a self-signed certificate directly from Azure Key Vault",
// steps 4 to 6) as published: DefaultAzureCredential with no options, the Key Vault clients with
// no options, the article's msalConfig with its ciamlogin.com authority. Unlike
// interop/node/tests/article/, nothing is changed for Keyward: the Azure host names mode answers
// as login.microsoftonline.com, TENANT.ciamlogin.com and VAULT.vault.azure.net.
//
// Environment (what the code and its libraries read): KEY_VAULT_URL, CERTIFICATE_NAME,
// TENANT_SUBDOMAIN, CLIENT_ID (the article's), AZURE_TENANT_ID, AZURE_CLIENT_ID,
// AZURE_CLIENT_CERTIFICATE_PATH (DefaultAzureCredential's), NODE_EXTRA_CA_CERTS. The test's
// part, at the end, asks for a token (the article's web app would sign a user in) and prints it.

const msal = require("@azure/msal-node");

// ---- the article, step 4 ------------------------------------------------------------------------
const identity = require("@azure/identity");
const keyvaultCert = require("@azure/keyvault-certificates");
const keyvaultSecret = require('@azure/keyvault-secrets');

const KV_URL = process.env["KEY_VAULT_URL"] || "ENTER_YOUR_KEY_VAULT_URL"
const CERTIFICATE_NAME = process.env["CERTIFICATE_NAME"] || "ENTER_THE_NAME_OF_YOUR_CERTIFICATE_ON_KEY_VAULT";

// Initialize Azure SDKs
const credential = new identity.DefaultAzureCredential();
const certClient = new keyvaultCert.CertificateClient(KV_URL, credential);
const secretClient = new keyvaultSecret.SecretClient(KV_URL, credential);

const TENANT_SUBDOMAIN = process.env.TENANT_SUBDOMAIN || 'Enter_the_Tenant_Subdomain_Here';
const msalConfig = {
    auth: {
        clientId: process.env.CLIENT_ID || 'Enter_the_Application_Id_Here', // 'Application (client) ID' of app registration in Azure portal - this value is a GUID
        authority: process.env.AUTHORITY || `https://${TENANT_SUBDOMAIN}.ciamlogin.com/`, // replace "Enter_the_Tenant_Subdomain_Here" with your tenant name
    },
};

async function getKeyAndThumbprint() {

    // Grab the certificate thumbprint
    const certResponse = await certClient.getCertificate(CERTIFICATE_NAME).catch(err => console.log(err));
    const thumbprint = certResponse.properties.x509Thumbprint.toString('hex')

    // When you upload a certificate to Key Vault, a secret containing your private key is automatically created
    const secretResponse = await secretClient.getSecret(CERTIFICATE_NAME).catch(err => console.log(err));;

    // secretResponse contains both public and private key, but we only need the private key
    const privateKey = secretResponse.value.split('-----BEGIN CERTIFICATE-----\n')[0]

    // ---- the article, step 5 --------------------------------------------------------------------
    let clientCert = {
        thumbprint: thumbprint,
        privateKey: privateKey,
    };

    msalConfig.auth.clientCertificate = clientCert; //For this to work, you can't declares your msalConfig using const modifier

    // ---- the article, step 6 (getMsalInstance) --------------------------------------------------
    const cca = new msal.ConfidentialClientApplication(msalConfig);

    // ---- the test's part: a token with that credential, printed for the test ---------------------
    const result = await cca.acquireTokenByClientCredential({ scopes: [process.env.SCOPE] });
    process.stdout.write(`KEYWARD-RESULT ${JSON.stringify({ thumbprint, accessToken: result.accessToken })}\n`);
}

getKeyAndThumbprint();
