// A certified OpenID Provider (panva's oidc-provider) configured the way the
// stepup interop tests need it, with a non-interactive login driver in place
// of a login page. The Go tests start it as a subprocess:
//
//   INTEROP_PROVIDER='{"port":0,"audience":"https://api.interop.test"}' node provider.mjs
//
// Configuration (JSON in the INTEROP_PROVIDER environment variable, every
// member optional):
//
//   port      TCP port on 127.0.0.1; 0 (default) picks a free one. The issuer
//             is http://127.0.0.1:PORT.
//   audience  the resource indicator of the API (default
//             https://api.interop.test): JWT access tokens (typ at+jwt) are
//             issued for it, signed ES256.
//   opaque    true: the access tokens issued for the audience are opaque
//             (the resource server's accessTokenFormat "opaque") instead of
//             JWTs; the API reads them at the introspection endpoint.
//   scopes    the API's scopes (default ["accounts", "transfer", "admin"]).
//   keys      the signing keys, private JWKs (ES256 / P-256), first one signs;
//             default: one key generated with jose. Restarting the provider
//             on the same port with [new, old] and then [new] rotates keys.
//   ttl       access token lifetime in seconds (default 600).
//   dpopNonces  true: the token endpoint demands a DPoP nonce of its own
//             (features.dPoP.nonceSecret and requireNonce, RFC 9449 §8).
//   tls       {"cert": PATH, "key": PATH}, PEM files: serve HTTPS (the issuer
//             is then https://127.0.0.1:PORT), asking every client for a
//             certificate without requiring one or checking its issuer.
//
// Sender-constrained tokens: a token request with a DPoP proof (features.dPoP,
// RFC 9449) gets an access token bound to the proof's key, cnf.jkt, token
// type DPoP, for every client and grant. The client interop-mtls-service
// (tls_client_certificate_bound_access_tokens, features.mTLS with
// certificateBoundAccessTokens, RFC 8705) gets its tokens bound to the TLS
// client certificate it presented at the token endpoint, cnf.x5t#S256; it
// needs the tls configuration, as a token request without a certificate is
// refused.
//
// Introspection and revocation (features.introspection, RFC 7662;
// features.revocation, RFC 7009) are on. Only the confidential client
// interop-api (client_secret_basic, no grants: the API's own credentials)
// learns about a token at /token/introspection, and only about tokens
// issued for the audience; any other caller is told active false. The
// answer carries the token's extra claims, acr, amr and auth_time of the
// login included (RFC 9470 §6.2). A client revokes its own tokens at
// /token/revocation.
//
// When it listens, it prints one line to stdout: "ready ISSUER". It exits when
// its standard input closes (the test that started it went away) or on
// SIGTERM / SIGINT.
//
// Login driver: the authorization endpoint's interactions are answered by
// GET /interaction/:uid without a page. It logs in the login_hint (default
// "alice") at
//   - the acr in the extra authorization parameter interop_acr, else
//   - the first value of acr_values that this provider supports, else
//   - the acr of the current session (a re-login keeps its level), else
//   - the lowest level, ACR_PASSWORD;
// with the amr in interop_amr (space separated) or the one of that acr, and
// at the time in interop_auth_time (epoch seconds, to backdate a login) or
// now. Consent is granted for everything the client asked. The test acts as
// the browser: it follows the redirects with a cookie jar.
//
// Other endpoints: GET /interop/stats answers {"jwks": N, "signingKid": KID},
// N being the number of JWKS requests this process has served.

import { createServer } from 'node:http';
import { createServer as createTLSServer } from 'node:https';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const ACR_PASSWORD = 'urn:interop:acr:password';
const ACR_MULTI_FACTOR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
const ACR_PHISHING_RESISTANT = 'http://schemas.openid.net/pape/policies/2007/06/phishing-resistant';

// The amr (RFC 8176) of a login at each acr, lowest level first.
const AMR_BY_ACR = new Map([
  [ACR_PASSWORD, ['pwd']],
  [ACR_MULTI_FACTOR, ['pwd', 'otp', 'mfa']],
  [ACR_PHISHING_RESISTANT, ['pwd', 'hwk']],
]);

const APP_CLIENT = 'interop-app';
const SERVICE_CLIENT = 'interop-service';
const SERVICE_SECRET = 'interop-service-secret';
const MTLS_CLIENT = 'interop-mtls-service';
const MTLS_SECRET = 'interop-mtls-service-secret';
const API_CLIENT = 'interop-api';
const API_SECRET = 'interop-api-secret';
const REDIRECT_URI = 'http://127.0.0.1/callback';

function fail(message) {
  process.stderr.write(`provider: ${message}\n`);
  process.exit(1);
}

function readConfig() {
  let cfg = {};
  const raw = process.env.INTEROP_PROVIDER;
  if (raw) {
    try {
      cfg = JSON.parse(raw);
    } catch (err) {
      fail(`INTEROP_PROVIDER is not JSON: ${err.message}`);
    }
  }
  return {
    port: Number.isInteger(cfg.port) ? cfg.port : 0,
    audience: cfg.audience || 'https://api.interop.test',
    scopes: Array.isArray(cfg.scopes) ? cfg.scopes : ['accounts', 'transfer', 'admin'],
    keys: Array.isArray(cfg.keys) ? cfg.keys : [],
    ttl: Number.isInteger(cfg.ttl) ? cfg.ttl : 600,
    opaque: cfg.opaque === true,
    dpopNonces: cfg.dpopNonces === true,
    tls: cfg.tls || null,
  };
}

async function signingKeys(keys) {
  if (keys.length > 0) return keys;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return [{ ...jwk, kid: `generated-${randomBytes(6).toString('hex')}`, alg: 'ES256', use: 'sig' }];
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

// loginFor returns the login result the driver completes an interaction with.
function loginFor(params, session) {
  const requested = String(params.acr_values || '').split(' ').filter((v) => AMR_BY_ACR.has(v));
  const acr = params.interop_acr || requested[0] || session?.acr || ACR_PASSWORD;
  const amr = params.interop_amr ? String(params.interop_amr).split(' ') : (AMR_BY_ACR.get(acr) || ['pwd']);
  const ts = params.interop_auth_time ? Number(params.interop_auth_time) : Math.floor(Date.now() / 1000);
  if (!Number.isInteger(ts)) throw new Error(`interop_auth_time ${params.interop_auth_time} is not epoch seconds`);
  return {
    accountId: params.login_hint || session?.accountId || 'alice',
    acr,
    amr,
    ts,
    remember: true,
  };
}

// consentFor grants everything the consent prompt says is missing.
async function consentFor(provider, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details || {};
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return { grantId: await grant.save() };
}

async function main() {
  const cfg = readConfig();
  const keys = await signingKeys(cfg.keys);
  const server = cfg.tls
    // rejectUnauthorized: false takes any client certificate, self-signed
    // ones included (RFC 8705 §3 binds a token to a certificate whatever
    // its issuer), and requests without one, such as the JWKS fetches.
    ? createTLSServer({
      cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key), requestCert: true, rejectUnauthorized: false,
    })
    : createServer();
  const port = await listen(server, cfg.port);
  const issuer = `${cfg.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: APP_CLIENT,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: SERVICE_CLIENT,
        client_secret: SERVICE_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: MTLS_CLIENT,
        client_secret: MTLS_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
        id_token_signed_response_alg: 'ES256',
        tls_client_certificate_bound_access_tokens: true,
      },
      {
        client_id: API_CLIENT,
        client_secret: API_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [],
        grant_types: [],
        response_types: [],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    acrValues: [...AMR_BY_ACR.keys()],
    extraParams: ['interop_acr', 'interop_amr', 'interop_auth_time'],
    scopes: ['openid', 'offline_access', ...cfg.scopes],
    pkce: { required: () => true },
    ttl: { AccessToken: cfg.ttl, ClientCredentials: cfg.ttl },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // RFC 7662 §4: the authorization server decides who may learn
        // about which token. Here the API, about its own tokens.
        allowedPolicy: (_ctx, client, token) => client.clientId === API_CLIENT
          && [token.aud].flat().includes(cfg.audience),
      },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => client.clientId === token.clientId,
      },
      dPoP: {
        enabled: true,
        ...(cfg.dpopNonces ? { nonceSecret: randomBytes(32), requireNonce: () => true } : {}),
      },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        // The certificate of the TLS connection, when there is one; the
        // provider terminates TLS itself, no proxy header is read.
        getCertificate: (ctx) => {
          const peer = typeof ctx.socket.getPeerCertificate === 'function' ? ctx.socket.getPeerCertificate() : null;
          return peer?.raw ? new X509Certificate(peer.raw) : undefined;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => cfg.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== cfg.audience) throw new Provider.errors.InvalidTarget();
          return {
            scope: cfg.scopes.join(' '),
            audience: cfg.audience,
            accessTokenTTL: cfg.ttl,
            ...(cfg.opaque
              ? { accessTokenFormat: 'opaque' }
              : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
          };
        },
      },
    },
    // acr, amr and auth_time of the login travel with the authorization code
    // and the refresh token; copy them into the JWT access token (RFC 9068
    // §2.2.1), or into the opaque one's stored extra claims, which the
    // introspection answer includes. client_credentials tokens have no
    // login: nothing is added.
    extraTokenClaims: (ctx) => {
      const e = ctx.oidc.entities;
      const login = e.AuthorizationCode || e.RefreshToken || e.RotatedRefreshToken;
      if (!login) return undefined;
      return { acr: login.acr, amr: login.amr, auth_time: login.authTime };
    },
  });

  let jwksRequests = 0;
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/jwks') jwksRequests += 1;
    if (ctx.method === 'GET' && ctx.path === '/interop/stats') {
      ctx.body = { jwks: jwksRequests, signingKid: keys[0].kid };
      return;
    }
    if (ctx.method !== 'GET' || !/^\/interaction\/[\w-]+$/.test(ctx.path)) {
      await next();
      return;
    }
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    let merge = false;
    switch (details.prompt.name) {
      case 'login':
        result = { login: loginFor(details.params, details.session) };
        break;
      case 'consent':
        // Merged with the login of this authorization request, if it had
        // one: prompt=login must still see it when the request resumes.
        result = { consent: await consentFor(provider, details) };
        merge = true;
        break;
      default:
        result = { error: 'access_denied', error_description: `unexpected prompt ${details.prompt.name}` };
    }
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.redirect(redirectTo);
  });

  for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error',
    'introspection.error', 'revocation.error']) {
    provider.on(event, (_ctx, err) => {
      const detail = [err.error_description, err.error_detail].filter(Boolean).join(': ');
      process.stderr.write(`provider: ${event}: ${err.message}${detail ? `: ${detail}` : ''}\n`);
    });
  }

  server.on('request', provider.callback());
  process.stdout.write(`ready ${issuer}\n`);

  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

main().catch((err) => fail(err.stack || String(err)));
