// The test's program for managed identity (not the article's code): the credential the
// environment gives (MODE=default: DefaultAzureCredential; MODE=managed: ManagedIdentityCredential)
// reads a secret from the vault at VAULT_URL, as an app on Azure would with no secret or
// certificate in its environment. Prints the token's client id for the test.
const identity = require("@azure/identity");
const { SecretClient } = require("@azure/keyvault-secrets");

const credential =
  process.env.MODE === "managed" ? new identity.ManagedIdentityCredential() : new identity.DefaultAzureCredential();
new SecretClient(process.env.VAULT_URL, credential)
  .getSecret(process.env.SECRET_NAME)
  .then(async (secret) => {
    const token = await credential.getToken("https://vault.azure.net/.default");
    const claims = JSON.parse(Buffer.from(token.token.split(".")[1], "base64url").toString("utf8"));
    process.stdout.write(`KEYWARD-RESULT ${JSON.stringify({ azp: claims.azp, hasKey: secret.value.includes("PRIVATE KEY") })}\n`);
  })
  .catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
