// The code of Microsoft Learn's "Use a client certificate ... in your Node.js web app" article
// (External ID, section "Use a self-signed certificate directly from Azure Key Vault", steps 4 to
// 6), as an app runs it: its own process, CommonJS, configuration from the environment.
//
// Changed from the article, and nothing else:
// - DefaultAzureCredential({ disableInstanceDiscovery: true }): the authority is not Microsoft's
//   cloud (AZURE_AUTHORITY_HOST points at Keyward), so MSAL must not ask it for instance discovery;
// - CertificateClient / SecretClient(..., { disableChallengeResourceVerification: true }): the
//   vault's host (localhost) is not under its resource's domain (vault.keyward.localhost);
// - the MSAL configuration's authority comes from AUTHORITY with knownAuthorities (as for any
//   authority that is not login.microsoftonline.com / ciamlogin.com), and the article's web-app
//   sign-in is replaced by a client-credentials token request, which needs no browser;
// - the result is printed as one line for the test to check.
//
// Environment: KEY_VAULT_URL, CERTIFICATE_NAME (the article's), AZURE_TENANT_ID, AZURE_CLIENT_ID,
// AZURE_CLIENT_CERTIFICATE_PATH, AZURE_AUTHORITY_HOST (DefaultAzureCredential's),
// CLIENT_ID, AUTHORITY (the article's msalConfig), KNOWN_AUTHORITY, SCOPE, NODE_EXTRA_CA_CERTS.

const msal = require("@azure/msal-node");

// ---- the article, step 4 ------------------------------------------------------------------------
const identity = require("@azure/identity");
const keyvaultCert = require("@azure/keyvault-certificates");
const keyvaultSecret = require('@azure/keyvault-secrets');

const KV_URL = process.env["KEY_VAULT_URL"] || "ENTER_YOUR_KEY_VAULT_URL"
const CERTIFICATE_NAME = process.env["CERTIFICATE_NAME"] || "ENTER_THE_NAME_OF_YOUR_CERTIFICATE_ON_KEY_VAULT";

// Initialize Azure SDKs
const credential = new identity.DefaultAzureCredential({ disableInstanceDiscovery: true });
const certClient = new keyvaultCert.CertificateClient(KV_URL, credential, { disableChallengeResourceVerification: true });
const secretClient = new keyvaultSecret.SecretClient(KV_URL, credential, { disableChallengeResourceVerification: true });

// ---- the article's msalConfig (authConfig.js), client secret removed ----------------------------
const msalConfig = {
    auth: {
        clientId: process.env.CLIENT_ID || 'Enter_the_Application_Id_Here', // 'Application (client) ID' of app registration in Azure portal - this value is a GUID
        authority: process.env.AUTHORITY || `https://${TENANT_SUBDOMAIN}.ciamlogin.com/`,
        knownAuthorities: [process.env.KNOWN_AUTHORITY],
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
    process.stdout.write(`KEYWARD-RESULT ${JSON.stringify({
        thumbprint,
        privateKey,
        accessToken: result.accessToken,
        expiresOn: result.expiresOn,
    })}\n`);
}

getKeyAndThumbprint();
