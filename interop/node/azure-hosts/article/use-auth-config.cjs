// The test's driver for the article's authConfig.js (not the article's code): loads the filled-in
// configuration as the article's app does and asks for a token with its certificate (the
// article's web app would sign a user in, which needs a browser), printing it for the test.
const msal = require("@azure/msal-node");
const { msalConfig } = require(process.argv[2]);

new msal.ConfidentialClientApplication(msalConfig)
    .acquireTokenByClientCredential({ scopes: [process.env.SCOPE] })
    .then((result) => process.stdout.write(`KEYWARD-RESULT ${JSON.stringify({ accessToken: result.accessToken })}\n`))
    .catch((e) => { console.error(e); process.exit(1); });
