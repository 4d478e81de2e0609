// Unit tests of the app's DOM-free modules: the SSE parser, the instrument lines of the charts
// and the string table (every key the code looks up exists, so nothing untranslated shows).
//   node --test web/test/
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SseParser, ApiError } from '../src/api.js';
import { instrumentInfo } from '../src/instruments.js';
import { strings, t } from '../src/strings.js';

const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

test('SseParser: ids, multi-line data, comments and CRLF, across chunk borders', () => {
  const got = [];
  const parser = new SseParser((m) => got.push(m));
  parser.push(': keepalive\n\nid: 4\nda');
  parser.push('ta: {"a":\r\ndata: 1}\r\n\r\n');
  parser.push('id: 5\ndata:x\n');
  assert.deepEqual(got, [{ id: '4', event: '', data: '{"a":\n1}' }]);
  parser.push('\n');
  assert.deepEqual(got[1], { id: '5', event: '', data: 'x' });
  parser.push('event: ping\n\n');  // no data: no message
  assert.equal(got.length, 2);
});

test('instrumentInfo: the thresholds the server sends win over the defaults', () => {
  assert.equal(instrumentInfo('ORS').cutoff, 25);
  assert.equal(instrumentInfo('ORS').reliableChange, 5);
  // As proto3 JSON prints Progress.thresholds: absent optional values are left out.
  const thresholds = [
    { instrument: 'ORS', totalMin: 0, totalMax: 40, clinicalCutoff: 28, reliableChange: 6 },
    { instrument: 'SRS', totalMin: 0, totalMax: 40, allianceCutoff: 34, allianceDrop: 1 },
    { instrument: 'GBO', totalMin: 0, totalMax: 10 },
  ];
  assert.deepEqual(instrumentInfo('ORS', thresholds), { max: 40, cutoff: 28, reliableChange: 6, alliance: false });
  assert.deepEqual(instrumentInfo('SRS', thresholds), { max: 40, cutoff: 34, reliableChange: 0, alliance: true });
  assert.deepEqual(instrumentInfo('GBO', thresholds), { max: 10, cutoff: 0, reliableChange: 0, alliance: false });
  assert.equal(instrumentInfo('SRS').alliance, true);
});

test('every string key the code uses is in strings.js', async () => {
  const missing = [];
  for (const file of await readdir(src)) {
    if (!file.endsWith('.js') || file === 'strings.js') continue;
    const code = await readFile(path.join(src, file), 'utf8');
    for (const m of code.matchAll(/\bt\('([^'`]+)'/g)) if (!(m[1] in strings)) missing.push(`${file}: ${m[1]}`);
    // Keys built from enum names: each prefix used with a template must have its values.
    for (const m of code.matchAll(/\bt\(`([a-zA-Z.]+)\.\$\{/g)) {
      if (!Object.keys(strings).some((k) => k.startsWith(`${m[1]}.`))) missing.push(`${file}: ${m[1]}.*`);
    }
  }
  assert.deepEqual(missing, []);
  for (const e of ['GOAL_CREATED', 'HYPOTHESIS_ANSWERED', 'REVIEW_SIGNED']) assert.notEqual(t(`event.${e}`), `event.${e}`);
  for (const s of ['FITS', 'PARTLY_FITS', 'DOES_NOT_FIT', 'NOT_NOW', 'WANT_TO_TALK']) assert.notEqual(t(`hyp.stance.${s}`), `hyp.stance.${s}`);
});

test('a button’s spoken label starts with its visible words (WCAG 2.5.3, label in name)', () => {
  for (const [visible, label] of [['client.moveUp', 'client.moveUpLabel'], ['client.moveDown', 'client.moveDownLabel']]) {
    const spoken = t(label, { n: 2 });
    assert.ok(spoken.toLowerCase().startsWith(t(visible).toLowerCase()), `${label}: ${spoken}`);
  }
});

test('ApiError keeps the HTTP status, the gRPC code and the server’s message', () => {
  const e = new ApiError(400, 'INVALID_ARGUMENT', 'goal.words: must not be empty');
  assert.equal(e.status, 400);
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.equal(e.message, 'goal.words: must not be empty');
});
