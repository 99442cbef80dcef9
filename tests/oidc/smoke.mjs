// Smoke test of tests/oidc/provider.mjs: node tests/oidc/smoke.mjs
// Starts the provider, signs in through the authorization code flow with PKCE
// (following redirects by hand with a cookie jar), swaps the code for tokens
// with client_secret_basic and checks the ID token; then checks that
// OIDC_ISSUER overrides the issuer. Prints "N passed, N failed".
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const here = new URL('./provider.mjs', import.meta.url).pathname;
const FISCAL = 'https://attributes.eid.gov.it/fiscal_number';
const REDIRECT = 'http://127.0.0.1:9/callback'; // nothing listens: we only read Location
let passed = 0;
let failed = 0;
function check(what, ok, detail = '') {
  if (ok) passed += 1; else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : ` ${detail}`}`);
}

// Starts the provider and waits for its one JSON line.
async function start(extraEnv = {}) {
  const child = spawn(process.execPath, [here], {
    env: { ...process.env, OIDC_CLIENT_ID: 'web', OIDC_CLIENT_SECRET: 'secret', OIDC_REDIRECT_URIS: REDIRECT, ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  return { child, ...JSON.parse(line) };
}

async function stop(child) {
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  check('SIGTERM exits with 0', code === 0, `code ${code}`);
}

// GETs url and follows redirects with a cookie jar until one leaves the base.
async function follow(url, base) {
  const jar = new Map();
  const hops = [];
  for (let i = 0; i < 10; i += 1) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const location = res.headers.get('location');
    hops.push(`${res.status} ${new URL(url).pathname}`);
    if (!location) throw new Error(`no redirect at ${url}: ${res.status} ${await res.text()}`);
    url = new URL(location, url).href;
    if (!url.startsWith(base)) return { url, hops };
  }
  throw new Error(`too many redirects: ${hops}`);
}

// Signs in: authorization request with PKCE S256, state and nonce, redirects
// followed to the redirect_uri, code swapped with client_secret_basic.
// Returns the ID token's header and claims (signature checked on the jwks).
async function signIn(base, disco, scope) {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const state = crypto.randomBytes(8).toString('hex');
  const nonce = crypto.randomBytes(8).toString('hex');
  const auth = new URL(disco.authorization_endpoint);
  Object.entries({
    response_type: 'code', client_id: 'web', redirect_uri: REDIRECT, scope,
    state, nonce, code_challenge: crypto.hash('sha256', verifier, 'base64url'), code_challenge_method: 'S256',
  }).forEach(([k, v]) => auth.searchParams.set(k, v));
  const { url, hops } = await follow(auth.href, base);
  console.log('hops', hops.join(' -> '), '->', url);
  const back = new URL(url);
  check('redirected to redirect_uri with code, state and iss', url.startsWith(REDIRECT)
    && back.searchParams.get('code') && back.searchParams.get('state') === state
    && back.searchParams.get('iss') === disco.issuer, url);

  const tokenRes = await fetch(disco.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('web:secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: REDIRECT, code_verifier: verifier }),
  });
  const tokens = await tokenRes.json();
  check('token endpoint with client_secret_basic', tokenRes.status === 200 && tokens.id_token, JSON.stringify(tokens));
  const [h, p, s] = tokens.id_token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  console.log('id_token header', JSON.stringify(header));
  console.log('id_token claims', JSON.stringify(claims));
  check('id_token nonce', claims.nonce === nonce);
  const jwks = await (await fetch(disco.jwks_uri)).json();
  const key = crypto.createPublicKey({ key: jwks.keys.find((k) => k.kid === header.kid), format: 'jwk' });
  check('id_token signature verifies', crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')));
  return { header, claims };
}

// 1. The full flow against the default issuer.
{
  const { child, issuer, port } = await start();
  check('issuer defaults to http://127.0.0.1:<port>', issuer === `http://127.0.0.1:${port}`, issuer);
  check('health', (await fetch(`${issuer}/__test/health`)).status === 200);
  const disco = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  console.log('discovery', JSON.stringify({
    issuer: disco.issuer,
    authorization_endpoint: disco.authorization_endpoint,
    token_endpoint: disco.token_endpoint,
    jwks_uri: disco.jwks_uri,
    userinfo_endpoint: disco.userinfo_endpoint,
    token_endpoint_auth_methods_supported: disco.token_endpoint_auth_methods_supported,
    code_challenge_methods_supported: disco.code_challenge_methods_supported,
    scopes_supported: disco.scopes_supported,
    claims_supported: disco.claims_supported,
  }));
  check('discovery issuer', disco.issuer === issuer);
  const jwks = await (await fetch(disco.jwks_uri)).json();
  check('jwks has one RS256 key', jwks.keys.length === 1 && jwks.keys[0].alg === 'RS256' && jwks.keys[0].kty === 'RSA');

  // Sign in as a second account set through the test endpoint.
  const set = await fetch(`${issuer}/__test/account`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'citizen-2', given_name: 'Anna', family_name: 'Bianchi', email: 'anna@example.org', email_verified: true, fiscal_number: 'BNCNNA85M41F205X' }),
  });
  check('POST /__test/account is 204', set.status === 204);

  const { claims, header } = await signIn(issuer, disco, 'openid profile email');
  check('id_token is RS256 with the jwks kid', header.alg === 'RS256' && header.kid === jwks.keys[0].kid);
  check('id_token claims', claims.iss === issuer && claims.aud === 'web'
    && claims.sub === 'citizen-2' && claims.given_name === 'Anna' && claims.family_name === 'Bianchi'
    && claims.email === 'anna@example.org' && claims.email_verified === true && claims[FISCAL] === 'BNCNNA85M41F205X');
  await stop(child);
}

// 2. OIDC_ISSUER is used verbatim although the provider listens elsewhere.
{
  const { child, issuer, port } = await start({ OIDC_ISSUER: 'http://issuer.invalid/realm' });
  check('OIDC_ISSUER printed', issuer === 'http://issuer.invalid/realm');
  const disco = await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json();
  console.log('discovery with OIDC_ISSUER', JSON.stringify({ issuer: disco.issuer, authorization_endpoint: disco.authorization_endpoint, jwks_uri: disco.jwks_uri }));
  check('discovery issuer is OIDC_ISSUER', disco.issuer === 'http://issuer.invalid/realm');
  // Endpoints stay on the address listened on, so the flow still works.
  const { claims } = await signIn(`http://127.0.0.1:${port}`, disco, 'openid profile email');
  check('id_token iss is OIDC_ISSUER, default account', claims.iss === 'http://issuer.invalid/realm'
    && claims.sub === 'citizen-1' && claims.given_name === 'Mario' && claims.family_name === 'Rossi'
    && claims.email === 'mario.rossi@example.org' && claims[FISCAL] === 'RSSMRA80A01H501U');
  await stop(child);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
