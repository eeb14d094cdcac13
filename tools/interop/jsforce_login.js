// Logs in with the real jsforce package and prints one JSON line with the outcome.
//
// The API version is JSFORCE_VERSION's (59.0 when unset).
//
// usage: node jsforce_login.js soap  LOGIN_URL USERNAME            (password on stdin)
//        node jsforce_login.js oauth LOGIN_URL USERNAME CLIENT_ID  (password, then client secret, on stdin lines)
//        node jsforce_login.js refresh LOGIN_URL - CLIENT_ID      (refresh token, then client secret, on stdin lines)
'use strict';
const jsforce = require('jsforce');

const version = process.env.JSFORCE_VERSION || '59.0';

// The refresh-token grant twice, as integrations meet it: explicitly through
// `OAuth2.refreshToken`, and automatically when a Connection holding a refresh token
// gets a 401 for a stale access token (jsforce's session-refresh delegate).
async function refresh(loginUrl, clientId, [refreshToken, clientSecret]) {
  const oauth2 = new jsforce.OAuth2({ loginUrl, clientId, clientSecret });
  const explicit = await oauth2.refreshToken(refreshToken);
  const conn = new jsforce.Connection({
    oauth2,
    instanceUrl: explicit.instance_url,
    accessToken: 'stale-access-token',
    refreshToken,
    version,
  });
  let refreshEvents = 0;
  conn.on('refresh', () => { refreshEvents += 1; });
  const identity = await conn.identity();
  return {
    ok: true,
    explicitHasAccessToken: typeof explicit.access_token === 'string' && explicit.access_token.length > 20,
    explicitRefreshToken: explicit.refresh_token === undefined ? null : 'issued',
    refreshEvents,
    identityUsername: identity.username,
  };
}

async function main() {
  const [mode, loginUrl, username, clientId] = process.argv.slice(2);
  const input = require('fs').readFileSync(0, 'utf8').split('\n');
  if (mode === 'refresh') {
    try {
      console.log(JSON.stringify(await refresh(loginUrl, clientId, input)));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, name: err.name, errorCode: err.errorCode, message: err.message }));
    }
    return;
  }
  const password = input[0];
  const options = { loginUrl, version };
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
    const probe = new jsforce.Connection({ instanceUrl: result.instanceUrl, accessToken: token, version });
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
