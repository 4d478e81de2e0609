// collabcare's JSON API (the HTTP face): proto3 JSON over `/v1/...` with the SMART access token
// as a bearer token, and the episode's live events as server-sent events read with fetch()
// (EventSource cannot send the Authorization header, and a token never goes in a URL).

export class ApiError extends Error {
  // status: HTTP status (0 for a network failure); code: gRPC status name; message: the
  // server's message (names a field path, never clinical text).
  constructor(status, code, message) {
    super(message || code || String(status));
    this.status = status;
    this.code = code || '';
  }
}

export class Api {
  // `token` lives only in this object (memory), never in storage or a URL.
  constructor(token, base = '') {
    this.token = token;
    this.base = base;
  }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
    const init = { method, headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.base + path, init);
    } catch (e) {
      throw new ApiError(0, 'UNAVAILABLE', '');
    }
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : {}; } catch (e) { json = null; }
    if (!response.ok) {
      const err = json && json.error ? json.error : {};
      throw new ApiError(response.status, err.status || '', err.message || '');
    }
    return json || {};
  }

  get(path) { return this.call('GET', path); }
  post(path, body) { return this.call('POST', path, body || {}); }
  patch(path, body) { return this.call('PATCH', path, body); }

  // Reads every page of a list.
  async list(path, field) {
    const out = [];
    let token = '';
    for (let i = 0; i < 100; i += 1) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.get(`${path}${sep}pageSize=200${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
      out.push(...(page[field] || []));
      token = page.nextPageToken || '';
      if (!token) break;
    }
    return out;
  }

  // Streams the episode's events after `afterSequence` to `onEvent(event)` until `signal`
  // aborts. Resolves when the stream ends; rejects with ApiError on a refused request.
  async watch(episode, afterSequence, onEvent, signal) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' };
    if (afterSequence > 0) headers['Last-Event-ID'] = String(afterSequence);
    const response = await fetch(`${this.base}/v1/${episode}:watch?afterSequence=${afterSequence}`,
      { headers, signal, cache: 'no-store', credentials: 'omit' });
    if (!response.ok || !response.body) {
      let err = {};
      try { err = (await response.json()).error || {}; } catch (e) { /* not JSON */ }
      throw new ApiError(response.status, err.status || '', err.message || '');
    }
    let streamError = null;
    const parser = new SseParser((msg) => {
      if (!msg.data) return;
      if (msg.event === 'error') {
        // The server ends the stream and says why; the caller reconnects after the last id.
        try { const e = JSON.parse(msg.data).error || {}; streamError = new ApiError(e.code || 503, e.status || '', e.message || ''); } catch (e) { streamError = new ApiError(503, '', ''); }
        return;
      }
      if (msg.event && msg.event !== 'message') return;
      let event;
      try { event = JSON.parse(msg.data); } catch (e) { return; }
      onEvent(event);
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    if (streamError) throw streamError;
  }
}

// Parses a text/event-stream (WHATWG HTML, "Server-sent events"): `id:`, `event:`, `data:`
// fields, blank line ends a message, lines starting with ':' are comments (keepalives).
export class SseParser {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.buffer = '';
    this.reset();
  }

  reset() {
    this.data = [];
    this.id = '';
    this.event = '';
  }

  push(chunk) {
    this.buffer += chunk;
    let index;
    while ((index = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, index);
      const eol = this.buffer[index] === '\r' && this.buffer[index + 1] === '\n' ? 2 : 1;
      this.buffer = this.buffer.slice(index + eol);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length) this.onMessage({ id: this.id, event: this.event, data: this.data.join('\n') });
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    else if (field === 'event') this.event = value;
  }
}

// A fresh idempotency key for a write; a retry of the same action reuses it.
export function requestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
