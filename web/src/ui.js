// Shared pieces of the views: error messages people can read, text checks, forms that send
// one write and show its outcome, and the history of a record.
import { h, uid, when } from './dom.js';
import { t } from './strings.js';
import { ApiError, requestId } from './api.js';

export const MAX_TEXT_BYTES = 8192;  // the API's limit on text fields (8 KiB of UTF-8)

// A readable message for an error: what happened in plain words, then the server's own
// message (it names the field, e.g. "goal.words: must not be empty", never clinical text).
export function errorMessage(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return { text: t('error.network'), detail: '' };
    const key = `error.status.${err.status}`;
    const text = t(key) === key ? t('error.status.other') : t(key);
    return { text, detail: err.message && err.message !== String(err.status) ? err.message : '' };
  }
  return { text: t('error.status.other'), detail: err && err.message ? err.message : '' };
}

export function errorBox(err) {
  const { text, detail } = errorMessage(err);
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, t('error.title')), ' ', text,
    detail ? h('span', { class: 'error-detail' }, ' ', t('error.detail', { detail })) : null);
}

export class InputError extends Error {}

// Checks a text field before sending: required and at most 8 KiB of UTF-8.
export function checkText(value, label, { required = true } = {}) {
  if (required && !value.trim()) throw new InputError(t('error.empty', { field: label }));
  if (new TextEncoder().encode(value).length > MAX_TEXT_BYTES) {
    throw new InputError(t('error.tooLong', { field: label, max: MAX_TEXT_BYTES }));
  }
  return value;
}

// A labelled text area (or input). Returns {wrap, input}.
export function field(label, { multiline = true, help = '', value = '', name = '', type = 'text', id } = {}) {
  const inputId = id || uid('f');
  const helpId = help ? `${inputId}-help` : undefined;
  const input = multiline
    ? h('textarea', { id: inputId, name, rows: 3, 'aria-describedby': helpId })
    : h('input', { id: inputId, name, type, 'aria-describedby': helpId });
  input.value = value;
  const wrap = h('div', { class: 'field' },
    h('label', { for: inputId }, label),
    help ? h('p', { class: 'help', id: helpId }, help) : null,
    input);
  return { wrap, input };
}

// Marks a button busy while its write runs. Not `disabled`: a disabled button loses the
// keyboard focus (it would fall back to the page's start); aria-disabled keeps it where it was
// and tells screen readers the button cannot be used just now.
function busy(button, on) {
  if (on) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
}

// A live update may draw the view again while a form's write is under way: the form on screen
// is then a copy (known by its first input's id, as replaceKeepingInput keeps it). The outcome
// goes to the copy's status area, and the copy's fields take what the write left in the
// original (emptied after a new goal, say), so what was sent is not shown as still unsent.
function replacementOf(form) {
  if (form.isConnected) return null;
  const key = form.querySelector('input[id], textarea[id], select[id]');
  const now = key && document.getElementById(key.id);
  const other = now && now.closest('form');
  return other && other !== form ? other : null;
}

function currentStatus(form, status) {
  const other = replacementOf(form);
  return (other && other.querySelector('.form-status')) || status;
}

function syncReplacement(form) {
  const other = replacementOf(form);
  if (!other) return;
  for (const input of form.querySelectorAll('input[id], textarea[id], select[id]')) {
    const copy = other.querySelector(`#${CSS.escape(input.id)}`);
    if (!copy) continue;
    if (input.type === 'checkbox' || input.type === 'radio') copy.checked = input.checked;
    else copy.value = input.value;
    delete copy.dataset.dirty;
    copy.dispatchEvent(new Event('input')); // not bubbling: updates a slider's shown value only
  }
}

// A form whose submit runs `action(requestId)`; shows "Saved" or a readable error in a status
// area next to the button. The request id is kept for a retry after a network failure, so a
// retried write never happens twice.
export function actionForm(children, buttonText, action, { onDone, className = '' } = {}) {
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, buttonText);
  const form = h('form', { class: `action-form ${className}`, novalidate: true }, children, h('div', { class: 'form-actions' }, button), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    status.replaceChildren();
    busy(button, true);
    form.dataset.requestId = form.dataset.requestId || requestId();
    try {
      await action(form.dataset.requestId);
      delete form.dataset.requestId;
      for (const input of form.querySelectorAll('[data-dirty]')) delete input.dataset.dirty;
      syncReplacement(form);
      currentStatus(form, status).replaceChildren(h('p', { class: 'ok' }, t('app.saved')));
      if (onDone) await onDone();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 0)) delete form.dataset.requestId;
      currentStatus(form, status).replaceChildren(err instanceof InputError
        ? h('div', { class: 'error', role: 'alert' }, err.message)
        : errorBox(err));
      if (err instanceof ApiError && err.status === 409 && onDone) await onDone();
    } finally {
      busy(button, false);
    }
  });
  return form;
}

// A button that runs one write (e.g. "I reached this").
export function actionButton(text, action, { label, className = '', onDone } = {}) {
  const status = h('span', { class: 'form-status', 'aria-live': 'polite' });
  let id = '';
  const button = h('button', { type: 'button', class: className, 'aria-label': label }, text);
  button.addEventListener('click', async () => {
    if (button.getAttribute('aria-disabled') === 'true') return;
    busy(button, true);
    status.replaceChildren();
    id = id || requestId();
    try {
      await action(id);
      id = '';
      if (onDone) await onDone();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 0)) id = '';
      status.replaceChildren(errorBox(err));
    } finally {
      busy(button, false);
    }
  });
  return h('span', { class: 'action-button' }, button, status);
}

// A "History" disclosure that loads every revision of a record when opened. `render(rec)`
// shows one revision's content.
export function historyPanel(api, name, field, render, people) {
  const list = h('ol', { class: 'history-list' });
  const details = h('details', { class: 'history', id: `hist-${name.replace(/[^A-Za-z0-9]/g, '-')}` },
    h('summary', {}, t('app.history')), h('p', { class: 'muted' }, t('app.historyTitle')), list);
  const load = async () => {
    if (!details.open) return;
    list.replaceChildren(h('li', {}, t('app.loading')));
    try {
      const revisions = await api.list(`/v1/${name}/revisions`, field);
      list.replaceChildren(...revisions.map((rec) => h('li', {},
        h('p', { class: 'rev-head' }, h('strong', {}, t('app.revision', { n: (rec.meta && rec.meta.revision) || '?' })), ' ',
          t('app.changedBy', { who: people.name((rec.meta && rec.meta.updatedBy) || ''), when: when(rec.meta && rec.meta.updateTime) })),
        render(rec))));
    } catch (err) {
      list.replaceChildren(h('li', {}, errorBox(err)));
    }
  };
  details.addEventListener('toggle', load);
  return details;
}
