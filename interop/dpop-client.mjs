// A DPoP client (RFC 9449) built on panva's jose: it holds its own ES256
// key pairs, gets DPoP-bound access tokens at a token endpoint, and makes
// the proofs the Go tests send to the resource servers. The Go test starts
// it once and drives it over standard input and output, one JSON object a
// line each way:
//
//   node dpop-client.mjs
//   -> ready
//   <- {"op":"key","key":"main"}
//   -> {"jkt":"…","jwk":{…}}
//   <- {"op":"token","key":"main","url":"http://127.0.0.1:PORT/token",
//       "params":{"grant_type":"client_credentials",…},"basic":["id","secret"]}
//   -> {"status":200,"body":{"access_token":"…","token_type":"DPoP",…},"nonceRetries":0}
//   <- {"op":"proof","key":"main","htm":"GET","htu":"http://…/profile","token":"…","nonce":"…"}
//   -> {"proof":"eyJ…"}
//
// op "key" returns the public JWK of a key and its RFC 7638 thumbprint
// (jose's calculateJwkThumbprint), the cnf.jkt a token bound to it carries.
// Keys are named by the caller and generated on first use (generateKeyPair
// ES256); one name is one key for the process' lifetime.
//
// op "token" POSTs params (form-encoded) to url with a proof for POST url
// signed by the key (no ath: RFC 9449 §4.2 asks for it only with an access
// token) and, when basic is given, HTTP Basic client authentication (RFC
// 6749 §2.3.1). An authorization server that answers 400 use_dpop_nonce with
// a DPoP-Nonce header gets the request again once, with a fresh proof
// carrying that nonce (RFC 9449 §8); nonceRetries says how many times. The
// last DPoP-Nonce the server sent is kept per origin and put in the next
// proof to it. The answer is the token endpoint's status and JSON body.
//
// op "proof" makes a proof for a resource request (RFC 9449 §4.2): typ
// dpop+jwt, alg ES256, the public jwk in the header; jti (random), htm,
// htu, iat (now), ath (base64url SHA-256 of token, when given) and nonce
// (when given) in the claims.
//
// An answer to a request that failed is {"error":"…"}. The process exits
// when its standard input closes.

import { createHash, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';

import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';

const ALG = 'ES256';
const FETCH_TIMEOUT_MS = 15000;

const keys = new Map(); // name -> { privateKey, jwk, jkt }
const nonces = new Map(); // origin -> last DPoP-Nonce of that server

async function key(name) {
  if (typeof name !== 'string' || name === '') throw new Error('key: a name is required');
  let k = keys.get(name);
  if (!k) {
    const { privateKey, publicKey } = await generateKeyPair(ALG);
    const jwk = await exportJWK(publicKey);
    k = { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
    keys.set(name, k);
  }
  return k;
}

async function proof({ key: name, htm, htu, token, nonce }) {
  const k = await key(name);
  const claims = { jti: randomUUID(), htm, htu };
  if (token) claims.ath = createHash('sha256').update(token).digest('base64url');
  if (nonce) claims.nonce = nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: ALG, jwk: k.jwk })
    .setIssuedAt()
    .sign(k.privateKey);
}

async function tokenRequest({ key: name, url, params, basic }) {
  const origin = new URL(url).origin;
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (basic) {
    const [id, secret] = basic.map((s) => encodeURIComponent(s)); // RFC 6749 §2.3.1
    headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  }
  let nonceRetries = 0;
  for (;;) {
    headers.dpop = await proof({ key: name, htm: 'POST', htu: url, nonce: nonces.get(origin) });
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    const fresh = res.headers.get('dpop-nonce');
    if (fresh) nonces.set(origin, fresh);
    const body = await res.json().catch(() => null);
    if (res.status === 400 && body?.error === 'use_dpop_nonce' && fresh && nonceRetries === 0) {
      nonceRetries += 1;
      continue;
    }
    return { status: res.status, body, nonceRetries };
  }
}

async function handle(req) {
  switch (req.op) {
    case 'key': {
      const k = await key(req.key);
      return { jkt: k.jkt, jwk: k.jwk };
    }
    case 'proof':
      return { proof: await proof(req) };
    case 'token':
      return tokenRequest(req);
    default:
      throw new Error(`unknown op ${JSON.stringify(req.op)}`);
  }
}

// Requests are answered one at a time, in order.
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  let out;
  try {
    out = await handle(JSON.parse(line));
  } catch (err) {
    out = { error: err.message || String(err) };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
process.exit(0);
