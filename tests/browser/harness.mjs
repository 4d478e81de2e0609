// The world the browser tests run in, all on loopback with ports picked by the OS:
//  - the FHIR test server (tests/fhir_server, started with its own node.sh);
//  - a SMART authorization server: oidc-provider (authorization code + PKCE S256, `launch` and
//    `launch/patient` resolved to a patient context in the token response, an id_token with
//    `fhirUser`, JWT access tokens with `fhirUser` and aud = collabcare's audience, JWKS at
//    /jwks) with a minimal "pick a user" login page the test drives;
//  - the simulated EHR: the `iss` FHIR base (its `.well-known/smart-configuration` names the
//    authorization server; everything else is proxied to the FHIR test server), a chart page
//    that embeds the app in an iframe (EHR launch) and a patient-portal link (standalone launch);
//  - collabcare-server with its HTTP face serving the built app.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, SignJWT, decodeJwt } from 'jose';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'collabcare-app';
export const AUDIENCE = 'collabcare';
export const SCOPE = 'openid fhirUser launch launch/patient patient/*.rs';
const RESOURCE = 'urn:collabcare:api';
const RESOURCE_SCOPES = 'patient/*.rs user/*.rs patient/*.cruds user/*.cruds';
const OIDC_SCOPES = ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access'];

// The people of the test EHR. `fhirUser` is the FHIR resource of the signed-in user.
export const USERS = {
  'dr-lee': { label: 'Dr Lee (therapist)', type: 'Practitioner', id: '9', display: 'Dr Lee' },
  sam: { label: 'Sam (patient)', type: 'Patient', id: '123', display: 'Sam' },
  // A family member of patient 123 with their own sign-in to the portal; a standalone launch
  // by them is about that patient (`patient`).
  kim: { label: 'Kim (family member)', type: 'RelatedPerson', id: '55', display: 'Kim', patient: '123' },
};

function listen(server, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server.address().port));
  });
}

async function waitForFile(file, child, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const text = (await readFile(file, 'utf8')).trim();
      if (text) return text;
    } catch { /* not yet */ }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited before it was ready (code ${child.exitCode}, signal ${child.signalCode}):\n${child.stderrText || ''}`);
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms:\n${child.stderrText || ''}`);
    await sleep(50);
  }
}

function start(cmd, args, opts) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  child.stderrText = '';
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => {
    child.stderrText += d.toString();
    if (child.stderrText.length > 64 * 1024) child.stderrText = child.stderrText.slice(-32 * 1024);
  });
  return child;
}

async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(timer);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function page(res, title, body, extraHeaders = {}) {
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:*; frame-src http://127.0.0.1:*",
    'Cache-Control': 'no-store',
    ...extraHeaders,
  });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;margin:0}header{background:#333;color:#fff;padding:6px 12px}
main{display:flex;gap:12px;padding:12px}.chart{flex:1}iframe{width:420px;height:1400px;border:1px solid #888}
button{font:inherit;padding:8px 14px;margin:4px}</style></head><body>${body}</body></html>`);
}

// Starts everything. Options: serverBin, webDist, fhirServerDir, tmpRoot.
export async function startWorld(options) {
  const tmp = await mkdtemp(path.join(options.tmpRoot || os.tmpdir(), 'collabcare-browser-'));
  const world = { tmp, children: [], servers: [], launches: new Map(), grantContext: new Map() };

  // 1. The FHIR test server.
  const fhirPortFile = path.join(tmp, 'fhir.port');
  const fhir = start(path.join(options.fhirServerDir, 'node.sh'), ['server.mjs', '--port-file', fhirPortFile], {});
  world.children.push(fhir);

  // 2. The authorization server. Its port is known before the provider is built, so the
  // issuer names it.
  const authServer = http.createServer();
  const authPort = await listen(authServer);
  world.servers.push(authServer);
  const issuer = `http://127.0.0.1:${authPort}`;
  world.issuer = issuer;

  // The simulated EHR (its FHIR base is `iss`).
  const ehrServer = http.createServer();
  const ehrPort = await listen(ehrServer);
  world.servers.push(ehrServer);
  const ehrOrigin = `http://127.0.0.1:${ehrPort}`;
  const iss = `${ehrOrigin}/fhir/R4`;
  world.ehrOrigin = ehrOrigin;
  world.iss = iss;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: `test-${randomUUID()}`, alg: 'RS256', use: 'sig' };
  world.signingKey = privateKey;
  world.kid = jwk.kid;

  const fhirUserOf = (userId) => `${iss}/${USERS[userId].type}/${USERS[userId].id}`;
  // The provider is built once collabcare's origin (the app's redirect URI) is known; until
  // then the authorization server serves only its JWKS, which collabcare-server reads at start.
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  let provider = null;
  let providerCallback = null;
  const makeProvider = (redirectUri) => new Provider(issuer, {
    // The app's registration: a public client (PKCE, no secret).
    clients: [{
      client_id: CLIENT_ID, token_endpoint_auth_method: 'none', redirect_uris: [redirectUri],
      grant_types: ['authorization_code'], response_types: ['code'],
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: OIDC_SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    conformIdTokenClaims: false, // the id_token carries fhirUser (SMART App Launch)
    extraParams: ['launch', 'aud'],
    pkce: { required: () => true },
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (resource !== RESOURCE) throw new Provider.errors.InvalidTarget();
          return { scope: RESOURCE_SCOPES, audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    async findAccount(ctx, sub) {
      if (!USERS[sub]) return undefined;
      return { accountId: sub, claims: async () => ({ sub, fhirUser: fhirUserOf(sub) }) };
    },
    async extraTokenClaims(ctx, token) {
      if (token.kind !== 'AccessToken' || !USERS[token.accountId]) return undefined;
      const context = world.grantContext.get(token.grantId) || {};
      return { fhirUser: fhirUserOf(token.accountId), ...(context.patient ? { patient: context.patient } : {}) };
    },
    clientBasedCORS(ctx, origin, client) {
      return client.redirectUris.some((uri) => new URL(uri).origin === origin);
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
  });

  // SMART: the launch context goes into the token response next to the access token.
  const tokenResponseContext = async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body && ctx.body.access_token) {
      const claims = decodeJwt(ctx.body.access_token);
      if (claims.patient) ctx.body.patient = claims.patient;
      ctx.body.need_patient_banner = false;
    }
  };

  // The login interaction: pick a user; the grant covers what the app asked for.
  authServer.on('request', async (req, res) => {
    try {
      const url = new URL(req.url, issuer);
      if (!provider) {
        if (url.pathname === '/jwks') return res.writeHead(200, { 'Content-Type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: [publicJwk] }));
        return res.writeHead(503).end();
      }
      const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
      if (!m) return providerCallback(req, res);
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET' && !m[2]) {
        const buttons = Object.entries(USERS).map(([id, u]) =>
          `<button type="submit" name="user" value="${escapeHtml(id)}">${escapeHtml(u.label)}</button>`).join('');
        return page(res, 'Sign in to the test EHR', `<header>Test EHR sign-in</header><main><form method="post" action="/interaction/${escapeHtml(details.uid)}/login">
<h1>Who are you?</h1><p>The app asks for: ${escapeHtml(details.params.scope || '')}</p>${buttons}</form></main>`);
      }
      if (req.method === 'POST' && m[2]) {
        const form = new URLSearchParams((await readBody(req)).toString());
        const userId = form.get('user');
        if (!USERS[userId]) return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown user' }, { mergeWithLastSubmission: false });
        const scopes = String(details.params.scope || '').split(' ').filter(Boolean);
        // The launch context: an EHR launch names it with `launch`; a standalone patient
        // launch (`launch/patient`) of a patient is about that patient.
        let context = {};
        if (details.params.launch) {
          context = world.launches.get(details.params.launch);
          if (!context) return provider.interactionFinished(req, res, { error: 'invalid_request', error_description: 'unknown launch' }, { mergeWithLastSubmission: false });
        } else if (scopes.includes('launch/patient') && USERS[userId].patient) {
          context = { patient: USERS[userId].patient };
        } else if (scopes.includes('launch/patient')) {
          if (USERS[userId].type !== 'Patient') return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'no patient to choose' }, { mergeWithLastSubmission: false });
          context = { patient: USERS[userId].id };
        }
        const grant = new provider.Grant({ accountId: userId, clientId: details.params.client_id });
        grant.addOIDCScope(scopes.filter((s) => OIDC_SCOPES.includes(s)).join(' '));
        grant.addResourceScope(RESOURCE, scopes.filter((s) => !OIDC_SCOPES.includes(s)).join(' '));
        const grantId = await grant.save();
        world.grantContext.set(grantId, context);
        world.logins = (world.logins || 0) + 1;
        return provider.interactionFinished(req, res, { login: { accountId: userId }, consent: { grantId } }, { mergeWithLastSubmission: false });
      }
      res.writeHead(405).end();
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`interaction failed: ${err.message}`);
    }
  });

  const fhirPort = Number(await waitForFile(fhirPortFile, fhir, 'FHIR test server'));
  world.fhirBase = `http://127.0.0.1:${fhirPort}/fhir/R4`;

  // 3. The simulated EHR.
  const smartConfiguration = () => ({
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    token_endpoint_auth_methods_supported: ['none'],
    grant_types_supported: ['authorization_code'],
    response_types_supported: ['code'],
    scopes_supported: [...OIDC_SCOPES, ...RESOURCE_SCOPES.split(' ')],
    code_challenge_methods_supported: ['S256'],
    capabilities: ['launch-ehr', 'launch-standalone', 'client-public', 'context-ehr-patient',
      'context-standalone-patient', 'sso-openid-connect', 'permission-v2', 'permission-patient', 'permission-user'],
  });
  ehrServer.on('request', async (req, res) => {
    const url = new URL(req.url, ehrOrigin);
    const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'authorization, content-type, accept' };
    try {
      if (req.method === 'OPTIONS') return res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, POST, PUT' }).end();
      if (url.pathname === '/fhir/R4/.well-known/smart-configuration' || url.pathname === '/.well-known/smart-configuration') {
        return res.writeHead(200, { 'Content-Type': 'application/json', ...cors }).end(JSON.stringify(smartConfiguration()));
      }
      if (url.pathname.startsWith('/fhir/R4/') || url.pathname === '/fhir/R4') {
        // Everything else of the FHIR base goes to the FHIR test server.
        const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
        const upstream = await fetch(`http://127.0.0.1:${fhirPort}${url.pathname}${url.search}`, {
          method: req.method, body, headers: { 'Content-Type': req.headers['content-type'] || 'application/fhir+json', Accept: 'application/fhir+json' },
        });
        const text = await upstream.text();
        return res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') || 'application/fhir+json', ...cors }).end(text);
      }
      if (url.pathname === '/ehr/chart') {
        // The clinician's chart of a patient, with the app in a side panel: the EHR makes a
        // launch id that stands for this context and hands it to the app with `iss`.
        const patient = url.searchParams.get('patient') || '123';
        const launch = randomUUID();
        world.launches.set(launch, { patient });
        const src = `${world.collabOrigin}/app/launch.html?iss=${encodeURIComponent(iss)}&launch=${encodeURIComponent(launch)}`;
        return page(res, 'Test EHR chart', `<header>Test EHR — chart of Patient/${escapeHtml(patient)}</header><main>
<div class="chart"><h1>Chart</h1><p>Demographics, problems and notes would be here.</p></div>
<iframe id="app" title="Collaborative care" src="${escapeHtml(src)}"></iframe></main>`);
      }
      if (url.pathname === '/portal') {
        const href = `${world.collabOrigin}/app/launch.html?iss=${encodeURIComponent(iss)}`;
        return page(res, 'Test patient portal', `<header>Test patient portal</header><main><div>
<h1>Your health</h1><p><a id="collab-link" href="${escapeHtml(href)}">Working together with your therapist</a></p></div></main>`);
      }
      res.writeHead(404).end();
    } catch (err) {
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`ehr: ${err.message}`);
    }
  });

  // 4. collabcare-server with its HTTP face.
  const portFile = path.join(tmp, 'grpc.port');
  const httpPortFile = path.join(tmp, 'http.port');
  const jwksFile = path.join(tmp, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [publicJwk] }));
  // The EHR as a CDS Hooks client: its own signing key, trusted by collabcare through a JWKS
  // file. The CDS base URL is the public one an EHR would call (a reverse proxy's); tokens'
  // `aud` names it, whatever loopback port the server bound.
  const cdsKeys = await generateKeyPair('ES384', { extractable: true });
  const cdsJwk = { ...(await exportJWK(cdsKeys.publicKey)), kid: `cds-${randomUUID()}`, alg: 'ES384', use: 'sig' };
  const cdsJwksFile = path.join(tmp, 'cds-jwks.json');
  await writeFile(cdsJwksFile, JSON.stringify({ keys: [cdsJwk] }));
  world.cdsBaseUrl = 'https://collabcare.test';
  const serverArgs = [
    '--listen=127.0.0.1:0', `--port_file=${portFile}`,
    '--http_listen=127.0.0.1:0', `--http_port_file=${httpPortFile}`,
    `--data_dir=${path.join(tmp, 'data')}`, '--host_profile=none',
    ...(options.jwksFile ? [`--jwks_file=${jwksFile}`] : [`--jwks_url=${issuer}/jwks`]), `--token_issuer=${issuer}`, `--token_audience=${AUDIENCE}`,
    `--web_root=${options.webDist}`,
    `--smart_client_id=${CLIENT_ID}`, `--smart_scope=${SCOPE}`,
    `--http_connect_src=${ehrOrigin},${issuer}`, `--frame_ancestors=${ehrOrigin}`, `--smart_fhir_servers=${iss}`,
    `--cds_base_url=${world.cdsBaseUrl}`, `--app_launch_url=${world.cdsBaseUrl}/app/launch.html`,
    `--cds_clients=${ehrOrigin}=${cdsJwksFile}`,
    ...(options.extraServerArgs || []),
  ];
  const server = start(options.serverBin, serverArgs, { env: { ...process.env } });
  world.children.push(server);
  world.server = server;
  const httpPort = Number(await waitForFile(httpPortFile, server, 'collabcare-server'));
  world.collabOrigin = `http://127.0.0.1:${httpPort}`;

  provider = makeProvider(`${world.collabOrigin}/app/index.html`);
  provider.use(tokenResponseContext);
  providerCallback = provider.callback();
  world.provider = provider;

  world.stop = async () => {
    for (const child of world.children.reverse()) await stopChild(child);
    for (const s of world.servers) { s.closeAllConnections(); s.close(); }
    await rm(tmp, { recursive: true, force: true });
  };

  // A token as this authorization server issues it, for setting up and checking through the
  // API outside the browser (e.g. creating the episode). `expiresIn` may be negative.
  world.mintToken = async (userId, { expiresIn = 3600 } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ fhirUser: fhirUserOf(userId), client_id: CLIENT_ID, scope: 'patient/*.rs' })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'at+jwt' })
      .setIssuer(issuer).setAudience(AUDIENCE).setSubject(userId).setJti(randomUUID())
      .setIssuedAt(now - 10).setExpirationTime(now + expiresIn)
      .sign(privateKey);
  };
  world.api = async (userId, method, apiPath, body, { token } = {}) => {
    const response = await fetch(`${world.collabOrigin}${apiPath}`, {
      method,
      headers: { Authorization: `Bearer ${token || await world.mintToken(userId)}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: response.status, body: json, headers: response.headers };
  };
  // A CDS Hooks call as the EHR makes it: a JWT signed by the EHR's key (iss = the EHR, aud =
  // the service endpoint, exp within 5 minutes, a fresh jti) and the hook request.
  world.cdsCall = async (serviceId, context, { token } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = token ?? await new SignJWT({})
      .setProtectedHeader({ alg: 'ES384', kid: cdsJwk.kid, typ: 'JWT' })
      .setIssuer(ehrOrigin).setAudience(`${world.cdsBaseUrl}/cds-services/${serviceId}`)
      .setJti(randomUUID()).setIssuedAt(now).setExpirationTime(now + 240)
      .sign(cdsKeys.privateKey);
    const response = await fetch(`${world.collabOrigin}/cds-services/${serviceId}`, {
      method: 'POST',
      headers: { ...(jwt ? { Authorization: `Bearer ${jwt}` } : {}), 'Content-Type': 'application/json' },
      body: JSON.stringify({ hook: 'patient-view', hookInstance: randomUUID(), fhirServer: iss, context }),
    });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: response.status, body: json };
  };
  return world;
}

