// Smoke test of the FHIR test server: `node --experimental-websocket --test smoke.mjs`.
// Starts server.mjs as a child process on a free port and proves the behaviour the host-sync
// integration tests rely on: search, conditional create, If-Match, validation, atomic
// transactions, every fault mode, SMART token endpoint and bearer-token enforcement.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeMajor = Number(process.versions.node.split('.')[0]);
const nodeFlags = nodeMajor < 22 ? ['--experimental-websocket'] : [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-test-server-'));

/** Starts server.mjs; resolves once it has written its port file. */
async function startServer(name, args = []) {
  const portFile = path.join(tmp, `${name}.port`);
  const child = spawn(process.execPath, [...nodeFlags, path.join(here, 'server.mjs'), '--port-file', portFile, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(portFile)) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(fs.readFileSync(portFile, 'utf8').trim());
  assert.ok(port > 0, 'port file holds a port');
  const root = `http://127.0.0.1:${port}`;
  return {
    child,
    port,
    root,
    base: `${root}/fhir/R4`,
    output: () => output,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

const FHIR_JSON = 'application/fhir+json';

async function call(url, { method = 'GET', body, headers = {}, timeoutMs = 10_000 } = {}) {
  const res = await fetch(url, {
    method,
    headers: { Accept: FHIR_JSON, ...(body !== undefined ? { 'Content-Type': FHIR_JSON } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

const control = async (srv, what, body, method = 'POST') =>
  (await call(`${srv.root}/_control/${what}`, { method, body })).json;
const stats = (srv) => control(srv, 'stats', undefined, 'GET');

const goal = (extra = {}) => ({
  resourceType: 'Goal',
  lifecycleStatus: 'active',
  description: { text: 'I want to sleep through the night' },
  subject: { reference: 'Patient/1' },
  ...extra,
});

describe('FHIR test server', () => {
  let srv;
  before(async () => {
    srv = await startServer('main');
  });
  after(async () => {
    await srv?.stop();
  });

  test('a Goal is created, read back and found by Goal?patient=Patient/1', async () => {
    await control(srv, 'reset');
    const created = await call(`${srv.base}/Goal`, {
      method: 'POST',
      body: goal({ identifier: [{ system: 'urn:collabcare:goal', value: 'g-1' }] }),
    });
    assert.equal(created.status, 201, created.text);
    const id = created.json.id;
    assert.ok(id);
    assert.match(created.headers.get('etag'), /^W\/"[^"]+"$/);
    assert.match(created.headers.get('location'), new RegExp(`/fhir/R4/Goal/${id}/_history/`));

    const read = await call(`${srv.base}/Goal/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.json.description.text, 'I want to sleep through the night');

    for (const q of ['patient=Patient/1', 'subject=Patient/1', 'identifier=urn:collabcare:goal|g-1', '_lastUpdated=gt2000-01-01']) {
      const found = await call(`${srv.base}/Goal?${q}`);
      assert.equal(found.status, 200);
      assert.equal(found.json.type, 'searchset');
      assert.equal(found.json.total, 1, `Goal?${q}`);
      assert.equal(found.json.entry[0].resource.description.text, 'I want to sleep through the night');
      assert.match(found.json.entry[0].fullUrl, new RegExp(`/Goal/${id}$`));
    }
    assert.equal((await call(`${srv.base}/Goal?patient=Patient/2`)).json.total, 0);
    assert.equal((await call(`${srv.base}/Goal?_lastUpdated=lt2000-01-01`)).json.total, 0);

    const cap = await call(`${srv.base}/metadata`);
    assert.equal(cap.status, 200);
    assert.equal(cap.json.resourceType, 'CapabilityStatement');
    assert.equal(cap.json.fhirVersion, '4.0.1');
    const goalCap = cap.json.rest[0].resource.find((r) => r.type === 'Goal');
    assert.ok(goalCap.interaction.some((i) => i.code === 'create'));
  });

  test('update, vread and history keep every version, newest first', async () => {
    await control(srv, 'reset');
    const v1 = (await call(`${srv.base}/Goal`, { method: 'POST', body: goal() })).json;
    const v2 = (await call(`${srv.base}/Goal/${v1.id}`, { method: 'PUT', body: { ...v1, lifecycleStatus: 'completed' } })).json;
    assert.equal(v2.lifecycleStatus, 'completed');
    assert.notEqual(v2.meta.versionId, v1.meta.versionId);
    for (let i = 0; i < 2; i++) {
      const h = await call(`${srv.base}/Goal/${v1.id}/_history`);
      assert.deepEqual(h.json.entry.map((e) => e.resource.meta.versionId), [v2.meta.versionId, v1.meta.versionId]);
    }
    const old = await call(`${srv.base}/Goal/${v1.id}/_history/${v1.meta.versionId}`);
    assert.equal(old.json.lifecycleStatus, 'active');
    const typeHistory = await call(`${srv.base}/Goal/_history`);
    assert.equal(typeHistory.json.total, 2);
    assert.equal((await call(`${srv.base}/Goal/${v1.id}`, { method: 'DELETE' })).status, 200);
    assert.equal((await call(`${srv.base}/Goal/${v1.id}`)).status, 404);
  });

  test('conditional create (If-None-Exist) twice makes one resource', async () => {
    await control(srv, 'reset');
    const body = goal({ identifier: [{ system: 'urn:collabcare:goal', value: 'cc-1' }] });
    const headers = { 'If-None-Exist': 'identifier=urn:collabcare:goal|cc-1' };
    const first = await call(`${srv.base}/Goal`, { method: 'POST', body, headers });
    const second = await call(`${srv.base}/Goal`, { method: 'POST', body, headers });
    assert.equal(first.status, 201, first.text);
    assert.equal(second.status, 200, second.text);
    assert.equal(second.json.id, first.json.id);
    const found = await call(`${srv.base}/Goal?identifier=urn:collabcare:goal|cc-1`);
    assert.equal(found.json.total, 1);
    const s = await stats(srv);
    assert.deepEqual(s.writes.Goal, { create: 1, update: 0, delete: 0 });
    assert.deepEqual(s.duplicateIdentifiers, []);
  });

  test('If-Match with a stale version answers 412 and changes nothing', async () => {
    await control(srv, 'reset');
    const v1 = (await call(`${srv.base}/Goal`, { method: 'POST', body: goal() })).json;
    const ok = await call(`${srv.base}/Goal/${v1.id}`, {
      method: 'PUT', body: { ...v1, lifecycleStatus: 'on-hold' }, headers: { 'If-Match': `W/"${v1.meta.versionId}"` },
    });
    assert.equal(ok.status, 200, ok.text);
    for (const ifMatch of [`W/"${v1.meta.versionId}"`, v1.meta.versionId]) {
      const stale = await call(`${srv.base}/Goal/${v1.id}`, {
        method: 'PUT', body: { ...v1, lifecycleStatus: 'cancelled' }, headers: { 'If-Match': ifMatch },
      });
      assert.equal(stale.status, 412, `If-Match: ${ifMatch} -> ${stale.text}`);
      assert.equal(stale.json.resourceType, 'OperationOutcome');
    }
    assert.equal((await call(`${srv.base}/Goal/${v1.id}`)).json.lifecycleStatus, 'on-hold');
  });

  test('invalid resources are refused with an OperationOutcome and not stored', async () => {
    await control(srv, 'reset');
    const cases = [
      ['Goal without lifecycleStatus', { resourceType: 'Goal', description: { text: 'x' }, subject: { reference: 'Patient/1' } }, 422],
      ['Goal with a code outside its required value set', goal({ lifecycleStatus: 'finished' }), 422],
      ['Condition with a bad clinicalStatus coding', {
        resourceType: 'Condition', subject: { reference: 'Patient/1' },
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'maybe' }] },
      }, 422],
      ['unknown element', goal({ mood: 'sunny' }), 422],
      ['bad date', goal({ startDate: '2024-13-40' }), 422],
      ['not JSON', '{"resourceType": "Goal", ', 400],
      ['resource type does not match the URL', { resourceType: 'Condition', subject: { reference: 'Patient/1' } }, 400, 'Goal'],
    ];
    for (const [what, body, status, type] of cases) {
      const r = await call(`${srv.base}/${type ?? body.resourceType ?? 'Goal'}`, { method: 'POST', body });
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.equal(r.json?.resourceType, 'OperationOutcome', what);
      assert.ok(r.json.issue.length > 0, what);
    }
    const good = await call(`${srv.base}/Condition`, {
      method: 'POST',
      body: {
        resourceType: 'Condition', subject: { reference: 'Patient/1' },
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'provisional' }] },
      },
    });
    assert.equal(good.status, 201, good.text);
    const s = await stats(srv);
    assert.equal(s.writeCount, 1);
    assert.deepEqual(s.resources, { Condition: 1 });
  });

  test('a transaction that fails in its 3rd entry leaves nothing written', async () => {
    await control(srv, 'reset');
    const patientUrn = 'urn:uuid:7e0d4b1c-9a51-4c2e-8f3e-0c8b9d1a2b3c';
    const bundle = (third) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: patientUrn,
          resource: { resourceType: 'Patient', identifier: [{ system: 'urn:collabcare:client', value: 'c-1' }] },
          request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:collabcare:client|c-1' },
        },
        { resource: goal({ subject: { reference: patientUrn } }), request: { method: 'POST', url: 'Goal' } },
        { resource: third, request: { method: 'POST', url: 'Goal' } },
      ],
    });
    const failing = await call(srv.base, {
      method: 'POST',
      body: bundle({ resourceType: 'Goal', description: { text: 'no status' }, subject: { reference: patientUrn } }),
    });
    assert.equal(failing.status, 422, failing.text);
    assert.equal(failing.json.resourceType, 'OperationOutcome');
    let s = await stats(srv);
    assert.equal(s.writeCount, 0);
    assert.deepEqual(s.resources, {});
    assert.equal(s.transactionsRolledBack, 1);
    assert.equal((await call(`${srv.base}/Patient?identifier=urn:collabcare:client|c-1`)).json.total, 0);

    const ok = await call(srv.base, { method: 'POST', body: bundle(goal({ subject: { reference: patientUrn } })) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.type, 'transaction-response');
    assert.deepEqual(ok.json.entry.map((e) => e.response.status), ['201', '201', '201']);
    const patientId = ok.json.entry[0].resource.id;
    const goals = await call(`${srv.base}/Goal?patient=Patient/${patientId}`);
    assert.equal(goals.json.total, 2, 'urn:uuid references were rewritten to the new Patient');

    // Replaying the same transaction: the conditional Patient is not created again.
    const again = await call(srv.base, { method: 'POST', body: bundle(goal({ subject: { reference: patientUrn } })) });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.entry[0].response.status, '200');
    s = await stats(srv);
    assert.equal(s.resources.Patient, 1);
    assert.equal(s.resources.Goal, 4);
  });

  test('a batch applies its good entries and reports the bad one', async () => {
    await control(srv, 'reset');
    const r = await call(srv.base, {
      method: 'POST',
      body: {
        resourceType: 'Bundle', type: 'batch',
        entry: [
          { resource: goal(), request: { method: 'POST', url: 'Goal' } },
          { resource: goal({ lifecycleStatus: undefined }), request: { method: 'POST', url: 'Goal' } },
          { request: { method: 'GET', url: 'Goal?patient=Patient/1' } },
        ],
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.type, 'batch-response');
    assert.deepEqual(r.json.entry.map((e) => e.response.status), ['201', '422', '200']);
    assert.equal((await stats(srv)).resources.Goal, 1);
  });

  test('transactions with conditional entries: at most 8 entries by default, limit switchable', async () => {
    await control(srv, 'reset');
    const entries = (n) => Array.from({ length: n }, (_, i) => ({
      resource: goal({ identifier: [{ system: 'urn:collabcare:goal', value: `t-${i}` }] }),
      request: { method: 'POST', url: 'Goal', ifNoneExist: `identifier=urn:collabcare:goal|t-${i}` },
    }));
    const post = (n) => call(srv.base, { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: entries(n) } });
    assert.equal((await post(8)).status, 200);
    const tooMany = await post(9);
    assert.equal(tooMany.status, 400, tooMany.text);
    assert.match(tooMany.text, /too many entries/);
    await control(srv, 'config', { conditionalTransactionLimit: 0 });
    const lifted = await post(20);
    assert.equal(lifted.status, 200, lifted.text);
    assert.equal((await stats(srv)).resources.Goal, 20);
  });

  test('an Epic-like configuration refuses writes of other types and bundles', async () => {
    await control(srv, 'reset');
    await control(srv, 'config', { writableTypes: ['DocumentReference', 'Condition'], bundles: false });
    const g = await call(`${srv.base}/Goal`, { method: 'POST', body: goal() });
    assert.equal(g.status, 405, g.text);
    const b = await call(srv.base, { method: 'POST', body: { resourceType: 'Bundle', type: 'batch', entry: [] } });
    assert.equal(b.status, 405, b.text);
    const cap = (await call(`${srv.base}/metadata`)).json;
    assert.ok(!cap.rest[0].resource.find((r) => r.type === 'Goal').interaction.some((i) => i.code === 'create'));
    assert.ok(cap.rest[0].resource.find((r) => r.type === 'Condition').interaction.some((i) => i.code === 'create'));
    assert.ok(!cap.rest[0].interaction.some((i) => i.code === 'transaction'));
    await control(srv, 'reset');
    assert.equal((await call(`${srv.base}/Goal`, { method: 'POST', body: goal() })).status, 201);
  });

  describe('fault injection', () => {
    test('500 for the next 2 requests, then normal service', async () => {
      await control(srv, 'reset');
      await control(srv, 'faults', { mode: 'status', status: 500, count: 2 });
      assert.equal((await call(`${srv.base}/Goal`, { method: 'POST', body: goal() })).status, 500);
      assert.equal((await call(`${srv.base}/Goal`, { method: 'POST', body: goal() })).status, 500);
      assert.equal((await call(`${srv.base}/Goal`, { method: 'POST', body: goal() })).status, 201);
      const s = await stats(srv);
      assert.equal(s.resources.Goal, 1, 'a 500 is answered without applying the request');
      assert.equal(s.faultsInjected.status, 2);
    });

    test('503 and 429 carry Retry-After; rules can match method and path', async () => {
      await control(srv, 'reset');
      await control(srv, 'faults', [
        { mode: 'status', status: 429, retryAfter: 7, method: 'POST', path: '^/fhir/R4/Goal' },
        { mode: 'status', status: 503 },
      ]);
      const first = await call(`${srv.base}/Condition?patient=Patient/1`);
      assert.equal(first.status, 503);
      assert.equal(first.headers.get('retry-after'), '1');
      const limited = await call(`${srv.base}/Goal`, { method: 'POST', body: goal() });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '7');
      assert.equal(limited.json.resourceType, 'OperationOutcome');
      assert.equal((await call(`${srv.base}/Goal`, { method: 'POST', body: goal() })).status, 201);
    });

    test('a fault for a duration, and an injected 412', async () => {
      await control(srv, 'reset');
      await control(srv, 'faults', { mode: 'status', status: 412, durationMs: 400 });
      assert.equal((await call(`${srv.base}/Goal?patient=Patient/1`)).status, 412);
      assert.equal((await call(`${srv.base}/Goal?patient=Patient/1`)).status, 412);
      await new Promise((r) => setTimeout(r, 450));
      assert.equal((await call(`${srv.base}/Goal?patient=Patient/1`)).status, 200);
    });

    test('delay: the client times out although the write was applied', async () => {
      await control(srv, 'reset');
      await control(srv, 'faults', { mode: 'delay', delayMs: 1500 });
      const t = Date.now();
      await assert.rejects(call(`${srv.base}/Goal`, { method: 'POST', body: goal(), timeoutMs: 300 }), /timeout|abort/i);
      assert.ok(Date.now() - t < 1400);
      assert.equal((await stats(srv)).resources.Goal, 1);
      await control(srv, 'faults', { mode: 'delay', delayMs: 300, phase: 'before' });
      const t2 = Date.now();
      assert.equal((await call(`${srv.base}/metadata`)).status, 200);
      assert.ok(Date.now() - t2 >= 290);
    });

    test('hangup: half a response then a closed connection, after the write was applied', async () => {
      await control(srv, 'reset');
      await control(srv, 'faults', { mode: 'hangup' });
      await assert.rejects(async () => {
        const res = await fetch(`${srv.base}/Goal`, { method: 'POST', headers: { 'Content-Type': FHIR_JSON }, body: JSON.stringify(goal()) });
        assert.equal(res.status, 201);
        await res.text();
      }, /terminated|closed|socket/i);
      assert.equal((await stats(srv)).resources.Goal, 1);
      assert.equal((await call(`${srv.base}/Goal?patient=Patient/1`)).json.total, 1);
    });

    test('reset: the connection is dropped and nothing is applied', async () => {
      await control(srv, 'reset');
      await control(srv, 'faults', { mode: 'reset' });
      await assert.rejects(call(`${srv.base}/Goal`, { method: 'POST', body: goal() }));
      assert.deepEqual((await stats(srv)).resources, {});
    });

    test('down (reset style) until told to come back up', async () => {
      await control(srv, 'reset');
      await control(srv, 'down', {});
      await assert.rejects(call(`${srv.base}/metadata`));
      await assert.rejects(call(`${srv.base}/Goal`, { method: 'POST', body: goal() }));
      assert.equal((await control(srv, 'health', undefined, 'GET')).down, true);
      await control(srv, 'up');
      assert.equal((await call(`${srv.base}/metadata`)).status, 200);
      assert.deepEqual((await stats(srv)).resources, {});
    });

    test('down (refuse style): connections refused for a while, then back on the same port', async () => {
      await control(srv, 'reset');
      await call(`${srv.base}/Goal`, { method: 'POST', body: goal() });
      await control(srv, 'down', { style: 'refuse', durationMs: 800 });
      await new Promise((r) => setTimeout(r, 100));
      const err = await call(`${srv.base}/metadata`).then(() => undefined, (e) => e);
      assert.ok(err, 'request fails while down');
      assert.equal(err.cause?.code, 'ECONNREFUSED', String(err.cause ?? err));
      const deadline = Date.now() + 5000;
      let back;
      while (!back && Date.now() < deadline) {
        back = await call(`${srv.base}/Goal?patient=Patient/1`).catch(() => undefined);
        if (!back) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(back?.status, 200);
      assert.equal(back.json.total, 1, 'data survives an outage');
    });
  });
});

describe('SMART Backend Services', () => {
  let srv;
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwk = (kp, kid, alg) => ({ ...kp.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  const clientId = 'collabcare-test';

  function assertion(kp, { alg = 'RS384', kid = 'rsa-1', aud, exp, jti = crypto.randomUUID(), iss = clientId } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = enc({ alg, kid, typ: 'JWT' });
    const body = enc({ iss, sub: iss, aud: aud ?? `${srv.root}/auth/token`, exp: exp ?? now + 240, jti });
    const signer = alg.startsWith('ES') ? { key: kp.privateKey, dsaEncoding: 'ieee-p1363' } : kp.privateKey;
    const sig = crypto.sign('sha384', Buffer.from(`${head}.${body}`), signer).toString('base64url');
    return `${head}.${body}.${sig}`;
  }

  async function token(jwt, extra = {}) {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'system/*.write',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
      ...extra,
    });
    const res = await fetch(`${srv.root}/auth/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form,
    });
    return { status: res.status, json: await res.json() };
  }

  before(async () => {
    const jwksFile = path.join(tmp, 'jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk(rsa, 'rsa-1', 'RS384'), jwk(ec, 'ec-1', 'ES384')] }));
    srv = await startServer('auth', ['--require-auth', '--jwks', jwksFile, '--client-id', clientId]);
  });
  after(async () => {
    await srv?.stop();
  });

  test('discovery and capability statement are public', async () => {
    const conf = await call(`${srv.base}/.well-known/smart-configuration`);
    assert.equal(conf.status, 200);
    assert.equal(conf.json.token_endpoint, `${srv.root}/auth/token`);
    assert.ok(conf.json.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    const cap = await call(`${srv.base}/metadata`);
    assert.equal(cap.status, 200);
    assert.equal(cap.json.rest[0].security.extension[0].extension[0].valueUri, `${srv.root}/auth/token`);
  });

  test('FHIR calls without a valid bearer token get 401', async () => {
    const none = await call(`${srv.base}/Goal?patient=Patient/1`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate'), /^Bearer/);
    const bogus = await call(`${srv.base}/Goal?patient=Patient/1`, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(bogus.status, 401);
  });

  test('bad client assertions are rejected', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      ['signed with a key not in the JWKS', assertion(other, { alg: 'ES384', kid: 'ec-1' })],
      ['unknown kid', assertion(rsa, { kid: 'rsa-2' })],
      ['wrong aud', assertion(rsa, { aud: 'https://elsewhere.example/token' })],
      ['expired', assertion(rsa, { exp: now - 10 })],
      ['exp more than 5 minutes ahead', assertion(rsa, { exp: now + 600 })],
      ['unknown client', assertion(rsa, { iss: 'someone-else' })],
      ['tampered payload', (() => {
        const [h, , s] = assertion(rsa).split('.');
        const p = Buffer.from(JSON.stringify({ iss: clientId, sub: clientId, aud: `${srv.root}/auth/token`, exp: now + 60, jti: 'x' })).toString('base64url');
        return `${h}.${p}.${s}`;
      })()],
      ['alg none', `${Buffer.from('{"alg":"none","kid":"rsa-1"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: clientId, sub: clientId, aud: `${srv.root}/auth/token`, exp: now + 60, jti: 'y' })).toString('base64url')}.`],
    ];
    for (const [what, jwt] of bad) {
      const r = await token(jwt);
      assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error, 'invalid_client', what);
      assert.equal(r.json.access_token, undefined, what);
    }
    assert.equal((await token(assertion(rsa), { grant_type: 'password' })).json.error, 'unsupported_grant_type');
  });

  test('good RS384 and ES384 assertions get a token that opens the FHIR API; a jti cannot be replayed', async () => {
    const jwt = assertion(rsa);
    const r1 = await token(jwt);
    assert.equal(r1.status, 200, JSON.stringify(r1.json));
    assert.equal(r1.json.token_type, 'bearer');
    assert.ok(r1.json.expires_in > 0);
    const replay = await token(jwt);
    assert.equal(replay.status, 401);
    assert.match(replay.json.error_description, /jti/);

    const r2 = await token(assertion(ec, { alg: 'ES384', kid: 'ec-1' }));
    assert.equal(r2.status, 200, JSON.stringify(r2.json));

    const auth = { Authorization: `Bearer ${r2.json.access_token}` };
    const created = await call(`${srv.base}/Goal`, { method: 'POST', body: goal(), headers: auth });
    assert.equal(created.status, 201, created.text);
    assert.equal((await call(`${srv.base}/Goal?patient=Patient/1`, { headers: auth })).json.total, 1);

    await control(srv, 'revoke-tokens');
    assert.equal((await call(`${srv.base}/Goal?patient=Patient/1`, { headers: auth })).status, 401);
    const s = await stats(srv);
    assert.equal(s.tokensIssued, 2);
  });
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));
