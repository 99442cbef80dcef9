// A real OpenID Connect provider (npm `oidc-provider`) for the test suite.
//
//   OIDC_CLIENT_ID=sportello OIDC_CLIENT_SECRET=s3cret \
//   OIDC_REDIRECT_URIS=http://127.0.0.1:8080/auth/callback \
//   node tests/oidc/provider.mjs
//
// Environment:
//   OIDC_PORT           port to listen on (default 0: any free port)
//   OIDC_HOST           address to listen on (default 127.0.0.1)
//   OIDC_ISSUER         issuer, used verbatim even when it is not the address
//                       listened on (default http://127.0.0.1:<actual port>)
//   OIDC_CLIENT_ID      the one confidential client (default "sportello")
//   OIDC_CLIENT_SECRET  its secret (default "sportello-secret")
//   OIDC_REDIRECT_URIS  its redirect URIs, comma-separated (required)
//
// Once listening it prints exactly one line to stdout, {"issuer":"...","port":N},
// and runs until SIGTERM/SIGINT. Everything else goes to stderr.
//
// Sign-in needs no form: /interaction/:uid signs the "current test account" in
// and grants every requested scope, so a client that follows redirects with a
// cookie jar goes from the authorization endpoint straight to its redirect_uri.
// Test-only endpoints:
//   POST /__test/account  JSON {sub, given_name, family_name, email,
//                         email_verified, fiscal_number} -> 204; becomes the
//                         account that the next sign-in uses
//   GET  /__test/health   -> 200
import * as crypto from 'node:crypto';
import * as http from 'node:http';

// oidc-provider prints its development notices with console.info (stdout):
// send them to stderr so stdout carries only the ready line. This must run
// before the library is loaded, hence the dynamic import below.
console.info = (...args) => console.error(...args);
const { default: Provider, interactionPolicy } = await import('oidc-provider');

const FISCAL_NUMBER = 'https://attributes.eid.gov.it/fiscal_number';

const env = process.env;
const host = env.OIDC_HOST || '127.0.0.1';
const port = Number(env.OIDC_PORT || 0);
const clientId = env.OIDC_CLIENT_ID || 'sportello';
const clientSecret = env.OIDC_CLIENT_SECRET || 'sportello-secret';
const redirectUris = (env.OIDC_REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);
if (redirectUris.length === 0) {
  console.error('OIDC_REDIRECT_URIS is required (comma-separated)');
  process.exit(2);
}

// Accounts by sub; `current` is the one the next sign-in uses.
const accounts = new Map();
let current;
function setAccount(a) {
  const account = {
    sub: String(a.sub),
    given_name: a.given_name,
    family_name: a.family_name,
    email: a.email,
    email_verified: a.email_verified ?? true,
    [FISCAL_NUMBER]: a.fiscal_number ?? a[FISCAL_NUMBER],
  };
  accounts.set(account.sub, account);
  current = account.sub;
}
setAccount({
  sub: 'citizen-1',
  given_name: 'Mario',
  family_name: 'Rossi',
  email: 'mario.rossi@example.org',
  email_verified: true,
  fiscal_number: 'RSSMRA80A01H501U',
});

// RS256 signing key, new at every start.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

// Ask for login again when the test switched the current account, so a
// cookie jar (or browser) that still has a session signs in the new one.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'test_account_changed',
  'the current test account changed',
  (ctx) => (ctx.oidc.session.accountId && ctx.oidc.session.accountId !== current
    ? interactionPolicy.Check.REQUEST_PROMPT
    : interactionPolicy.Check.NO_NEED_TO_PROMPT),
));

function configuration() {
  return {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // client_secret_post is accepted too: oidc-provider treats the two as one.
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    pkce: { required: () => true }, // oidc-provider 9 only knows S256
    scopes: ['openid', 'profile', 'email', 'fiscal_number'],
    claims: {
      openid: ['sub'],
      profile: ['given_name', 'family_name', FISCAL_NUMBER],
      email: ['email', 'email_verified'],
      fiscal_number: [FISCAL_NUMBER], // the custom scope
    },
    conformIdTokenClaims: false, // scope claims go in the ID token itself
    // Explicit lifetimes (seconds), which also silences the library's notices.
    ttl: { AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 3600, IdToken: 3600 },
    features: { devInteractions: { enabled: false } },
    interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ ...account }) };
    },
    async renderError(ctx, out, error) {
      console.error('oidc error page:', out, error?.message);
      ctx.type = 'json';
      ctx.body = out;
    },
  };
}

// Completes any interaction (login, consent, or both) without a form.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session, grantId } = details;
  const result = {};
  let accountId = session?.accountId;
  let reuseGrant = Boolean(grantId);
  if (accountId && accountId !== current) {
    // The test switched accounts: end the old session and detach it from this
    // interaction, or oidc-provider answers with a "sign out?" form instead.
    await (await provider.Session.findByUid(session.uid))?.destroy();
    delete details.session;
    await details.save(details.exp - Math.floor(Date.now() / 1000));
    reuseGrant = false;
  }
  if (prompt.name === 'login' || accountId !== current) {
    accountId = current;
    result.login = { accountId };
  }
  const grant = (reuseGrant && await provider.Grant.find(grantId))
    || new provider.Grant({ accountId, clientId: params.client_id });
  if (params.scope) grant.addOIDCScope(params.scope);
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  result.consent = { grantId: await grant.save() };
  // 303 to the authorization endpoint's resume URL, which redirects on.
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function send(res, status, body) {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

let provider;
let callback;
const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  try {
    if (path === '/__test/health') return send(res, 200, { ok: true });
    if (path === '/__test/account' && req.method === 'POST') {
      const body = await readJson(req).catch(() => null);
      if (typeof body?.sub !== 'string' || body.sub === '') return send(res, 400, { error: 'a JSON body with sub is required' });
      setAccount(body);
      return send(res, 204);
    }
    if (!provider) return send(res, 503, { error: 'starting' });
    if (path.startsWith('/interaction/') && req.method === 'GET') return await interaction(req, res);
    return callback(req, res);
  } catch (err) {
    console.error(`${req.method} ${req.url}:`, err);
    if (!res.headersSent) send(res, 500, { error: String(err?.message ?? err) });
    else res.end();
  }
});

server.listen(port, host, () => {
  const actualPort = server.address().port;
  const issuer = env.OIDC_ISSUER || `http://127.0.0.1:${actualPort}`;
  provider = new Provider(issuer, configuration());
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error']) {
    provider.on(event, (_ctx, err) => console.error(`oidc ${event}:`, err?.message, err?.error_description ?? ''));
  }
  callback = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer, port: actualPort })}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
