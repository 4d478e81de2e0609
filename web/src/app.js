// Entry point of the SMART on FHIR app. launch.html starts the SMART App Launch (EHR launch
// with `iss` + `launch`, or a standalone patient launch with `iss` only) through fhirclient,
// with PKCE S256 required; index.html completes it, keeps the access token in memory only and
// shows the client view or the clinician view of an episode, live.
import FHIR from 'fhirclient';
import { h, replaceKeepingInput } from './dom.js';
import { t } from './strings.js';
import { Api, ApiError } from './api.js';
import { errorBox, errorMessage } from './ui.js';
import { People, clientView, clinicianView, markContentRevisions } from './views.js';

const main = () => document.getElementById('main');

function showFatal(err, extra) {
  const { text, detail } = errorMessage(err);
  main().replaceChildren(h('div', { class: 'error fatal', role: 'alert' },
    h('h2', {}, t('error.launch')), h('p', {}, text),
    detail ? h('p', { class: 'error-detail' }, t('error.detail', { detail })) : null,
    extra ? h('p', {}, extra) : null));
}

async function launch() {
  main().replaceChildren(h('p', { 'aria-busy': 'true' }, t('app.signingIn')));
  const response = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
  if (!response.ok) throw new ApiError(response.status, '', 'config.json');
  const config = await response.json();
  // One configured scope serves both launches: an EHR launch (`launch` in the URL) asks for
  // `launch`, a standalone launch for `launch/patient` (SMART App Launch 2.x, "Scopes").
  const params = new URLSearchParams(window.location.search);
  const ehrLaunch = params.has('launch');
  // Only FHIR servers the clinic configured may start the app (when it lists any), so a
  // crafted link cannot send someone's sign-in to another server.
  const allowed = Array.isArray(config.fhirServers) ? config.fhirServers : [];
  if (allowed.length && !allowed.includes(params.get('iss') || '')) {
    throw new ApiError(403, 'PERMISSION_DENIED', 'iss');
  }
  const scope = String(config.scope || '').split(/\s+/).filter((s) => s && s !== (ehrLaunch ? 'launch/patient' : 'launch')).join(' ');
  await FHIR.oauth2.authorize({
    clientId: config.clientId,
    scope,
    redirectUri: 'index.html',
    pkceMode: 'required',
    completeInTarget: true,
  });
}

// Removes fhirclient's state (which holds the tokens) from sessionStorage: the tokens live in
// this page's memory only, and a reload launches again.
function forgetStoredState() {
  const key = sessionStorage.getItem('SMART_KEY');
  if (key) {
    try { sessionStorage.removeItem(JSON.parse(key)); } catch (e) { sessionStorage.removeItem(key); }
  }
  sessionStorage.removeItem('SMART_KEY');
}

class Controller {
  constructor(api, me, launchPatient) {
    this.api = api;
    this.me = me;
    this.launchPatient = launchPatient;
    this.lastSequence = 0;
    this.refreshTimer = 0;
    this.abort = null;
    this.pending = [];
  }

  async start() {
    const episodes = await this.api.list('/v1/episodes', 'episodes');
    let candidates = episodes;
    if (this.launchPatient) {
      const ref = `Patient/${this.launchPatient}`;
      const forPatient = episodes.filter((e) => (e.participants || []).some((p) => p.person === ref));
      if (forPatient.length) candidates = forPatient;
    }
    if (candidates.length === 1) return this.open(candidates[0].name);
    this.showList(candidates);
    return undefined;
  }

  showList(episodes) {
    document.title = t('app.title');
    main().replaceChildren(h('section', { class: 'panel', 'aria-labelledby': 'list-h' },
      h('h2', { id: 'list-h' }, t('app.chooseEpisode')),
      episodes.length ? h('ul', { class: 'cards episode-list' }, episodes.map((e) => {
        const people = new People(e, this.me);
        const others = (e.participants || []).filter((p) => p.person !== this.me).map((p) => people.name(p.person));
        return h('li', { class: 'card' },
          h('p', {}, others.join(', ')),
          h('p', { class: 'meta' }, `${t(`format.${e.format}`)} · ${t(`modality.${e.modality}`)} · ${t('app.participantsCount', { n: (e.participants || []).length })}`),
          h('button', { type: 'button', class: 'open-episode', onclick: () => this.open(e.name) }, t('app.open')));
      })) : h('p', {}, t('app.noEpisodes'))));
  }

  async open(name) {
    this.name = name;
    this.lastSequence = 0;
    await this.refresh();
    this.watch();
  }

  async load() {
    const [episode, goals, hypotheses, reviews, progress] = await Promise.all([
      this.api.get(`/v1/${this.name}`),
      this.api.list(`/v1/${this.name}/goals`, 'goals'),
      this.api.list(`/v1/${this.name}/hypotheses`, 'hypotheses'),
      this.api.list(`/v1/${this.name}/reviews`, 'reviews'),
      this.api.get(`/v1/${this.name}/progress`),
    ]);
    await markContentRevisions(this.api, hypotheses, this.hypothesisContent || (this.hypothesisContent = new Map()));
    return { episode, goals, hypotheses, reviews, progress };
  }

  async refresh() {
    // Refreshes overlap (a write's own refresh and a live event's): a load started earlier
    // may finish later, with older data; only the latest started one is drawn.
    this.loads = (this.loads || 0) + 1;
    const load = this.loads;
    let data;
    try {
      data = await this.load();
    } catch (err) {
      if (load === this.loads) this.showError(err);
      return;
    }
    if (load !== this.loads) return;
    const people = new People(data.episode, this.me);
    const role = people.role(this.me);
    const ctx = {
      api: this.api, me: this.me, role, people, episode: data.episode, goals: data.goals,
      hypotheses: data.hypotheses, progress: data.progress,
      reviewsNewestFirst: [...data.reviews].sort((a, b) => String(b.meta && b.meta.createTime).localeCompare(String(a.meta && a.meta.createTime))),
      canWrite: data.episode.status !== 'CLOSED',
      refresh: () => this.refresh(),
    };
    const clinician = role === 'THERAPIST';
    document.body.classList.toggle('clinician', clinician);
    document.body.classList.toggle('client', !clinician);
    document.title = `${clinician ? t('clin.heading') : t('client.heading')} — ${t('app.title')}`;
    const heading = document.getElementById('view-title');
    if (heading) heading.textContent = clinician ? t('clin.heading') : t('client.heading');
    replaceKeepingInput(main(), clinician ? clinicianView(ctx) : clientView(ctx));
    main().dataset.loaded = String(Date.now());
  }

  showError(err) {
    const banner = document.getElementById('banner');
    banner.replaceChildren(errorBox(err), err instanceof ApiError && err.status === 401 ? h('p', {}, t('app.reload')) : null);
  }

  // Reads the episode's live events and refreshes what changed (debounced, so a burst of
  // events is one refresh). Reconnects with backoff, resuming after the last sequence.
  async watch() {
    if (this.abort) this.abort.abort();
    const abort = new AbortController();
    this.abort = abort;
    const status = document.getElementById('live');
    let delay = 1000;
    while (!abort.signal.aborted) {
      try {
        status.textContent = t('app.live');
        status.className = 'live on';
        await this.api.watch(this.name, this.lastSequence, (event) => {
          delay = 1000;
          const seq = Number(event.sequence || 0);
          if (seq > this.lastSequence) this.lastSequence = seq;
          this.pending.push(event.kind);
          clearTimeout(this.refreshTimer);
          this.refreshTimer = setTimeout(() => this.applyEvents(), 150);
        }, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) {
          status.textContent = '';
          this.showError(err);
          return;
        }
      }
      if (abort.signal.aborted) return;
      status.textContent = t('app.liveLost');
      status.className = 'live off';
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }

  async applyEvents() {
    const kinds = [...new Set(this.pending)];
    this.pending = [];
    await this.refresh();
    const what = kinds.map((k) => (t(`event.${k}`) === `event.${k}` ? t('event.other') : t(`event.${k}`))).join(', ');
    document.getElementById('announce').textContent = t('app.updated', { what });
  }
}

async function ready() {
  main().replaceChildren(h('p', { 'aria-busy': 'true' }, t('app.loading')));
  const client = await FHIR.oauth2.ready();
  forgetStoredState();
  const token = client.state.tokenResponse && client.state.tokenResponse.access_token;
  if (!token) throw new Error('no access token');
  const api = new Api(token);
  const { person } = await api.get('/v1/me');
  const fhirUser = client.getFhirUser();
  const who = document.getElementById('who');
  if (who) who.textContent = '';
  const controller = new Controller(api, person || fhirUser, client.patient && client.patient.id);
  await controller.start();
}

function boot() {
  for (const el of document.querySelectorAll('[data-string]')) el.textContent = t(el.dataset.string);
  const page = document.body.dataset.page;
  const run = page === 'launch' ? launch : ready;
  run().catch((err) => showFatal(err, err instanceof ApiError && err.status === 401 ? t('app.reload') : ''));
}

boot();
