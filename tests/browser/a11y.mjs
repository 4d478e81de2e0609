// Accessibility checks for the browser tests: axe-core (pinned in package.json) with the
// WCAG 2.0 / 2.1 level A and AA rules, run inside a page or a frame of the app.
//
// axe's source goes in through Playwright's evaluate (DevTools' Runtime.evaluate), which the
// page's Content-Security-Policy does not govern: no <script> element is added, so the app's
// `script-src 'self'` stays in force and the scenario's "no CSP violation" check keeps its
// meaning. Failures name axe's rule ids, check ids and CSS selectors only (never page text,
// which is clinical).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// Waits until the app has not redrawn its view for a moment (it stamps <main data-loaded> on
// each redraw; live updates redraw it), so checks never look at nodes about to be replaced.
export async function waitForQuiet(target, { quietMs = 400, tries = 25 } = {}) {
  await target.waitForLoadState('load');
  const stamp = () => target.evaluate(() => {
    const main = document.getElementById('main');
    return main ? main.dataset.loaded || '' : '';
  });
  let last = await stamp();
  for (let i = 0; i < tries; i += 1) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = await stamp();
    if (now === last) return;
    last = now;
  }
  throw new Error('the view kept redrawing');
}

// Runs axe on `target` (a Playwright Page or Frame). Returns {violations, undecided, passes}:
// violations and the "incomplete" results axe could not decide, as
// [{id, impact, nodes: [{target, checks, data, svg}]}], and the number of rules that passed.
export async function axeResults(target) {
  await waitForQuiet(target);
  const loaded = await target.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await target.evaluate(`${AXE_SOURCE}\n;void 0`);
  return target.evaluate(async (tags) => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations', 'incomplete'],
      elementRef: true,
      iframes: false,
    });
    const numbers = (data) => {
      // Only colours and ratios (color-contrast), never text.
      if (!data || typeof data !== 'object') return undefined;
      const keep = {};
      for (const k of ['fgColor', 'bgColor', 'contrastRatio', 'expectedContrastRatio', 'fontSize', 'fontWeight', 'messageKey']) {
        if (k in data) keep[k] = data[k];
      }
      return Object.keys(keep).length ? keep : undefined;
    };
    const list = (items) => items.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => ({
        target: n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : String(t))).join(' | '),
        checks: [...n.any, ...n.all, ...n.none].map((c) => c.id),
        data: [...n.any, ...n.all, ...n.none].map((c) => numbers(c.data)).find(Boolean),
        svg: n.element instanceof SVGElement,
      })),
    }));
    return { violations: list(result.violations), undecided: list(result.incomplete), passes: result.passes.length };
  }, WCAG_TAGS);
}

// axe cannot measure the contrast of SVG text (it reports it as undecided), so the charts'
// colours are measured here: text against the chart's background and against the
// reliable-change band blended onto it (WCAG 1.4.3, 4.5:1), lines, marks and the cut-off line
// against the background (WCAG 1.4.11, 3:1). Returns the shortfalls.
export async function chartContrastShortfalls(target) {
  return target.evaluate(() => {
    const rgba = (str) => {
      const v = (str.match(/[\d.]+/g) || []).map(Number);
      return v.length >= 3 ? [v[0], v[1], v[2], v.length > 3 ? v[3] : 1] : null;
    };
    const lum = ([r, g, b]) => {
      const f = (c) => { const x = c / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const blend = (fg, alpha, bg) => [0, 1, 2].map((i) => fg[i] * alpha + bg[i] * (1 - alpha));
    const short = [];
    const where = (el) => `${el.closest('svg').getAttribute('aria-labelledby')} ${el.tagName}.${(el.getAttribute('class') || '').replace(/ /g, '.')}`;
    for (const svg of document.querySelectorAll('svg.chart-svg')) {
      const bg = rgba(getComputedStyle(svg).backgroundColor);
      if (!bg || bg[3] !== 1) { short.push({ where: svg.getAttribute('aria-labelledby'), problem: 'chart background is not opaque' }); continue; }
      const backgrounds = [bg];
      for (const band of svg.querySelectorAll('.band')) {
        const cs = getComputedStyle(band);
        backgrounds.push(blend(rgba(cs.fill), Number(cs.fillOpacity) * (rgba(cs.fill)[3]), bg));
      }
      for (const text of svg.querySelectorAll('text')) {
        const fill = rgba(getComputedStyle(text).fill);
        const min = Math.min(...backgrounds.map((b) => ratio(fill, b)));
        if (!(min >= 4.5)) short.push({ where: where(text), ratio: Number(min.toFixed(2)), need: 4.5 });
      }
      for (const el of svg.querySelectorAll('.mark, .line, .cutoff')) {
        const cs = getComputedStyle(el);
        const paint = rgba(cs.stroke !== 'none' ? cs.stroke : cs.fill);
        const min = paint ? ratio(paint, bg) : 0;
        if (!(min >= 3)) short.push({ where: where(el), ratio: Number(min.toFixed(2)), need: 3 });
      }
    }
    return short;
  });
}

// Formats violations for an assertion message: rule ids and selectors, no page text.
export function describeViolations(where, violations) {
  const lines = [`${where}: ${violations.length} WCAG 2.1 A/AA finding(s)`];
  for (const v of violations) {
    lines.push(`  ${v.id} (${v.impact})`);
    for (const n of v.nodes) {
      lines.push(`    ${n.target} [${n.checks.join(', ')}]${n.data ? ` ${JSON.stringify(n.data)}` : ''}`);
    }
  }
  return lines.join('\n');
}

// Asserts that `target` has no WCAG 2.0/2.1 A or AA violation that axe can find, and nothing
// left undecided except the contrast of SVG text, which chartContrastShortfalls measures.
export async function assertAccessible(target, where) {
  const { violations, undecided, passes } = await axeResults(target);
  if (passes < 10) throw new Error(`${where}: axe ran only ${passes} rules; is the view there?`);
  if (violations.length) throw new Error(describeViolations(where, violations));
  const left = undecided
    .map((v) => ({ ...v, nodes: v.nodes.filter((n) => !(v.id === 'color-contrast' && n.svg)) }))
    .filter((v) => v.nodes.length);
  if (left.length) throw new Error(describeViolations(`${where} (undecided by axe)`, left));
  const charts = await chartContrastShortfalls(target);
  if (charts.length) throw new Error(`${where}: chart colours below WCAG contrast:\n${charts.map((c) => `  ${JSON.stringify(c)}`).join('\n')}`);
}

// What the keyboard focus looks like on the focused element: a visible outline or box-shadow.
export async function focusIndicator(target) {
  return target.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const cs = getComputedStyle(el);
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
    const shadow = cs.boxShadow && cs.boxShadow !== 'none';
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      visible: Boolean(outline || shadow),
      style: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}; box-shadow ${cs.boxShadow}`,
    };
  });
}
