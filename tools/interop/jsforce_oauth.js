// The web-server flow with the real jsforce package, in two steps around a browser:
//
// usage: node jsforce_oauth.js url   LOGIN_URL CLIENT_ID REDIRECT_URI   (client secret on stdin)
//          -> {"ok":true,"url":AUTHORIZATION_URL,"verifier":PKCE_VERIFIER}
//        node jsforce_oauth.js token LOGIN_URL CLIENT_ID REDIRECT_URI   (client secret, code, verifier on stdin lines)
//          -> {"ok":true,...} after Connection.authorize(code) at API 66.0, calls with
//             the session it established, and refreshToken(refresh_token)
'use strict';
const jsforce = require('jsforce');

async function main() {
  const [mode, loginUrl, clientId, redirectUri] = process.argv.slice(2);
  const [clientSecret, code, verifier] = require('fs').readFileSync(0, 'utf8').split('\n');
  const oauth2 = new jsforce.OAuth2({ loginUrl, clientId, clientSecret, redirectUri, useVerifier: true });
  if (mode === 'url') {
    const url = oauth2.getAuthorizationUrl({ scope: 'api refresh_token', state: 'from-jsforce' });
    console.log(JSON.stringify({ ok: true, url, verifier: oauth2.codeVerifier }));
    return;
  }
  oauth2.codeVerifier = verifier;
  let step = 'authorize';
  try {
    const conn = new jsforce.Connection({ oauth2, version: '66.0' });
    const userInfo = await conn.authorize(code);
    step = 'identity';
    const identity = await conn.identity();
    step = 'query';
    const contacts = (await conn.query('SELECT COUNT() FROM Contact')).totalSize;
    step = 'refreshToken';
    const refreshed = await oauth2.refreshToken(conn.refreshToken);
    step = 'replay';
    let replay;
    try {
      await oauth2.requestToken(code);
      replay = 'accepted';
    } catch (err) {
      replay = `${err.name}: ${err.message}`;
    }
    // A replayed code revokes what it issued (RFC 6749 §4.1.2).
    let afterReplay;
    try {
      await conn.query('SELECT COUNT() FROM Contact');
      afterReplay = 'accepted';
    } catch (err) {
      afterReplay = err.message;
    }
    console.log(JSON.stringify({
      ok: true,
      hasRefreshToken: typeof conn.refreshToken === 'string' && conn.refreshToken.length > 20,
      userId: userInfo.id,
      organizationId: userInfo.organizationId,
      version: conn.version,
      contacts,
      afterReplay,
      identityUsername: identity.username,
      refreshedHasAccessToken: typeof refreshed.access_token === 'string' && refreshed.access_token.length > 20,
      replay,
    }));
  } catch (err) {
    console.log(JSON.stringify({ ok: false, step, name: err.name, errorCode: err.errorCode, message: err.message }));
  }
}

main();
