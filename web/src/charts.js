// Progress charts as inline SVG: one line per rater (never averaged), told apart by shape,
// dash and a label at the line's end as well as colour; an optional clinical cut-off line,
// a reliable-change band around the first score, and flagged points ringed. Each chart comes
// with its text alternative (a table).
import { h, s, day } from './dom.js';
import { t } from './strings.js';

const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 2'];

function marker(shape, x, y, cls) {
  const r = 5;
  switch (shape) {
    case 'square': return s('rect', { x: x - r, y: y - r, width: 2 * r, height: 2 * r, class: cls });
    case 'triangle': return s('path', { d: `M${x},${y - r - 1} L${x + r + 1},${y + r} L${x - r - 1},${y + r} Z`, class: cls });
    case 'diamond': return s('path', { d: `M${x},${y - r - 1} L${x + r + 1},${y} L${x},${y + r + 1} L${x - r - 1},${y} Z`, class: cls });
    case 'cross': return s('path', { d: `M${x - r},${y - r} L${x + r},${y + r} M${x - r},${y + r} L${x + r},${y - r}`, class: `${cls} cross` });
    default: return s('circle', { cx: x, cy: y, r, class: cls });
  }
}

// series: [{label, points: [{review, time, value, flagged}]}]; options: {title, max,
// cutoff: {value, label}, band: number}. Returns a <figure>.
export function lineChart(series, options) {
  const { title, max = 10 } = options;
  const figure = h('figure', { class: 'chart' });
  const caption = h('figcaption', {}, title);
  figure.append(caption);
  const withPoints = series.filter((x) => x.points && x.points.length);
  if (!withPoints.length) {
    figure.append(h('p', { class: 'muted' }, t('chart.noData')));
    return figure;
  }
  // The x axis: every review any rater scored in, oldest first.
  const reviews = new Map();
  for (const one of withPoints) {
    for (const p of one.points) {
      if (!reviews.has(p.review)) reviews.set(p.review, p.time || '');
    }
  }
  const order = [...reviews.entries()].sort((a, b) => String(a[1]).localeCompare(String(b[1])));
  const index = new Map(order.map(([name], i) => [name, i]));

  const W = 320; const H = 180; const left = 30; const right = 104; const top = 12; const bottom = 28;
  const plotW = W - left - right; const plotH = H - top - bottom;
  const xOf = (i) => left + (order.length === 1 ? plotW / 2 : (plotW * i) / (order.length - 1));
  const yOf = (v) => top + plotH - (plotH * Math.max(0, Math.min(max, v))) / max;

  const titleId = `chart-t-${Math.random().toString(36).slice(2)}`;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': titleId, class: 'chart-svg', focusable: 'false' });
  const summary = withPoints.map((one) => t('chart.summary', {
    who: one.label, n: one.points.length, first: one.points[0].value, last: one.points[one.points.length - 1].value,
  })).join('; ');
  svg.append(s('title', { id: titleId }, `${title}. ${summary}`));

  // Grid and axis labels.
  const ticks = max === 10 ? [0, 5, 10] : [0, 10, 20, 30, 40];
  for (const v of ticks) {
    svg.append(s('line', { x1: left, x2: left + plotW, y1: yOf(v), y2: yOf(v), class: 'grid' }));
    svg.append(s('text', { x: left - 4, y: yOf(v) + 4, class: 'axis', 'text-anchor': 'end' }, String(v)));
  }
  order.forEach(([, time], i) => {
    svg.append(s('text', { x: xOf(i), y: H - 8, class: 'axis', 'text-anchor': 'middle' }, String(i + 1)));
  });

  // Reliable-change band around the first rater's first score.
  if (options.band && withPoints[0].points.length) {
    const base = withPoints[0].points[0].value;
    const lo = Math.max(0, base - options.band); const hi = Math.min(max, base + options.band);
    svg.append(s('rect', { x: left, y: yOf(hi), width: plotW, height: yOf(lo) - yOf(hi), class: 'band' },
      s('title', {}, t('chart.band', { value: options.band }))));
  }
  if (options.cutoff) {
    const y = yOf(options.cutoff.value);
    svg.append(s('line', { x1: left, x2: left + plotW, y1: y, y2: y, class: 'cutoff' }));
    svg.append(s('text', { x: left + 3, y: y - 3, class: 'cutoff-label' }, options.cutoff.label));
  }

  withPoints.forEach((one, k) => {
    const shape = SHAPES[k % SHAPES.length];
    const cls = `series series-${k % SHAPES.length}`;
    const pts = one.points
      .map((p) => ({ ...p, x: xOf(index.get(p.review)), y: yOf(p.value) }))
      .sort((a, b) => a.x - b.x);
    if (pts.length > 1) {
      svg.append(s('polyline', {
        points: pts.map((p) => `${p.x},${p.y}`).join(' '),
        class: `${cls} line`, 'stroke-dasharray': DASHES[k % DASHES.length] || undefined,
      }));
    }
    for (const p of pts) {
      const g = s('g', { class: 'point', 'data-value': p.value, 'data-rater': one.label });
      if (p.flagged) g.append(s('circle', { cx: p.x, cy: p.y, r: 9, class: 'flag-ring' }));
      g.append(marker(shape, p.x, p.y, `${cls} mark`));
      g.append(s('title', {}, `${one.label}: ${p.value}${p.flagged ? ` (${t('chart.flagged')})` : ''}`));
      svg.append(g);
    }
    const last = pts[pts.length - 1];
    svg.append(s('text', { x: left + plotW + 4, y: Math.min(H - bottom, last.y + 4 + 11 * k - (withPoints.length - 1) * 5), class: `legend series-${k % SHAPES.length}` },
      `${shapeGlyph(shape)} ${shorten(one.label, 14)}`));
  });
  figure.append(svg);

  // The text alternative.
  const table = h('table', { class: 'chart-table' },
    h('caption', { class: 'visually-hidden' }, title),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('chart.review')),
      withPoints.map((one, k) => h('th', { scope: 'col' }, `${shapeGlyph(SHAPES[k % SHAPES.length])} ${one.label}`)))),
    h('tbody', {}, order.map(([name, time], i) => h('tr', {},
      h('th', { scope: 'row' }, `${i + 1} (${day(time)})`),
      withPoints.map((one) => {
        const p = one.points.find((q) => q.review === name);
        return h('td', {}, p ? `${p.value}${p.flagged ? ` — ${t('chart.flagged')}` : ''}` : '—');
      })))));
  figure.append(h('details', { class: 'chart-alt' }, h('summary', {}, t('chart.textAlternative')), table));
  return figure;
}

function shapeGlyph(shape) {
  return { circle: '●', square: '■', triangle: '▲', diamond: '◆', cross: '✕' }[shape] || '●';
}

function shorten(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
