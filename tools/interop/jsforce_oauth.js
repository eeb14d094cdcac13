// The web-server flow with the real jsforce package, in two steps around a browser:
//
// usage: node jsforce_oauth.js url   LOGIN_URL CLIENT_ID REDIRECT_URI   (client secret on stdin)
//          -> {"ok":true,"url":AUTHORIZATION_URL,"verifier":PKCE_VERIFIER}
//        node jsforce_oauth.js token LOGIN_URL CLIENT_ID REDIRECT_URI   (client secret, code, verifier on stdin lines)
//          -> {"ok":true,...} after requestToken(code), a call with the access token,
//             and refreshToken(refresh_token)
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
  try {
    const tokens = await oauth2.requestToken(code);
    const conn = new jsforce.Connection({
      oauth2,
      instanceUrl: tokens.instance_url,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      version: '59.0',
    });
    const identity = await conn.identity();
    const refreshed = await oauth2.refreshToken(tokens.refresh_token);
    let replay;
    try {
      await oauth2.requestToken(code);
      replay = 'accepted';
    } catch (err) {
      replay = `${err.name}: ${err.message}`;
    }
    console.log(JSON.stringify({
      ok: true,
      scope: tokens.scope,
      hasRefreshToken: typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 20,
      identityUsername: identity.username,
      refreshedHasAccessToken: typeof refreshed.access_token === 'string' && refreshed.access_token.length > 20,
      replay,
    }));
  } catch (err) {
    console.log(JSON.stringify({ ok: false, name: err.name, errorCode: err.errorCode, message: err.message }));
  }
}

main();
