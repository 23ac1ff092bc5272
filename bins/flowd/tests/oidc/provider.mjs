// A real OpenID provider (panva's oidc-provider) for flowd's social login tests, started by
// bins/flowd/tests/it/oidc_provider.rs. It listens on 127.0.0.1 on an ephemeral port, prints
// exactly one line `{"issuer":"http://127.0.0.1:PORT"}` to stdout, and runs until killed.
//
// Configured by one JSON argument (or the environment variable OIDC_CONFIG):
//   {
//     "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."], ...}],
//     "accounts": {"alice": {"email": "alice@example.com", "email_verified": true, "name": "Alice"}},
//     "mode": {
//       "wrong_jwks": true,          // /jwks serves another RSA public key (same kid): ID token
//                                    // signatures no longer verify
//       "token_delay_ms": 2000,      // the token endpoint answers after this many milliseconds
//       "code_ttl_s": 60,            // lifetime of an authorization code
//       "claims_in_id_token": true,  // the ID token carries the scopes' claims (email, name);
//                                    // by default it carries only sub, the claims are at /me
//       "pkce_required": false       // PKCE (S256 only) is required for every client by default
//     }
//   }
// Clients take any oidc-provider client metadata; token_endpoint_auth_method defaults to
// client_secret_basic (client_secret_post and none are the usual alternatives).
//
// Interactions (no browser needed; the cookies set by /auth must be sent back):
//   GET  /interaction/:uid          JSON: the uid, the prompt and the two URLs below; a
//                                   request whose Accept names text/html (a browser) gets an
//                                   HTML page instead: a form (field `login`, button #sign-in)
//                                   posting to the login URL and a link #abort to the abort URL
//   POST /interaction/:uid/login    form `login=<account>`: signs in and grants every requested
//                                   scope at once (no consent page); 303 back to /auth/:uid
//   GET|POST /interaction/:uid/abort  303 back to /auth/:uid, which redirects to the client
//                                   with error=access_denied&state=...
// Plain OAuth2 (GitHub-like): GET /oauth/user with `Authorization: Bearer <access token>`
// answers the account's claims whatever the token's scope (/me requires the openid scope),
// without `email` (GitHub's private-address case); GET /oauth/user/emails answers GitHub's
// list: [{email, primary: true, verified: <email_verified>}].

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const raw = process.argv[2] ?? process.env.OIDC_CONFIG;
if (!raw) {
  console.error('usage: node provider.mjs \'{"clients":[...],"accounts":{...},"mode":{...}}\' (or OIDC_CONFIG)');
  process.exit(2);
}
const config = JSON.parse(raw);
const accounts = config.accounts ?? {};
const mode = config.mode ?? {};

function rsaKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

const kid = 'flowd-test-key';
const signingKey = rsaKey(kid);
// For mode.wrong_jwks: the public half of another key, under the signing key's kid.
const wrongJwks = mode.wrong_jwks
  ? (({ d, p, q, dp, dq, qi, ...pub }) => ({ keys: [pub] }))(rsaKey(kid))
  : undefined;

function claimsOf(login) {
  const account = accounts[login];
  return { ...account, sub: login, preferred_username: account.preferred_username ?? login };
}

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    ...client,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  conformIdTokenClaims: !mode.claims_in_id_token,
  pkce: { required: () => mode.pkce_required !== false },
  features: {
    devInteractions: { enabled: false },
  },
  async findAccount(_ctx, sub) {
    if (!Object.hasOwn(accounts, sub)) {
      return undefined;
    }
    return {
      accountId: sub,
      async claims() {
        return claimsOf(sub);
      },
    };
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: mode.code_ttl_s ?? 60,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The interaction for a browser: sign in as an account (for the login prompt; a consent prompt
// only asks to continue), or cancel.
function loginPage(ctx, { uid, prompt, clientId }) {
  const login = escapeHtml(`/interaction/${uid}/login`);
  const abort = escapeHtml(`/interaction/${uid}/abort`);
  const field = prompt === 'login'
    ? '<p><label for="login">Account</label> <input id="login" name="login" autocomplete="username" required autofocus></p>'
    : '';
  ctx.status = 200;
  ctx.type = 'html';
  ctx.body = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in at the test provider</title></head>
<body>
<main>
<h1>Sign in at the test provider</h1>
<p>Client <code>${escapeHtml(clientId)}</code> asks you to sign in (${escapeHtml(prompt)}).</p>
<form method="post" action="${login}">
${field}
<p><button id="sign-in" type="submit">${prompt === 'login' ? 'Sign in' : 'Continue'}</button></p>
</form>
<p><a id="abort" href="${abort}">Cancel</a></p>
</main>
</body>
</html>
`;
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'json';
  ctx.body = body;
}

// Runs before oidc-provider's own routes.
provider.use(async (ctx, next) => {
  if (wrongJwks && ctx.path === '/jwks') {
    ctx.type = 'application/jwk-set+json';
    ctx.body = wrongJwks;
    return;
  }
  if (mode.token_delay_ms && ctx.path === '/token') {
    await new Promise((resolve) => { setTimeout(resolve, mode.token_delay_ms); });
  }
  if ((ctx.path === '/oauth/user' || ctx.path === '/oauth/user/emails') && ctx.method === 'GET') {
    const header = ctx.get('authorization');
    const token = header.startsWith('Bearer ')
      ? await provider.AccessToken.find(header.slice('Bearer '.length))
      : undefined;
    if (!token || !Object.hasOwn(accounts, token.accountId)) {
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      json(ctx, 401, { error: 'invalid_token' });
      return;
    }
    const claims = claimsOf(token.accountId);
    if (ctx.path === '/oauth/user/emails') {
      json(ctx, 200, [
        { email: 'old-' + claims.email, primary: false, verified: true },
        { email: claims.email, primary: true, verified: claims.email_verified === true },
      ]);
      return;
    }
    const { email, email_verified, ...user } = claims;
    json(ctx, 200, user);
    return;
  }
  const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?$/.exec(ctx.path);
  if (!match) {
    await next();
    return;
  }
  const [, uid, action] = match;
  ctx.set('Cache-Control', 'no-store');
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    json(ctx, 400, { error: 'invalid_interaction', error_description: String(error.message) });
    return;
  }
  if (details.uid !== uid) {
    json(ctx, 400, { error: 'invalid_interaction', error_description: 'uid mismatch' });
    return;
  }
  if (action === undefined && ctx.method === 'GET') {
    if ((ctx.get('accept') || '').includes('text/html')) {
      loginPage(ctx, { uid, prompt: details.prompt.name, clientId: details.params.client_id });
      return;
    }
    json(ctx, 200, {
      uid,
      prompt: details.prompt.name,
      client_id: details.params.client_id,
      login: `/interaction/${uid}/login`,
      abort: `/interaction/${uid}/abort`,
    });
    return;
  }
  if (action === 'abort' && (ctx.method === 'GET' || ctx.method === 'POST')) {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return;
  }
  if (action === 'login' && ctx.method === 'POST') {
    const { prompt, params, session, grantId } = details;
    const result = {};
    let accountId;
    if (prompt.name === 'login') {
      accountId = (await formBody(ctx.req)).get('login') ?? '';
      if (!Object.hasOwn(accounts, accountId)) {
        json(ctx, 400, { error: 'unknown_account', error_description: `no account ${accountId}` });
        return;
      }
      result.login = { accountId };
    } else {
      accountId = session.accountId;
    }
    // Consent is granted at once, for every scope and claim asked for.
    const grant = (grantId && await provider.Grant.find(grantId))
      || new provider.Grant({ accountId, clientId: params.client_id });
    if (params.scope) {
      grant.addOIDCScope(params.scope);
    }
    if (prompt.details.missingOIDCClaims) {
      grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    }
    for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
    result.consent = { grantId: await grant.save() };
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return;
  }
  json(ctx, 405, { error: 'method_not_allowed' });
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => { process.exit(0); });
}
