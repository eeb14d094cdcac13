// The JWT bearer flow with the real jsforce package: signs an assertion (RS256, with
// Node's crypto) and logs in with `conn.authorize({grant_type, assertion})`.
//
// usage: node jsforce_jwt.js LOGIN_URL CLIENT_ID USERNAME PRIVATE_KEY_FILE
//          -> {"ok":true,"identityUsername":…} or {"ok":false,"name":ERROR,"message":DESCRIPTION}
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const jsforce = require('jsforce');

const b64url = (data) => Buffer.from(data).toString('base64url');

async function main() {
  const [loginUrl, clientId, username, keyFile] = process.argv.slice(2);
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const exp = Math.floor(Date.now() / 1000) + 120;
  const payload = b64url(JSON.stringify({ iss: clientId, sub: username, aud: loginUrl, exp }));
  const signature = crypto.createSign('RSA-SHA256').update(`${header}.${payload}`).sign(fs.readFileSync(keyFile), 'base64url');
  const assertion = `${header}.${payload}.${signature}`;
  const conn = new jsforce.Connection({ oauth2: { loginUrl, clientId }, version: '59.0' });
  try {
    const userInfo = await conn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    const identity = await conn.identity();
    console.log(JSON.stringify({ ok: true, userId: userInfo.id, identityUsername: identity.username }));
  } catch (err) {
    console.log(JSON.stringify({ ok: false, name: err.name, message: err.message }));
  }
}

main();
