// A tiny DOM builder. Text always goes in as text nodes (never as HTML), so words written by
// people can never become markup or script.

// h('p', {class: 'x', onclick: fn}, 'text', child, [children]) → HTMLElement.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// The same for SVG elements.
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function applyAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'value' && 'value' in el && el.namespaceURI !== SVG_NS) {
      el.value = value;
    } else if (name === 'checked' || name === 'selected' || name === 'open') {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Unique ids for label/input pairs.
let nextId = 0;
export function uid(prefix = 'f') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// Replaces the children of `el`, keeping what the person was typing: values of inputs with an
// id, the focused element and open <details> survive a re-render (live updates re-render).
export function replaceKeepingInput(el, ...children) {
  const values = new Map();
  for (const input of el.querySelectorAll('input[id], textarea[id], select[id]')) {
    if (input.type === 'radio' || input.type === 'checkbox') values.set(input.id, { checked: input.checked });
    else if (input.dataset.dirty === '1') values.set(input.id, { value: input.value });
  }
  const open = new Set([...el.querySelectorAll('details[id]')].filter((d) => d.open).map((d) => d.id));
  const focus = focusKey(el);
  // What a form last said ("Saved", or why it was refused) stays after a re-render (a live
  // update may arrive while the person reads it); a form is known by its first input's id.
  const statuses = new Map();
  for (const form of el.querySelectorAll('form')) {
    const key = form.querySelector('input[id], textarea[id], select[id]');
    const status = form.querySelector('.form-status');
    if (key && status && status.childNodes.length) statuses.set(key.id, [...status.childNodes]);
  }
  el.replaceChildren(...children.flat(Infinity).filter(Boolean));
  for (const [id, nodes] of statuses) {
    const input = el.querySelector(`#${CSS.escape(id)}`);
    const status = input && input.closest('form') && input.closest('form').querySelector('.form-status');
    if (status && !status.childNodes.length) status.replaceChildren(...nodes);
  }
  for (const [id, saved] of values) {
    const input = el.querySelector(`#${CSS.escape(id)}`);
    if (!input) continue;
    if ('checked' in saved) input.checked = saved.checked;
    else { input.value = saved.value; input.dataset.dirty = '1'; input.dispatchEvent(new Event('input')); }
  }
  for (const id of open) {
    const d = el.querySelector(`#${CSS.escape(id)}`);
    if (d) d.open = true;
  }
  restoreFocus(el, focus);
}

// Where the keyboard focus is inside `el`, in terms that survive a re-render: the focused
// element's id; else its form (known by its first input's id) and its place among the form's
// controls; else the section it is in. A keyboard user then stays where they were instead of
// being sent back to the start of the page.
const FOCUSABLE = 'a[href], button, input, textarea, select, summary, [tabindex]';

function focusKey(el) {
  const active = document.activeElement;
  if (!active || active === el || !el.contains(active)) return null;
  if (active.id) return { id: active.id };
  const form = active.closest('form');
  const key = form && form.querySelector('input[id], textarea[id], select[id]');
  const section = active.closest('section[id]');
  return {
    form: key ? key.id : '',
    index: form ? [...form.querySelectorAll(FOCUSABLE)].indexOf(active) : -1,
    section: section ? section.id : '',
  };
}

function restoreFocus(el, focus) {
  if (!focus) return;
  const byId = (id) => (id ? el.querySelector(`#${CSS.escape(id)}`) : null);
  let target = byId(focus.id);
  if (!target && focus.form) {
    const key = byId(focus.form);
    const form = key && key.closest('form');
    if (form) target = form.querySelectorAll(FOCUSABLE)[focus.index] || null;
  }
  if (!target && focus.section) {
    const section = byId(focus.section);
    target = section && (section.querySelector('h2[tabindex]') || section);
  }
  if (target) target.focus({ preventScroll: true });
}

// Marks inputs the person has typed into, so a re-render keeps them.
document.addEventListener('input', (e) => {
  if (e.target && e.target.dataset) e.target.dataset.dirty = '1';
});

// Formats an RFC 3339 time for people.
export function when(time) {
  if (!time) return '';
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function day(time) {
  if (!time) return '';
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}
