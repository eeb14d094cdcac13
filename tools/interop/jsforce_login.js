// Logs in with the real jsforce package and prints one JSON line with the outcome.
//
// usage: node jsforce_login.js soap  LOGIN_URL USERNAME            (password on stdin)
//        node jsforce_login.js oauth LOGIN_URL USERNAME CLIENT_ID  (password, then client secret, on stdin lines)
'use strict';
const jsforce = require('jsforce');

async function main() {
  const [mode, loginUrl, username, clientId] = process.argv.slice(2);
  const input = require('fs').readFileSync(0, 'utf8').split('\n');
  const password = input[0];
  const options = { loginUrl, version: '59.0' };
  if (mode === 'oauth') {
    options.oauth2 = new jsforce.OAuth2({ loginUrl, clientId, clientSecret: input[1] });
  }
  const conn = new jsforce.Connection(options);
  try {
    const info = await conn.login(username, password);
    const identity = await conn.identity();
    const result = {
      ok: true,
      userId: info.id,
      organizationId: info.organizationId,
      instanceUrl: conn.instanceUrl,
      hasAccessToken: typeof conn.accessToken === 'string' && conn.accessToken.length > 20,
      identityUsername: identity.username,
      identityUserId: identity.user_id,
    };
    const token = conn.accessToken;
    await conn.logout();
    // After logout the old token must be dead: ask the identity URL with it directly.
    const probe = new jsforce.Connection({ instanceUrl: result.instanceUrl, accessToken: token, version: '59.0' });
    try {
      await probe.request(`${result.instanceUrl}/id/${info.organizationId}/${info.id}`);
      result.afterLogout = 'still valid';
    } catch (err) {
      result.afterLogout = err.errorCode || err.name;
    }
    console.log(JSON.stringify(result));
  } catch (err) {
    console.log(JSON.stringify({ ok: false, name: err.name, errorCode: err.errorCode, message: err.message }));
  }
}

main();
