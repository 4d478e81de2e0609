// The client view (phone-first, plain language) and the clinician view (a narrow EHR side
// panel) of one episode. Both offer only what the caller may do (DESIGN.md, "Who may do
// what"); the server checks every rule again.
import { h, uid, when, day } from './dom.js';
import { t } from './strings.js';
import { actionButton, actionForm, checkText, field, historyPanel, InputError } from './ui.js';
import { lineChart } from './charts.js';
import { instrumentInfo } from './instruments.js';
import { ApiError } from './api.js';

const CLIENT_SIDE = new Set(['CLIENT', 'FAMILY_MEMBER']);

// Who is who in the episode, for labels.
export class People {
  constructor(episode, me) {
    this.me = me;
    this.participants = episode.participants || [];
  }
  role(ref) {
    const p = this.participants.find((x) => x.person === ref);
    return p ? p.role : '';
  }
  name(ref) {
    if (!ref) return '';
    const p = this.participants.find((x) => x.person === ref);
    const base = p && p.display ? p.display : (p ? t(`role.${p.role}`) : ref);
    return ref === this.me ? `${base} (${t('app.you')})` : base;
  }
  clientSide() { return this.participants.filter((p) => CLIENT_SIDE.has(p.role)); }
  therapists() { return this.participants.filter((p) => p.role === 'THERAPIST'); }
}

function num(x) { return Number(x || 0); }

function sortGoals(goals) {
  return [...goals].sort((a, b) => {
    const pa = a.priority || 1e9; const pb = b.priority || 1e9;
    if (pa !== pb) return pa - pb;
    return String(a.meta && a.meta.createTime).localeCompare(String(b.meta && b.meta.createTime));
  });
}

function goalWords(goals, name) {
  const g = goals.find((x) => x.name === name);
  return g ? g.words : '';
}

function section(id, title, ...children) {
  const headingId = `${id}-h`;
  return h('section', { id, class: 'panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId, tabindex: '-1' }, title), children);
}

// ---------------------------------------------------------------------------------------------
// Goals

function goalMeta(goal, people) {
  return h('p', { class: 'meta' },
    h('span', { class: `badge status-${goal.status}` }, t(`goal.status.${goal.status || 'ACTIVE'}`)),
    goal.priority ? h('span', { class: 'badge' }, t('goal.priority', { n: goal.priority })) : null,
    goal.visibility === 'OWNER_AND_THERAPISTS' ? h('span', { class: 'badge' }, t('goal.private')) : null);
}

function goalHistory(ctx, goal) {
  return historyPanel(ctx.api, goal.name, 'goals', (rec) => h('div', {},
    h('p', { class: 'words' }, rec.words || ''),
    rec.everydaySigns ? h('p', { class: 'signs' }, t('client.signsLabel'), ' ', rec.everydaySigns) : null,
    h('p', { class: 'meta' }, t(`goal.status.${rec.status || 'ACTIVE'}`),
      rec.priority ? [' · ', t('goal.priority', { n: rec.priority })] : null),
    rec.understanding && rec.understanding.restatement
      ? h('p', { class: 'meta' }, `${t('clin.understanding')}: ${rec.understanding.restatement} — ${t(`goal.verdict.${rec.understanding.verdict || 'UNCONFIRMED'}`)}${rec.understanding.correction ? `: ${rec.understanding.correction}` : ''}`)
      : null), ctx.people);
}

function myGoalCard(ctx, goal, index, mine) {
  const { api, people, refresh, canWrite } = ctx;
  const etag = goal.meta && goal.meta.etag;
  const update = (fields, mask) => (rid) => api.patch(`/v1/${goal.name}`, {
    goal: { name: goal.name, ...fields, meta: { etag } }, updateMask: mask, requestId: rid,
  });
  const n = index + 1;
  const controls = [];
  if (canWrite) {
    if (goal.status === 'PROPOSED') {
      controls.push(actionButton(t('client.accept'), update({ status: 'ACTIVE' }, 'status'), { onDone: refresh }));
    }
    if (index > 0) controls.push(actionButton(t('client.moveUp'), (rid) => reorder(ctx, mine, index, index - 1, rid), { label: t('client.moveUpLabel', { n }), onDone: refresh }));
    if (index < mine.length - 1) controls.push(actionButton(t('client.moveDown'), (rid) => reorder(ctx, mine, index, index + 1, rid), { label: t('client.moveDownLabel', { n }), onDone: refresh }));
    if (goal.status === 'ACTIVE') {
      controls.push(actionButton(t('client.achieved'), update({ status: 'ACHIEVED' }, 'status'), { onDone: refresh }));
      controls.push(actionButton(t('client.pause'), update({ status: 'PAUSED' }, 'status'), { onDone: refresh }));
    }
    if (goal.status === 'PAUSED' || goal.status === 'ACHIEVED' || goal.status === 'LET_GO') {
      controls.push(actionButton(t('client.resume'), update({ status: 'ACTIVE' }, 'status'), { onDone: refresh }));
    }
    if (goal.status !== 'LET_GO') controls.push(actionButton(t('client.letGo'), update({ status: 'LET_GO' }, 'status'), { onDone: refresh }));
  }

  let edit = null;
  if (canWrite) {
    const words = field(t('client.goalWords'), { value: goal.words || '', id: `edit-words-${goal.name}` });
    const signs = field(t('client.goalSigns'), { value: goal.everydaySigns || '', id: `edit-signs-${goal.name}` });
    edit = h('details', { class: 'edit', id: `edit-${goal.name}` }, h('summary', {}, t('client.edit')),
      actionForm([words.wrap, signs.wrap], t('app.save'), (rid) => update({
        words: checkText(words.input.value, t('client.goalWords')),
        everydaySigns: checkText(signs.input.value, t('client.goalSigns'), { required: false }),
      }, 'words,everydaySigns')(rid), { onDone: refresh }));
  }

  return h('li', { class: 'card goal mine', 'data-goal': goal.name },
    goal.status === 'PROPOSED' ? h('p', { class: 'note' }, t('client.proposedNote')) : null,
    h('p', { class: 'words' }, goal.words),
    goal.everydaySigns ? h('p', { class: 'signs' }, h('strong', {}, t('client.signsLabel')), ' ', goal.everydaySigns) : null,
    goalMeta(goal, people),
    understandingForOwner(ctx, goal),
    controls.length ? h('div', { class: 'controls' }, controls) : null,
    edit,
    goalHistory(ctx, goal));
}

// Moves my goal at `from` to `to` and writes 1..n priorities for the goals whose rank changed.
async function reorder(ctx, mine, from, to, rid) {
  const order = [...mine];
  const [moved] = order.splice(from, 1);
  order.splice(to, 0, moved);
  let k = 0;
  for (const [i, goal] of order.entries()) {
    if (goal.priority === i + 1) continue;
    k += 1;
    await ctx.api.patch(`/v1/${goal.name}`, {
      goal: { name: goal.name, priority: i + 1, meta: { etag: goal.meta && goal.meta.etag } },
      updateMask: 'priority', requestId: `${rid}-${k}`,
    });
  }
}

function understandingForOwner(ctx, goal) {
  const u = goal.understanding;
  if (!u || !u.restatement) return null;
  const box = h('div', { class: 'understanding' },
    h('p', {}, t('client.understanding', { who: ctx.people.name(u.restatedBy) })),
    h('blockquote', {}, u.restatement));
  if (u.verdict === 'CONFIRMED') box.append(h('p', { class: 'meta' }, t('client.confirmed')));
  if (u.verdict === 'CORRECTED') box.append(h('p', { class: 'meta' }, t('client.corrected', { words: u.correction || '' })));
  if (ctx.canWrite && (!u.verdict || u.verdict === 'UNCONFIRMED')) {
    const etag = goal.meta && goal.meta.etag;
    const correction = field(t('client.correctionLabel'), { id: `corr-${goal.name}` });
    box.append(h('div', { class: 'controls' },
      actionButton(t('client.confirm'), (rid) => ctx.api.post(`/v1/${goal.name}:confirmUnderstanding`,
        { verdict: 'CONFIRMED', etag, requestId: rid }), { onDone: ctx.refresh })),
    h('details', { class: 'edit', id: `corr-d-${goal.name}` }, h('summary', {}, t('client.correct')),
      actionForm([correction.wrap], t('client.saveCorrection'), (rid) => ctx.api.post(`/v1/${goal.name}:confirmUnderstanding`, {
        verdict: 'CORRECTED', correction: checkText(correction.input.value, t('client.correctionLabel')), etag, requestId: rid,
      }), { onDone: ctx.refresh })));
  }
  return box;
}

function newGoalForm(ctx) {
  const words = field(t('client.goalWords'), { help: t('client.goalWordsHelp'), id: 'new-goal-words', name: 'words' });
  const signs = field(t('client.goalSigns'), { help: t('client.goalSignsHelp'), id: 'new-goal-signs', name: 'signs' });
  const privateId = 'new-goal-private';
  const priv = h('input', { type: 'checkbox', id: privateId });
  return h('div', { class: 'card new-goal' }, h('h3', {}, t('client.newGoal')),
    actionForm([words.wrap, signs.wrap, h('div', { class: 'field check' }, priv, h('label', { for: privateId }, t('client.goalPrivate')))],
      t('client.addGoal'), async (rid) => {
        const goal = {
          words: checkText(words.input.value, t('client.goalWords')),
          everydaySigns: checkText(signs.input.value, t('client.goalSigns'), { required: false }),
        };
        if (priv.checked) goal.visibility = 'OWNER_AND_THERAPISTS';
        await ctx.api.post(`/v1/${ctx.episode.name}/goals`, { goal, requestId: rid });
        words.input.value = ''; signs.input.value = ''; priv.checked = false;
      }, { onDone: ctx.refresh, className: 'new-goal-form' }));
}

function clientGoals(ctx) {
  const mine = sortGoals(ctx.goals.filter((g) => g.owner === ctx.me));
  const others = sortGoals(ctx.goals.filter((g) => g.owner !== ctx.me));
  return section('goals', t('client.goals'),
    h('p', { class: 'help' }, t('client.goalsHelp')),
    mine.length ? h('ol', { class: 'cards' }, mine.map((g, i) => myGoalCard(ctx, g, i, mine))) : h('p', { class: 'muted' }, t('app.none')),
    ctx.canWrite ? newGoalForm(ctx) : null,
    others.length ? [h('h3', {}, t('client.othersGoals')), h('ul', { class: 'cards' }, others.map((g) => h('li', { class: 'card goal', 'data-goal': g.name },
      h('p', { class: 'owner' }, t('goal.of', { who: ctx.people.name(g.owner) })),
      h('p', { class: 'words' }, g.words),
      g.everydaySigns ? h('p', { class: 'signs' }, h('strong', {}, t('client.signsLabel')), ' ', g.everydaySigns) : null,
      goalMeta(g, ctx.people))))] : null);
}

function latestRatings(ctx, goalName) {
  // Each rater's score on this goal in the most recent review that has any: side by side.
  for (const review of ctx.reviewsNewestFirst) {
    const ratings = (review.ratings || []).filter((r) => r.goal === goalName);
    if (ratings.length) return { review, ratings };
  }
  return null;
}

function clinicianGoals(ctx) {
  const goals = sortGoals(ctx.goals);
  return section('goals', t('clin.goals'),
    goals.length ? h('ul', { class: 'cards' }, goals.map((goal) => {
      const u = goal.understanding;
      const restate = field(t('clin.restateLabel'), { id: `restate-${goal.name}` });
      const voices = latestRatings(ctx, goal.name);
      return h('li', { class: 'card goal', 'data-goal': goal.name },
        h('p', { class: 'owner' }, t('goal.of', { who: ctx.people.name(goal.owner) })),
        h('p', { class: 'words' }, goal.words),
        goal.everydaySigns ? h('p', { class: 'signs' }, h('strong', {}, t('client.signsLabel')), ' ', goal.everydaySigns) : null,
        goalMeta(goal, ctx.people),
        u && u.restatement ? h('div', { class: 'understanding' },
          h('p', {}, h('strong', {}, `${t('clin.understanding')}: `), u.restatement),
          h('p', { class: 'meta' }, t('clin.verdict', { verdict: t(`goal.verdict.${u.verdict || 'UNCONFIRMED'}`) })),
          u.correction ? h('p', {}, h('strong', {}, t('clin.correction')), ' ', u.correction) : null) : null,
        voices ? h('div', { class: 'voices' }, h('p', { class: 'meta' }, t('clin.voices')),
          h('ul', { class: 'voice-list' }, voices.ratings.map((r) => h('li', {}, h('span', {}, ctx.people.name(r.rater)), ' ', h('strong', {}, String(r.score)))))) : null,
        ctx.canWrite ? h('details', { class: 'edit', id: `restate-d-${goal.name}` }, h('summary', {}, t('clin.restate')),
          actionForm([restate.wrap], t('clin.restateSave'), (rid) => ctx.api.post(`/v1/${goal.name}:restate`, {
            restatement: checkText(restate.input.value, t('clin.restateLabel')), etag: goal.meta && goal.meta.etag, requestId: rid,
          }), { onDone: ctx.refresh })) : null,
        goalHistory(ctx, goal));
    })) : h('p', { class: 'muted' }, t('clin.noGoals')));
}

// ---------------------------------------------------------------------------------------------
// Hypotheses

function effectiveAudience(ctx, hyp) {
  return hyp.audience && hyp.audience.length ? hyp.audience : ctx.people.clientSide().map((p) => p.person);
}

// Whether an answer was given to an earlier wording of the hypothesis (it was revised since).
// Every answer is a revision too, so the record's own revision cannot tell: `contentRevision`
// (set by markContentRevisions) is the revision where the thought itself last changed.
function answeredEarlier(hyp, response) {
  const changed = Number(hyp.contentRevision || 0);
  return Boolean(response && changed && Number(response.answeredRevision || 0) < changed);
}

const sameThought = (a, b) => a.text === b.text && a.tentativeness === b.tentativeness && a.kind === b.kind
  && JSON.stringify(a.code || null) === JSON.stringify(b.code || null);

// Sets `contentRevision` on each hypothesis that has answers, from its revisions (read only
// when the hypothesis changed since the last call; `cache` maps name → {revision, content}).
export async function markContentRevisions(api, hypotheses, cache) {
  await Promise.all(hypotheses.map(async (hyp) => {
    const revision = Number((hyp.meta && hyp.meta.revision) || 0);
    if (!(hyp.responses || []).length || revision <= 1) return;
    let known = cache.get(hyp.name);
    if (!known || known.revision !== revision) {
      const revisions = await api.list(`/v1/${hyp.name}/revisions`, 'hypotheses');
      let content = 1;
      revisions.sort((a, b) => Number(a.meta.revision) - Number(b.meta.revision));
      for (let i = 1; i < revisions.length; i += 1) {
        if (!sameThought(revisions[i - 1], revisions[i])) content = Number(revisions[i].meta.revision);
      }
      known = { revision, content };
      cache.set(hyp.name, known);
    }
    hyp.contentRevision = known.content;
  }));
}

const STANCES = ['FITS', 'PARTLY_FITS', 'DOES_NOT_FIT', 'NOT_NOW', 'WANT_TO_TALK'];

function hypothesisText(ctx, hyp) {
  return [
    h('p', { class: 'meta' }, t(`hyp.kind.${hyp.kind || 'PERSONAL'}`), ' · ', t(`hyp.status.${hyp.status || 'OPEN'}`)),
    h('p', { class: 'tentative' }, t(`hyp.tent.${hyp.tentativeness || 'WONDERING'}`, { who: ctx.people.name(hyp.author) })),
    h('blockquote', { class: 'hyp-text' }, hyp.text),
    hyp.code && hyp.code.code ? h('p', { class: 'meta' }, t('hyp.code', { display: hyp.code.display || '', code: hyp.code.code })) : null,
  ];
}

// Sends the caller's answer to the version of the hypothesis they read (its etag). Someone
// else's answer in the meantime changes the etag but not the thought: then the answer is sent
// again on the latest version. A revised thought is a real conflict: the person sees the new
// words first (the 409 message and a refresh).
async function respond(ctx, hyp, answer, rid) {
  const send = (etag, id) => ctx.api.post(`/v1/${hyp.name}:respond`, { ...answer, etag, requestId: id });
  try {
    return await send(hyp.meta && hyp.meta.etag, rid);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
    const latest = await ctx.api.get(`/v1/${hyp.name}`);
    if (!sameThought(latest, hyp)) throw err;
    return send(latest.meta && latest.meta.etag, `${rid}-latest`);
  }
}

function clientHypotheses(ctx) {
  const mine = ctx.hypotheses.filter((hyp) => effectiveAudience(ctx, hyp).includes(ctx.me));
  return section('hypotheses', t('client.hypotheses'),
    h('p', { class: 'help' }, t('client.hypothesesHelp')),
    mine.length ? h('ul', { class: 'cards' }, mine.map((hyp) => {
      const mineNow = (hyp.responses || []).find((r) => r.person === ctx.me);
      const groupName = uid('stance');
      const legendId = uid('lg');
      const radios = STANCES.map((stance) => {
        const id = `stance-${hyp.name}-${stance}`;
        return h('div', { class: 'radio' },
          h('input', { type: 'radio', name: groupName, id, value: stance, checked: mineNow && mineNow.stance === stance }),
          h('label', { for: id }, t(`hyp.stance.${stance}`)));
      });
      const words = field(t('client.answerWords'), { id: `answer-${hyp.name}` });
      return h('li', { class: 'card hypothesis', 'data-hypothesis': hyp.name },
        hypothesisText(ctx, hyp),
        mineNow ? h('p', { class: 'answer' }, t('client.answered', { stance: t(`hyp.stance.${mineNow.stance}`) }),
          mineNow.words ? [' — “', mineNow.words, '”'] : null,
          answeredEarlier(hyp, mineNow) ? h('strong', { class: 'stale' }, ' ', t('client.answeredEarlier')) : null) : null,
        ctx.canWrite ? actionForm([
          h('fieldset', { 'aria-labelledby': legendId }, h('legend', { id: legendId }, t('client.yourAnswer')), radios),
          words.wrap,
        ], t('client.sendAnswer'), (rid) => {
          const chosen = radios.map((r) => r.querySelector('input')).find((i) => i.checked);
          if (!chosen) throw new InputError(t('error.empty', { field: t('client.yourAnswer') }));
          return respond(ctx, hyp, {
            stance: chosen.value, words: checkText(words.input.value, t('client.answerWords'), { required: false }),
          }, rid);
        }, { onDone: ctx.refresh, className: 'answer-form' }) : null);
    })) : h('p', { class: 'muted' }, t('client.noHypotheses')));
}

function selectField(label, options, value, id) {
  const sel = h('select', { id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), sel), input: sel };
}

function clinicianHypotheses(ctx) {
  const kinds = ['PROFESSIONAL', 'PERSONAL', 'THEORETICAL'].map((k) => [k, t(`hyp.kind.${k}`)]);
  const tents = ['WONDERING', 'CONSIDERING', 'FAIRLY_CONFIDENT'].map((k) => [k, t(`hyp.tentName.${k}`)]);
  const statuses = ['OPEN', 'SET_ASIDE', 'HELD_TOGETHER'].map((k) => [k, t(`hyp.status.${k}`)]);

  const list = ctx.hypotheses.map((hyp) => {
    const audience = effectiveAudience(ctx, hyp);
    const text = field(t('clin.hypText'), { value: hyp.text, id: `rev-text-${hyp.name}` });
    const tent = selectField(t('clin.hypTentativeness'), tents, hyp.tentativeness, `rev-tent-${hyp.name}`);
    const status = selectField(t('clin.hypStatus'), statuses, hyp.status || 'OPEN', `rev-status-${hyp.name}`);
    return h('li', { class: 'card hypothesis', 'data-hypothesis': hyp.name },
      hypothesisText(ctx, hyp),
      h('h4', {}, t('clin.answers')),
      h('ul', { class: 'answers' }, audience.map((person) => {
        const r = (hyp.responses || []).find((x) => x.person === person);
        return h('li', { 'data-person': person }, h('strong', {}, ctx.people.name(person)), ': ',
          r ? [t(`hyp.stance.${r.stance}`), r.words ? [' — “', r.words, '”'] : null,
            answeredEarlier(hyp, r) ? h('span', { class: 'meta stale' }, ' ', t('hyp.answeredEarlier')) : null]
            : h('span', { class: 'muted' }, t('hyp.noAnswer')));
      })),
      ctx.canWrite ? h('details', { class: 'edit', id: `revise-d-${hyp.name}` }, h('summary', {}, t('clin.revise')),
        actionForm([text.wrap, tent.wrap, status.wrap], t('clin.reviseSave'), (rid) => ctx.api.patch(`/v1/${hyp.name}`, {
          hypothesis: {
            name: hyp.name, text: checkText(text.input.value, t('clin.hypText')), tentativeness: tent.input.value,
            status: status.input.value, meta: { etag: hyp.meta && hyp.meta.etag },
          },
          updateMask: 'text,tentativeness,status', requestId: rid,
        }), { onDone: ctx.refresh })) : null,
      historyPanel(ctx.api, hyp.name, 'hypotheses', (rec) => h('div', {}, hypothesisText(ctx, rec),
        // Each version's answers, so a version that only recorded an answer says whose.
        (rec.responses || []).length ? h('ul', { class: 'answers' }, rec.responses.map((r) => h('li', {},
          h('strong', {}, ctx.people.name(r.person)), ': ', t(`hyp.stance.${r.stance}`), r.words ? [' — “', r.words, '”'] : null))) : null), ctx.people));
  });

  let form = null;
  if (ctx.canWrite) {
    const kind = selectField(t('clin.hypKind'), kinds, 'PERSONAL', 'share-kind');
    const text = field(t('clin.hypText'), { id: 'share-text' });
    const tent = selectField(t('clin.hypTentativeness'), tents, 'WONDERING', 'share-tent');
    const audienceChecks = ctx.people.clientSide().map((p) => {
      const id = `share-aud-${p.person}`;
      return h('div', { class: 'check' }, h('input', { type: 'checkbox', id, value: p.person }), h('label', { for: id }, ctx.people.name(p.person)));
    });
    const audienceLegend = uid('lg');
    const codeSystem = field(t('clin.hypCodeSystem'), { multiline: false, id: 'share-code-system', value: '' });
    const code = field(t('clin.hypCode'), { multiline: false, id: 'share-code' });
    const codeDisplay = field(t('clin.hypCodeDisplay'), { multiline: false, id: 'share-code-display' });
    form = h('details', { class: 'card share', id: 'share-hypothesis' }, h('summary', {}, t('clin.shareHypothesis')),
      actionForm([kind.wrap, text.wrap, tent.wrap,
        h('fieldset', { 'aria-labelledby': audienceLegend }, h('legend', { id: audienceLegend }, t('clin.hypAudience')),
          h('p', { class: 'help' }, t('clin.hypAudienceAll')), audienceChecks),
        h('details', { class: 'code' }, h('summary', {}, t('clin.hypCode')), codeSystem.wrap, code.wrap, codeDisplay.wrap)],
      t('clin.hypShare'), async (rid) => {
        const hypothesis = {
          kind: kind.input.value, text: checkText(text.input.value, t('clin.hypText')), tentativeness: tent.input.value,
          audience: audienceChecks.map((c) => c.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
        };
        if (code.input.value.trim()) {
          hypothesis.code = { system: codeSystem.input.value.trim(), code: code.input.value.trim(), display: codeDisplay.input.value.trim() };
        }
        await ctx.api.post(`/v1/${ctx.episode.name}/hypotheses`, { hypothesis, requestId: rid });
        text.input.value = '';
      }, { onDone: ctx.refresh, className: 'share-form' }));
  }
  return section('hypotheses', t('clin.hypotheses'), form,
    list.length ? h('ul', { class: 'cards' }, list) : h('p', { class: 'muted' }, t('app.none')));
}

// ---------------------------------------------------------------------------------------------
// Reviews

// A 0–10 slider. It starts in the middle but counts as a rating only once the person has moved
// it (or rated before): an untouched slider is "not rated yet", never a silent 5.
function slider(id, label, value, { low, high, vas = false } = {}) {
  const input = h('input', {
    type: 'range', id, min: 0, max: 10, step: 0.1, value: value === undefined ? 5 : value,
    class: vas ? 'vas' : 'slider', 'aria-valuetext': undefined,
  });
  if (value !== undefined) input.dataset.given = '1';
  const out = h('output', { for: id, class: 'slider-value' }, String(input.value));
  const sync = () => {
    const given = input.dataset.given === '1';
    out.textContent = given ? String(input.value) : t('review.notRated');
    input.setAttribute('aria-valuetext', given ? `${input.value} / 10` : t('review.notRated'));
  };
  input.addEventListener('input', () => { input.dataset.given = '1'; sync(); });
  sync();
  return {
    input,
    wrap: h('div', { class: `field slider-field${vas ? ' vas-field' : ''}` },
      h('label', { for: id }, label, ' ', out),
      h('div', { class: 'slider-row' },
        low ? h('span', { class: 'anchor', 'aria-hidden': 'true' }, low) : h('span', { class: 'anchor', 'aria-hidden': 'true' }, '0'),
        input,
        high ? h('span', { class: 'anchor', 'aria-hidden': 'true' }, high) : h('span', { class: 'anchor', 'aria-hidden': 'true' }, '10'))),
  };
}

function ratingsForm(ctx, review) {
  const myRatings = (review.ratings || []).filter((r) => r.rater === ctx.me);
  const myInstruments = (review.instrumentScores || []).filter((r) => r.rater === ctx.me);
  const clientSide = CLIENT_SIDE.has(ctx.role);
  const goalSliders = (review.goals || []).map((goalName, i) => {
    const prev = myRatings.find((r) => r.goal === goalName);
    const words = goalWords(ctx.goals, goalName) || goalName;
    return { goal: goalName, ...slider(`rate-${review.name}-${i}`, words, prev ? prev.score : undefined) };
  });
  const instruments = [];
  if (clientSide) {
    for (const id of ['ORS', 'SRS']) {
      const prev = myInstruments.find((x) => x.instrument === id);
      const key = id.toLowerCase();
      const items = [0, 1, 2, 3].map((k) => slider(`inst-${review.name}-${id}-${k}`, t(`${key}.item.${k}`), prev && prev.items ? prev.items[k] : undefined,
        { low: t(`${key}.low`), high: t(`${key}.high`), vas: true }));
      const legendId = uid('lg');
      instruments.push({ id, items, wrap: h('fieldset', { class: 'instrument', 'aria-labelledby': legendId, 'data-instrument': id },
        h('legend', { id: legendId }, t(`review.instrument.${id}`)), items.map((x) => x.wrap)) });
    }
  }
  const legendId = uid('lg');
  return actionForm([
    h('fieldset', { class: 'goal-ratings', 'aria-labelledby': legendId },
      h('legend', { id: legendId }, clientSide ? t('review.rateGoals') : t('review.rateGoalsClin')),
      h('p', { class: 'help' }, t('review.scale')), goalSliders.map((x) => x.wrap)),
    instruments.map((x) => x.wrap),
  ], t('review.saveRatings'), (rid) => {
    // Only what the person rated is sent; the slider's own value as it is (the server checks
    // the 0–10 range). A questionnaire counts only with every line given.
    const given = (x) => x.input.dataset.given === '1';
    const ratings = goalSliders.filter(given).map((x) => ({ goal: x.goal, score: Number(x.input.value) }));
    const instrumentScores = [];
    for (const x of instruments) {
      const n = x.items.filter(given).length;
      if (n === 0) continue;
      if (n < x.items.length) throw new InputError(t('review.instrumentIncomplete', { name: t(`review.instrument.${x.id}`) }));
      instrumentScores.push({ instrument: x.id, items: x.items.map((i) => Number(i.input.value)) });
    }
    if (!ratings.length && !instrumentScores.length) throw new InputError(t('review.nothingRated'));
    return ctx.api.post(`/v1/${review.name}:submitRatings`, { ratings, instrumentScores, requestId: rid });
  }, { onDone: ctx.refresh, className: 'ratings-form' });
}

function reviewContent(ctx, review) {
  const raters = [...new Set([...(review.ratings || []).map((r) => r.rater)])];
  const parts = [];
  if ((review.goals || []).length && !raters.length) {
    // A table of goal names without a single score says nothing: words instead.
    parts.push(h('p', { class: 'muted no-ratings' }, t('review.noRatingsYet')));
  } else if ((review.goals || []).length) {
    parts.push(h('div', { class: 'table-scroll', role: 'region', tabindex: '0', 'aria-label': t('review.ratings') }, h('table', { class: 'ratings-table' },
      h('caption', {}, t('review.ratings')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('review.goal')), raters.map((r) => h('th', { scope: 'col' }, ctx.people.name(r))))),
      h('tbody', {}, review.goals.map((g) => h('tr', {},
        h('th', { scope: 'row' }, goalWords(ctx.goals, g) || g),
        raters.map((r) => {
          const x = (review.ratings || []).find((y) => y.rater === r && y.goal === g);
          return h('td', {}, x ? String(x.score) : t('review.noRating'));
        })))))));
  }
  if ((review.instrumentScores || []).length) {
    parts.push(h('h4', {}, t('review.instruments')), h('ul', {}, review.instrumentScores.map((x) => h('li', {},
      h('strong', {}, ctx.people.name(x.rater)), `: ${x.instrument} — `, t('review.instrumentTotal', { total: num(x.total) }),
      ` (${(x.items || []).join(' · ')})`))));
  }
  if ((review.reflections || []).length) {
    parts.push(h('h4', {}, t('review.reflections')), h('ul', { class: 'reflections' }, review.reflections.map((r) => h('li', {},
      h('strong', {}, ctx.people.name(r.participant)), ': “', r.words, '”'))));
  }
  if ((review.nextSteps || []).length) {
    parts.push(h('h4', {}, t('review.nextSteps')), h('ul', { class: 'next-steps' }, review.nextSteps.map((s) => h('li', {},
      s.text, s.owner ? [' — ', t('review.for', { who: ctx.people.name(s.owner) })] : null,
      s.dueDate ? [' ', t('review.dueBy', { date: s.dueDate })] : null))));
  }
  const signers = (review.signatures || []).map((s) => s.participant);
  const waiting = ctx.people.clientSide().map((p) => p.person).filter((p) => !signers.includes(p));
  if (!ctx.people.therapists().some((p) => signers.includes(p.person))) waiting.push(...ctx.people.therapists().map((p) => p.person));
  parts.push(h('h4', {}, t('review.signatures')), h('ul', { class: 'signatures' },
    (review.signatures || []).map((s) => h('li', {}, t('review.signedBy', { who: ctx.people.name(s.participant) }), ` (${when(s.signTime)})`,
      s.dissent ? [' — ', t('review.dissent', { words: s.dissent })] : null))),
  review.status !== 'SIGNED' && waiting.length ? h('p', { class: 'meta' }, t('review.waitingFor', { who: waiting.map((p) => ctx.people.name(p)).join(', ') })) : null);
  return parts;
}

function reviewCard(ctx, review, n) {
  const open = review.status !== 'SIGNED' && ctx.canWrite;
  const etag = review.meta && review.meta.etag;
  const forms = [];
  if (open) {
    forms.push(ratingsForm(ctx, review));
    const mine = (review.reflections || []).find((r) => r.participant === ctx.me);
    const reflection = field(t('review.reflection'), { help: t('review.reflectionHelp'), id: `refl-${review.name}`, value: mine ? mine.words : '' });
    forms.push(actionForm([reflection.wrap], t('review.saveReflection'), (rid) => ctx.api.post(`/v1/${review.name}:addReflection`, {
      words: checkText(reflection.input.value, t('review.reflection')), requestId: rid,
    }), { onDone: ctx.refresh, className: 'reflection-form' }));
    const step = field(t('review.nextStepText'), { id: `step-${review.name}` });
    const due = field(t('review.nextStepDue'), { multiline: false, type: 'date', id: `due-${review.name}` });
    forms.push(actionForm([step.wrap, due.wrap], t('review.addNextStep'), async (rid) => {
      const nextStep = { text: checkText(step.input.value, t('review.nextStepText')) };
      if (due.input.value) nextStep.dueDate = due.input.value;
      await ctx.api.post(`/v1/${review.name}:addNextStep`, { nextStep, requestId: rid });
      step.input.value = '';
    }, { onDone: ctx.refresh, className: 'next-step-form' }));
    const signedByMe = (review.signatures || []).some((s) => s.participant === ctx.me);
    const dissent = field(t('review.dissentLabel'), { id: `dissent-${review.name}` });
    forms.push(h('div', { class: 'sign' },
      signedByMe ? h('p', { class: 'ok' }, t('review.youSigned')) : null,
      actionForm([], t('review.sign'), (rid) => ctx.api.post(`/v1/${review.name}:sign`, { etag, requestId: rid }),
        { onDone: ctx.refresh, className: 'sign-form' }),
      h('details', { class: 'edit', id: `dissent-d-${review.name}` }, h('summary', {}, t('review.signWithDissent')),
        actionForm([dissent.wrap], t('review.sign'), (rid) => ctx.api.post(`/v1/${review.name}:sign`, {
          etag, dissent: checkText(dissent.input.value, t('review.dissentLabel')), requestId: rid,
        }), { onDone: ctx.refresh, className: 'dissent-form' }))));
  }
  return h('li', { class: `card review status-${review.status}`, 'data-review': review.name },
    h('h3', {}, t('review.title', { n, date: day(review.meta && review.meta.createTime) }),
      ' ', h('span', { class: `badge status-${review.status}` }, t(`review.status.${review.status || 'OPEN'}`))),
    reviewContent(ctx, review),
    forms,
    historyPanel(ctx.api, review.name, 'reviews', (rec) => h('p', { class: 'meta' },
      `${t(`review.status.${rec.status || 'OPEN'}`)} · ${(rec.ratings || []).length} · ${(rec.signatures || []).length}`), ctx.people));
}

function reviews(ctx, title, help) {
  const mayStart = ctx.canWrite && (ctx.role === 'THERAPIST' || ctx.episode.format === 'CLIENT_LED');
  const oldestFirst = [...ctx.reviewsNewestFirst].reverse();
  const cards = oldestFirst.map((r, i) => reviewCard(ctx, r, i + 1)).reverse();
  return section('reviews', title,
    help ? h('p', { class: 'help' }, help) : null,
    mayStart ? h('div', { class: 'controls' }, actionButton(ctx.role === 'THERAPIST' ? t('clin.startReview') : t('client.startReview'),
      (rid) => ctx.api.post(`/v1/${ctx.episode.name}/reviews`, { review: {}, requestId: rid }), { onDone: ctx.refresh, className: 'start-review' })) : null,
    cards.length ? h('ul', { class: 'cards' }, cards) : h('p', { class: 'muted' }, t('app.none')));
}

// ---------------------------------------------------------------------------------------------
// Progress

function progress(ctx, title) {
  const p = ctx.progress || {};
  const flags = p.flags || [];
  const flagged = (subject, rater, review) => flags.some((f) => f.subject === subject && f.review === review
    && (!f.raters || !f.raters.length || f.raters.includes(rater)));
  const charts = [];
  const byGoal = new Map();
  for (const s of p.goals || []) {
    if (!byGoal.has(s.goal)) byGoal.set(s.goal, []);
    byGoal.get(s.goal).push(s);
  }
  for (const [goal, series] of byGoal) {
    charts.push(lineChart(series.map((s) => ({
      label: ctx.people.name(s.rater),
      points: (s.points || []).map((pt) => ({ review: pt.review, time: pt.time, value: num(pt.value), flagged: flagged(goal, s.rater, pt.review) })),
    })), { title: t('chart.goalTitle', { goal: goalWords(ctx.goals, goal) || goal }), max: 10 }));
  }
  const byInstrument = new Map();
  for (const s of p.instruments || []) {
    if (!byInstrument.has(s.instrument)) byInstrument.set(s.instrument, []);
    byInstrument.get(s.instrument).push(s);
  }
  for (const [instrument, series] of byInstrument) {
    const info = instrumentInfo(instrument, p.thresholds || []);
    charts.push(lineChart(series.map((s) => ({
      label: ctx.people.name(s.rater),
      points: (s.points || []).map((pt) => ({ review: pt.review, time: pt.time, value: num(pt.value), flagged: flagged(instrument, s.rater, pt.review) })),
    })), {
      title: t('chart.instrumentTitle', { instrument }), max: info.max,
      cutoff: info.cutoff ? { value: info.cutoff, label: t(info.alliance ? 'chart.alliance' : 'chart.cutoff', { value: info.cutoff }) } : null,
      band: info.reliableChange,
    }));
  }
  return section('progress', title,
    h('h3', {}, t('clin.flags')),
    flags.length ? h('ul', { class: 'flags' }, flags.map((f) => h('li', { class: `flag flag-${f.kind}` },
      h('strong', {}, t(`flag.${f.kind}`)), ' — ',
      goalWords(ctx.goals, f.subject) || f.subject,
      (f.raters || []).length ? [' (', f.raters.map((r) => ctx.people.name(r)).join(', '), ')'] : null,
      h('span', { class: 'meta' }, ' ', t('flag.detail', { value: num(f.value), threshold: num(f.threshold) }),
        // Where a threshold comes from matters to clinicians; clients get the plain words.
        f.source && ctx.role === 'THERAPIST' ? ` — ${f.source}` : '')))) : h('p', { class: 'muted' }, t('clin.noFlags')),
    charts.length ? h('div', { class: 'charts' }, charts) : h('p', { class: 'muted' }, t('chart.noData')));
}

// ---------------------------------------------------------------------------------------------

export function participantsPanel(ctx) {
  const e = ctx.episode;
  return h('section', { class: 'panel participants', 'aria-labelledby': 'participants-h' },
    h('h2', { id: 'participants-h' }, t('clin.participants')),
    h('p', { class: 'meta' }, [t(`format.${e.format}`), t(`modality.${e.modality}`), t(`episode.status.${e.status || 'ACTIVE'}`)].join(' · ')),
    h('ul', { class: 'people' }, (e.participants || []).map((p) => h('li', {}, ctx.people.name(p.person), ' — ', t(`role.${p.role}`)))));
}

export function clientView(ctx) {
  return [
    h('p', { class: 'intro' }, t('client.intro')),
    clientGoals(ctx),
    clientHypotheses(ctx),
    reviews(ctx, t('client.reviews'), t('client.reviewsHelp')),
    progress(ctx, t('client.progress')),
  ];
}

export function clinicianView(ctx) {
  return [
    participantsPanel(ctx),
    clinicianGoals(ctx),
    clinicianHypotheses(ctx),
    reviews(ctx, t('clin.reviews')),
    progress(ctx, t('clin.progress')),
  ];
}
