// The app's features beyond the main scenario, in Debian's Chromium, on a FAMILY episode with a
// therapist (Dr Lee, EHR launch), a client (Sam, portal) and a family member (Kim, a
// RelatedPerson with their own portal sign-in): editing a goal's words and everyday signs,
// reordering goals, a restatement corrected, a hypothesis revised and answered again, each
// person's own voice (goals, answers and ratings kept apart, never averaged), a review signed
// with dissent, the history of a goal and of a hypothesis, the clinician's alerts with their
// sources, keyboard-only review sliders, a goal reached and a goal let go. Each step checks what
// each person sees and what is stored (through the API).
//
// Environment: as scenario.test.mjs (COLLABCARE_SERVER_BIN, COLLABCARE_WEB_DIST,
// FHIR_TEST_SERVER_DIR, COLLABCARE_ARTIFACTS, CHROMIUM). Screenshots: features-*.png.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startWorld } from './harness.mjs';

const env = (name, fallback) => {
  const value = process.env[name] || fallback;
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const artifacts = env('COLLABCARE_ARTIFACTS', path.resolve('test-artifacts/browser'));
const TIMEOUT = 15000;

const SAM = 'Patient/123';
const KIM = 'RelatedPerson/55';
const LEE = 'Practitioner/9';

const GOAL_A = 'Sleep through the night';
const GOAL_A2 = 'Sleep through most nights';
const SIGNS_A2 = 'I wake up without the alarm twice a week';
const GOAL_B = 'Have dinner together on Fridays';
const GOAL_C = 'Worry less about Sam at school';
const SIGNS_C = 'I do not phone the school at lunchtime';
const RESTATEMENT = 'Resting well enough to enjoy the day';
const CORRECTION = 'Not enjoying, just getting through the day';
const HYPOTHESIS = 'I wonder whether the worry at night belongs to the whole family';
const HYPOTHESIS2 = 'I wonder whether the worry at night is shared between Sam and Kim';
const SAM_ANSWER = 'Partly, mostly on school nights';
const KIM_ANSWER = 'I do not worry at night';
const SAM_ANSWER2 = 'Yes, we both lie awake';
const DISSENT = 'Friday dinners matter more than the numbers show';

let world;
let browser;
let episode;
const pages = {};
const pageErrors = [];

async function shot(page, name) {
  const frame = page.frames().find((f) => f !== page.mainFrame() && f.url().includes('/app/'));
  if (frame) {
    const height = await frame.evaluate(() => document.documentElement.scrollHeight);
    await page.evaluate((h) => { document.getElementById('app').style.height = `${h + 20}px`; }, height);
  }
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

before(async () => {
  await mkdir(artifacts, { recursive: true });
  world = await startWorld({
    serverBin: env('COLLABCARE_SERVER_BIN'),
    webDist: env('COLLABCARE_WEB_DIST'),
    fhirServerDir: env('FHIR_TEST_SERVER_DIR'),
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  const created = await world.api('dr-lee', 'POST', '/v1/episodes', {
    episode: {
      participants: [
        { person: LEE, role: 'THERAPIST', display: 'Dr Lee' },
        { person: SAM, role: 'CLIENT', display: 'Sam' },
        { person: KIM, role: 'FAMILY_MEMBER', display: 'Kim' },
      ],
      format: 'THERAPIST_LED',
      modality: 'FAMILY',
    },
    requestId: 'features-episode-1',
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  episode = created.body.name;
});

after(async () => {
  if (browser) await browser.close();
  if (world) await world.stop();
});

const clin = () => pages.clinician.frameLocator('#app');
const appFrameOf = (page) => page.frames().find((f) => f.url().startsWith(`${world.collabOrigin}/app/index.html`));
const goals = async () => (await world.api('dr-lee', 'GET', `/v1/${episode}/goals`)).body.goals || [];
const goalByWords = async (words) => (await goals()).find((g) => g.words === words);
// A card of one's own goals, or of someone else's, by its words.
const myCard = (page, words) => page.locator('.goal.mine', { has: page.locator('.words', { hasText: words }) });

function watchPage(page, who) {
  page.on('pageerror', (err) => pageErrors.push(`${who}: ${err.message}`));
  // Refused requests are listed by the response handler below (with their path).
  page.on('console', (msg) => { if (msg.type() === 'error' && !/^Failed to load resource/.test(msg.text())) pageErrors.push(`${who} console: ${msg.text()}`); });
  page.on('response', (res) => { if (res.status() >= 400) pageErrors.push(`${who} ${res.status()}: ${res.request().method()} ${new URL(res.url()).pathname}`); });
}

async function portalLaunch(userButton, contextOptions, who) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  watchPage(page, who);
  await page.goto(`${world.ehrOrigin}/portal`);
  await page.click('#collab-link');
  await page.getByRole('button', { name: userButton }).click({ timeout: TIMEOUT });
  await page.getByRole('heading', { name: 'Your space' }).waitFor({ timeout: TIMEOUT });
  await page.getByRole('heading', { name: 'My goals, in my words' }).waitFor();
  return page;
}

async function writeGoal(page, words, signs) {
  const form = page.locator('.new-goal-form');
  await form.getByLabel('My goal', { exact: true }).fill(words);
  if (signs) await form.getByLabel('How will I notice it in daily life?').fill(signs);
  await form.getByRole('button', { name: 'Add my goal' }).click();
  await myCard(page, words).waitFor({ timeout: TIMEOUT });
}

test('therapist, client and family member each open the family episode', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  pages.clinician = await context.newPage();
  watchPage(pages.clinician, 'clinician');
  await pages.clinician.goto(`${world.ehrOrigin}/ehr/chart?patient=123`);
  await clin().getByRole('button', { name: 'Dr Lee (therapist)' }).click({ timeout: TIMEOUT });
  await clin().getByRole('heading', { name: 'People in this work' }).waitFor({ timeout: TIMEOUT });
  const people = await clin().locator('.participants .people li').allTextContents();
  assert.deepEqual(people, ['Dr Lee (you) — therapist', 'Sam — client', 'Kim — family member']);

  pages.client = await portalLaunch('Sam (patient)', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }, 'client');
  pages.family = await portalLaunch('Kim (family member)', { viewport: { width: 600, height: 900 } }, 'family');
  assert.deepEqual(await pages.family.evaluate(() => [sessionStorage.length, localStorage.length]), [0, 0]);
  const me = await world.api('kim', 'GET', '/v1/me');
  assert.equal(me.body.person, KIM);
});

test('client and family member write goals in their own words; each sees whose goal is whose', async () => {
  await writeGoal(pages.client, GOAL_A);
  await writeGoal(pages.client, GOAL_B);
  await writeGoal(pages.family, GOAL_C, SIGNS_C);

  const stored = await goals();
  assert.deepEqual(stored.map((g) => [g.owner, g.words]).sort(), [[KIM, GOAL_C], [SAM, GOAL_A], [SAM, GOAL_B]].sort());

  // Kim: C is Kim's own (with edit controls); Sam's goals are listed as Sam's, read only.
  const family = pages.family;
  await family.locator('.goal:not(.mine)', { hasText: GOAL_B }).waitFor({ timeout: TIMEOUT });
  assert.deepEqual(await family.locator('.goal.mine .words').allTextContents(), [GOAL_C]);
  const othersForKim = family.locator('.goal:not(.mine)');
  assert.deepEqual((await othersForKim.locator('.owner').allTextContents()), ['Goal of Sam', 'Goal of Sam']);
  assert.equal(await othersForKim.getByRole('button').count(), 0);
  // Sam: A and B are Sam's own; C is Kim's.
  const client = pages.client;
  await client.locator('.goal:not(.mine)', { hasText: GOAL_C }).waitFor({ timeout: TIMEOUT });
  assert.deepEqual(await client.locator('.goal.mine .words').allTextContents(), [GOAL_A, GOAL_B]);
  assert.equal(await client.locator('.goal:not(.mine)', { hasText: GOAL_C }).locator('.owner').textContent(), 'Goal of Kim');
  // The therapist sees all three, each with its owner.
  await clin().locator('.goal', { hasText: GOAL_C }).waitFor({ timeout: TIMEOUT });
  assert.match(await clin().locator('.goal', { hasText: GOAL_C }).locator('.owner').textContent(), /Goal of Kim/);
  assert.match(await clin().locator('.goal', { hasText: GOAL_A }).locator('.owner').textContent(), /Goal of Sam/);
  await shot(family, 'features-01-family-view');
});

test('client changes a goal\'s words and everyday signs; everyone sees the new words', async () => {
  const page = pages.client;
  const card = myCard(page, GOAL_A);
  await card.getByText('Change my words', { exact: true }).click();
  const edit = card.locator('details.edit').first();
  await edit.getByLabel('My goal', { exact: true }).fill(GOAL_A2);
  await edit.getByLabel('How will I notice it in daily life?').fill(SIGNS_A2);
  await edit.getByRole('button', { name: 'Save' }).click();
  const edited = myCard(page, GOAL_A2);
  await edited.locator('.signs', { hasText: SIGNS_A2 }).waitFor({ timeout: TIMEOUT });
  assert.equal(await page.locator('.goal.mine .words', { hasText: GOAL_A }).count(), 0);

  const stored = await goalByWords(GOAL_A2);
  assert.ok(stored, 'the new words are stored');
  assert.equal(stored.everydaySigns, SIGNS_A2);
  assert.equal(stored.owner, SAM);
  assert.equal(Number(stored.meta.revision), 2);
  assert.equal(stored.meta.updatedBy, SAM);
  // Live for the therapist and for Kim.
  await clin().locator('.goal .words', { hasText: GOAL_A2 }).waitFor({ timeout: TIMEOUT });
  await clin().locator('.goal .signs', { hasText: SIGNS_A2 }).waitFor({ timeout: TIMEOUT });
  await pages.family.locator('.goal:not(.mine) .words', { hasText: GOAL_A2 }).waitFor({ timeout: TIMEOUT });
});

test('client reorders goals: the second becomes the first (priority)', async () => {
  const page = pages.client;
  assert.deepEqual(await page.locator('.goal.mine .words').allTextContents(), [GOAL_A2, GOAL_B]);
  // The first goal cannot move up, the last cannot move down.
  assert.equal(await page.getByRole('button', { name: 'Move up: goal 1' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Move down: goal 2' }).count(), 0);
  await page.getByRole('button', { name: 'Move up: goal 2' }).click();
  await page.waitForFunction((first) => document.querySelector('.goal.mine .words')?.textContent === first, GOAL_B, { timeout: TIMEOUT });
  assert.deepEqual(await page.locator('.goal.mine .words').allTextContents(), [GOAL_B, GOAL_A2]);
  assert.match(await myCard(page, GOAL_B).locator('.meta').first().textContent(), /Priority 1/);

  const stored = await goals();
  const prio = Object.fromEntries(stored.filter((g) => g.owner === SAM).map((g) => [g.words, g.priority]));
  assert.deepEqual(prio, { [GOAL_B]: 1, [GOAL_A2]: 2 });
  // Kim's goal keeps no priority: only Sam's list was reordered.
  assert.ok(!stored.find((g) => g.owner === KIM).priority);
  // The therapist sees Sam's goals in Sam's order.
  await clin().locator('.goal .badge', { hasText: 'Priority 2' }).waitFor({ timeout: TIMEOUT });
  const clinOrder = (await clin().locator('.goal .words').allTextContents()).filter((w) => w === GOAL_B || w === GOAL_A2);
  assert.deepEqual(clinOrder, [GOAL_B, GOAL_A2]);

  // And back down again with the keyboard: focus the button, Enter.
  await page.getByRole('button', { name: 'Move down: goal 1' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((first) => document.querySelector('.goal.mine .words')?.textContent === first, GOAL_A2, { timeout: TIMEOUT });
  // The therapist's view follows (so the restatement below is made on the latest version).
  await clin().locator('.goal', { hasText: GOAL_B }).locator('.badge', { hasText: 'Priority 2' }).waitFor({ timeout: TIMEOUT });
  const again = Object.fromEntries((await goals()).filter((g) => g.owner === SAM).map((g) => [g.words, g.priority]));
  assert.deepEqual(again, { [GOAL_A2]: 1, [GOAL_B]: 2 });
});

test('therapist restates a goal; the client corrects it in their own words', async () => {
  const card = clin().locator('.goal', { has: clin().locator('.words', { hasText: GOAL_A2 }) });
  await card.getByText('Restate', { exact: true }).click();
  await card.getByLabel('How I understand this goal').fill(RESTATEMENT);
  await card.getByRole('button', { name: 'Share my restatement' }).click();

  const page = pages.client;
  const mine = myCard(page, GOAL_A2);
  await mine.locator('.understanding blockquote', { hasText: RESTATEMENT }).waitFor({ timeout: TIMEOUT });
  await mine.getByText('Not quite', { exact: true }).click();
  await mine.getByLabel('What I mean, in my words').fill(CORRECTION);
  await mine.getByRole('button', { name: 'Save my correction' }).click();
  await mine.locator('.understanding', { hasText: `You corrected it: “${CORRECTION}”` }).waitFor({ timeout: TIMEOUT });
  // No more "Yes, that is it" once answered.
  assert.equal(await mine.getByRole('button', { name: 'Yes, that is it' }).count(), 0);

  const stored = await goalByWords(GOAL_A2);
  assert.equal(stored.understanding.restatement, RESTATEMENT);
  assert.equal(stored.understanding.verdict, 'CORRECTED');
  assert.equal(stored.understanding.correction, CORRECTION);
  assert.equal(stored.words, GOAL_A2, 'the owner\'s words stay as they are');

  await card.locator('.understanding', { hasText: 'Owner: corrected' }).waitFor({ timeout: TIMEOUT });
  assert.match(await card.locator('.understanding').textContent(), new RegExp(`Owner’s correction:\\s*${CORRECTION}`));
});

test('a hypothesis answered by each person, revised, and answered again', async () => {
  const frame = clin();
  await frame.getByText('Share a hypothesis', { exact: true }).click();
  await frame.locator('#share-text').fill(HYPOTHESIS);
  await frame.getByRole('button', { name: 'Share', exact: true }).click();
  const card = frame.locator('.hypothesis', { has: frame.locator('.hyp-text', { hasText: HYPOTHESIS }) });
  await card.waitFor({ timeout: TIMEOUT });
  // Addressed to every client and family member; nobody has answered yet.
  assert.deepEqual(await card.locator('.answers li').allTextContents(), ['Sam: no answer yet', 'Kim: no answer yet']);

  const answer = async (page, stance, words) => {
    const c = page.locator('.hypothesis').first();
    await c.getByLabel(stance).check();
    await c.getByLabel('In my words (you can leave this empty)').fill(words);
    await c.getByRole('button', { name: 'Send my answer' }).click();
    await c.locator('.answer', { hasText: `You answered: ${stance}` }).waitFor({ timeout: TIMEOUT });
  };
  await pages.client.locator('.hypothesis .hyp-text', { hasText: HYPOTHESIS }).waitFor({ timeout: TIMEOUT });
  await pages.family.locator('.hypothesis .hyp-text', { hasText: HYPOTHESIS }).waitFor({ timeout: TIMEOUT });
  await answer(pages.client, 'This partly fits', SAM_ANSWER);
  await answer(pages.family, 'This does not fit', KIM_ANSWER);
  // Each voice on its own line.
  await card.locator(`.answers li[data-person="${KIM}"]`, { hasText: KIM_ANSWER }).waitFor({ timeout: TIMEOUT });
  await card.locator(`.answers li[data-person="${SAM}"]`, { hasText: SAM_ANSWER }).waitFor({ timeout: TIMEOUT });
  assert.match(await card.locator(`.answers li[data-person="${KIM}"]`).textContent(), /^Kim: This does not fit — “I do not worry at night”$/);

  // The therapist revises the thought and how sure they are.
  await card.getByText('Revise', { exact: true }).click();
  await card.getByLabel('My thought, in plain words').fill(HYPOTHESIS2);
  await card.getByLabel('How sure am I?').selectOption('CONSIDERING');
  await card.getByRole('button', { name: 'Save new version' }).click();
  const revised = frame.locator('.hypothesis', { has: frame.locator('.hyp-text', { hasText: HYPOTHESIS2 }) });
  await revised.waitFor({ timeout: TIMEOUT });
  let stored = (await world.api('dr-lee', 'GET', `/v1/${episode}/hypotheses`)).body.hypotheses[0];
  assert.equal(stored.text, HYPOTHESIS2);
  assert.equal(stored.tentativeness, 'CONSIDERING');
  const revision = Number(stored.meta.revision);
  assert.ok(stored.responses.every((r) => Number(r.answeredRevision) < revision), JSON.stringify(stored.responses));

  // The client sees the new words, and that the answer was to the earlier version.
  const page = pages.client;
  const c = page.locator('.hypothesis').first();
  await c.locator('.hyp-text', { hasText: HYPOTHESIS2 }).waitFor({ timeout: TIMEOUT });
  await c.locator('.tentative', { hasText: 'Dr Lee is considering:' }).waitFor();
  await c.locator('.answer', { hasText: 'changed this thought since you answered' }).waitFor({ timeout: TIMEOUT });
  // The therapist sees that both answers are to the earlier version.
  await revised.locator(`.answers li[data-person="${SAM}"]`, { hasText: 'earlier version' }).waitFor({ timeout: TIMEOUT });
  await answer(page, 'This fits', SAM_ANSWER2);
  assert.equal(await c.locator('.answer', { hasText: 'changed this thought since you answered' }).count(), 0);

  stored = (await world.api('dr-lee', 'GET', `/v1/${episode}/hypotheses`)).body.hypotheses[0];
  const byPerson = Object.fromEntries(stored.responses.map((r) => [r.person, r]));
  assert.equal(byPerson[SAM].stance, 'FITS');
  assert.equal(byPerson[SAM].words, SAM_ANSWER2);
  assert.ok(Number(byPerson[SAM].answeredRevision) >= revision, 'the new answer is to the revised version');
  assert.equal(byPerson[KIM].stance, 'DOES_NOT_FIT');
  assert.ok(Number(byPerson[KIM].answeredRevision) < Number(stored.meta.revision));

  await revised.locator(`.answers li[data-person="${SAM}"]`, { hasText: SAM_ANSWER2 }).waitFor({ timeout: TIMEOUT });
  assert.doesNotMatch(await revised.locator(`.answers li[data-person="${SAM}"]`).textContent(), /earlier version/);
  assert.match(await revised.locator(`.answers li[data-person="${KIM}"]`).textContent(), /earlier version/);
});

test('history: every version of a goal (client) and of a hypothesis (therapist)', async () => {
  const page = pages.client;
  const card = myCard(page, GOAL_A2);
  await card.locator('details.history > summary').click();
  const items = card.locator('.history-list > li');
  await items.locator('.rev-head').first().waitFor({ timeout: TIMEOUT });
  await page.waitForFunction(() => ![...document.querySelectorAll('.history-list > li')].some((li) => li.textContent === 'Loading…'), null, { timeout: TIMEOUT });
  const texts = await items.allTextContents();
  // Written, words changed, prioritised (twice), restated, corrected.
  assert.ok(texts.length >= 5, texts.join('\n'));
  assert.match(texts[0], /^Version 1 by Sam \(you\)/);
  assert.ok(texts[0].includes(GOAL_A) && !texts[0].includes(GOAL_A2), texts[0]);
  assert.ok(texts[1].includes(GOAL_A2) && texts[1].includes(SIGNS_A2), texts[1]);
  assert.ok(texts.some((x) => /by Dr Lee/.test(x) && x.includes(RESTATEMENT)), texts.join('\n'));
  assert.ok(texts.at(-1).includes(CORRECTION), texts.at(-1));
  const stored = await world.api('sam', 'GET', `/v1/${(await goalByWords(GOAL_A2)).name}/revisions`);
  assert.equal(texts.length, stored.body.goals.length);
  await card.screenshot({ path: path.join(artifacts, 'features-02-client-goal-history.png') });

  const frame = clin();
  const hyp = frame.locator('.hypothesis').first();
  await hyp.locator('details.history > summary').click();
  await hyp.locator('.history-list > li .rev-head').first().waitFor({ timeout: TIMEOUT });
  const frameObj = appFrameOf(pages.clinician);
  await frameObj.waitForFunction(() => ![...document.querySelectorAll('.history-list > li')].some((li) => li.textContent === 'Loading…'), null, { timeout: TIMEOUT });
  const hist = await hyp.locator('.history-list > li').allTextContents();
  assert.ok(hist.length >= 2, hist.join('\n'));
  assert.ok(hist[0].includes(HYPOTHESIS) && /is wondering/.test(hist[0]), hist[0]);
  assert.ok(hist.some((x) => x.includes(HYPOTHESIS2) && /is considering/.test(x)), hist.join('\n'));
  await hyp.screenshot({ path: path.join(artifacts, 'features-03-clinician-hypothesis-history.png') });
});

// Sets a slider from the keyboard only: Home (0), then PageUp (+1) and ArrowRight (+0.1).
async function keyTo(page, value) {
  await page.keyboard.press('Home');
  const whole = Math.floor(value);
  const tenths = Math.round((value - whole) * 10);
  for (let i = 0; i < whole; i += 1) await page.keyboard.press('PageUp');
  for (let i = 0; i < tenths; i += 1) await page.keyboard.press('ArrowRight');
}

async function fillRatings(review, goalScores, ors, srs) {
  for (const [words, v] of Object.entries(goalScores)) await review.getByLabel(words).fill(String(v));
  const o = review.locator('[data-instrument="ORS"] input[type=range]');
  const s = review.locator('[data-instrument="SRS"] input[type=range]');
  for (const [i, v] of (ors || []).entries()) await o.nth(i).fill(String(v));
  for (const [i, v] of (srs || []).entries()) await s.nth(i).fill(String(v));
  await review.getByRole('button', { name: 'Save my ratings' }).click();
  await review.locator('.ratings-form .ok').waitFor({ timeout: TIMEOUT }).catch(async (err) => {
    throw new Error(`${err.message}\nstatus: ${await review.locator('.ratings-form .form-status').allTextContents()}`);
  });
}

test('a review rated by each person (the client with the keyboard only); voices side by side', async () => {
  const frame = clin();
  await frame.getByRole('button', { name: 'Start a review' }).click();
  const clinReview = frame.locator('.review.status-OPEN').first();
  await clinReview.waitFor({ timeout: TIMEOUT });
  // In a therapist-led episode the client cannot start reviews.
  assert.equal(await pages.client.getByRole('button', { name: 'Start a new review' }).count(), 0);

  const page = pages.client;
  const review = page.locator('.review.status-OPEN').first();
  await review.locator('[data-instrument="SRS"] input[type=range]').first().waitFor({ timeout: TIMEOUT });
  const reviewName = await review.getAttribute('data-review');
  const stored0 = (await world.api('sam', 'GET', `/v1/${reviewName}`)).body;
  const goalOrder = stored0.goals.map((g) => g);
  const goalsNow = await goals();
  const wordsOf = (name) => goalsNow.find((g) => g.name === name).words;
  assert.deepEqual(goalOrder.map(wordsOf).sort(), [GOAL_A2, GOAL_B, GOAL_C].sort());

  // Keyboard only: from the section heading, Tab to each slider in turn and set it with keys.
  const want = { [GOAL_A2]: 3, [GOAL_B]: 6, [GOAL_C]: 5 };
  const ors = [4, 5, 3.5, 4];
  const srs = [9, 9, 9, 9];
  const sliders = [
    ...goalOrder.map((g, i) => ({ id: `rate-${reviewName}-${i}`, value: want[wordsOf(g)] })),
    ...ors.map((v, k) => ({ id: `inst-${reviewName}-ORS-${k}`, value: v })),
    ...srs.map((v, k) => ({ id: `inst-${reviewName}-SRS-${k}`, value: v })),
  ];
  await page.locator('#reviews-h').focus();
  for (const s of sliders) {
    let id = '';
    for (let i = 0; i < 6 && id !== s.id; i += 1) {
      await page.keyboard.press('Tab');
      id = await page.evaluate(() => document.activeElement.id);
    }
    assert.equal(id, s.id, 'Tab reaches the next slider');
    await keyTo(page, s.value);
    const state = await page.evaluate(() => {
      const el = document.activeElement;
      return { value: Number(el.value), text: el.getAttribute('aria-valuetext'), out: el.closest('.field').querySelector('output').textContent };
    });
    assert.deepEqual(state, { value: s.value, text: `${s.value} / 10`, out: String(s.value) });
  }
  // Tab on to the button and press Enter.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Save my ratings');
  await page.keyboard.press('Enter');
  await review.locator('.ratings-form .ok').waitFor({ timeout: TIMEOUT });

  // Kim and the therapist rate too (with the mouse / by filling).
  const famReview = pages.family.locator('.review.status-OPEN').first();
  await famReview.locator('[data-instrument="ORS"] input[type=range]').first().waitFor({ timeout: TIMEOUT });
  await fillRatings(famReview, { [GOAL_A2]: 7, [GOAL_B]: 8, [GOAL_C]: 2 }, [6, 6, 6, 6], [10, 10, 10, 10]);
  await clinReview.locator('input[type=range]').first().waitFor({ timeout: TIMEOUT });
  // The therapist rates goals only (no ORS/SRS for them).
  assert.equal(await clinReview.locator('[data-instrument]').count(), 0);
  await fillRatings(clinReview, { [GOAL_A2]: 4, [GOAL_B]: 5, [GOAL_C]: 5 });

  const stored = (await world.api('dr-lee', 'GET', `/v1/${reviewName}`)).body;
  const table = stored.ratings.map((r) => [r.rater, wordsOf(r.goal), r.score]).sort();
  assert.deepEqual(table, [
    [KIM, GOAL_A2, 7], [KIM, GOAL_B, 8], [KIM, GOAL_C, 2],
    [LEE, GOAL_A2, 4], [LEE, GOAL_B, 5], [LEE, GOAL_C, 5],
    [SAM, GOAL_A2, 3], [SAM, GOAL_B, 6], [SAM, GOAL_C, 5],
  ].sort());
  const inst = stored.instrumentScores.map((x) => [x.rater, x.instrument, x.total]).sort();
  assert.deepEqual(inst, [[KIM, 'ORS', 24], [KIM, 'SRS', 40], [SAM, 'ORS', 16.5], [SAM, 'SRS', 36]].sort());

  // The therapist's table: one column per person, each score as given (no average anywhere).
  await clinReview.locator('.ratings-table thead th', { hasText: 'Kim' }).waitFor({ timeout: TIMEOUT });
  await clinReview.locator('.ratings-table thead th', { hasText: 'Sam' }).waitFor({ timeout: TIMEOUT });
  await clinReview.locator('.ratings-table thead th', { hasText: 'Dr Lee (you)' }).waitFor({ timeout: TIMEOUT });
  const rowA = clinReview.locator('.ratings-table tbody tr', { has: frame.locator('th', { hasText: GOAL_A2 }) });
  const heads = await clinReview.locator('.ratings-table thead th').allTextContents();
  const cells = await rowA.locator('td').allTextContents();
  const byHead = Object.fromEntries(heads.slice(1).map((hd, i) => [hd, cells[i]]));
  assert.deepEqual(byHead, { Sam: '3', Kim: '7', 'Dr Lee (you)': '4' });
  assert.doesNotMatch(await clinReview.textContent(), /average|mean/i);
});

test('signing with dissent: the family member disagrees in their own words; the therapist sees it', async () => {
  const famReview = pages.family.locator('.review.status-OPEN').first();
  const reviewName = await famReview.getAttribute('data-review');
  // Everyone's ratings are in before anyone signs (a later change would clear signatures).
  await famReview.locator('.ratings-table thead th', { hasText: 'Dr Lee' }).waitFor({ timeout: TIMEOUT });
  await famReview.getByText('Sign, and note what I disagree with', { exact: true }).click();
  await famReview.getByLabel('What I disagree with, in my words').fill(DISSENT);
  await famReview.locator('.dissent-form').getByRole('button', { name: 'Sign' }).click();
  await famReview.locator('.signatures li', { hasText: 'Signed by Kim (you)' }).waitFor({ timeout: TIMEOUT });
  assert.match(await famReview.locator('.signatures li').first().textContent(), new RegExp(`disagrees: “${DISSENT}”`));

  const client = pages.client.locator('.review').first();
  await client.locator('.signatures li', { hasText: 'Signed by Kim' }).waitFor({ timeout: TIMEOUT });
  await client.locator('.sign-form').getByRole('button', { name: 'Sign' }).click();
  await client.locator('.signatures li', { hasText: 'Signed by Sam (you)' }).waitFor({ timeout: TIMEOUT });

  const frame = clin();
  const clinReview = frame.locator(`.review[data-review="${reviewName}"]`);
  const kimLine = clinReview.locator('.signatures li', { hasText: 'Signed by Kim' });
  await kimLine.waitFor({ timeout: TIMEOUT });
  assert.match(await kimLine.textContent(), new RegExp(`disagrees: “${DISSENT}”`));
  await clinReview.locator('.signatures li', { hasText: 'Signed by Sam' }).waitFor({ timeout: TIMEOUT });
  await clinReview.locator('p.meta', { hasText: 'Waiting for: Dr Lee (you)' }).waitFor({ timeout: TIMEOUT });
  await clinReview.locator('.signatures').screenshot({ path: path.join(artifacts, 'features-04-clinician-sees-dissent.png') });
  await clinReview.locator('.sign-form').getByRole('button', { name: 'Sign' }).click();
  await clinReview.locator('.badge', { hasText: 'signed by everyone' }).waitFor({ timeout: TIMEOUT });
  // The dissent is still shown once the review is signed by everyone.
  assert.match(await clinReview.locator('.signatures li', { hasText: 'Signed by Kim' }).textContent(), /disagrees/);

  const stored = (await world.api('kim', 'GET', `/v1/${reviewName}`)).body;
  assert.equal(stored.status, 'SIGNED');
  const sigs = Object.fromEntries(stored.signatures.map((s) => [s.participant, s.dissent || '']));
  assert.deepEqual(sigs, { [KIM]: DISSENT, [SAM]: '', [LEE]: '' });
  await pages.family.locator(`.review[data-review="${reviewName}"] .badge`, { hasText: 'signed by everyone' }).waitFor({ timeout: TIMEOUT });
  await pages.family.locator(`.review[data-review="${reviewName}"]`).screenshot({ path: path.join(artifacts, 'features-05-family-signed-with-dissent.png') });
});

test('alerts: ORS below the cut-off with its source for the therapist; divergence between people', async () => {
  const progress = (await world.api('dr-lee', 'GET', `/v1/${episode}/progress`)).body;
  const flags = progress.flags || [];
  const below = flags.filter((f) => f.kind === 'BELOW_CLINICAL_CUTOFF' && f.subject === 'ORS');
  assert.deepEqual(below.map((f) => [f.raters, f.value, f.threshold]).sort(), [[[KIM], 24, 25], [[SAM], 16.5, 25]].sort());
  assert.ok(below.every((f) => /cut-off 25/.test(f.source)), JSON.stringify(below));
  const goalA = (await goalByWords(GOAL_A2)).name;
  const diverge = flags.find((f) => f.kind === 'RATER_DIVERGENCE' && f.subject === goalA && f.raters.includes(SAM) && f.raters.includes(KIM));
  assert.ok(diverge, JSON.stringify(flags.map((f) => [f.kind, f.subject, f.raters])));

  const frame = clin();
  const belowItems = frame.locator('#progress .flags li', { hasText: 'Below the clinical cut-off' });
  await belowItems.first().waitFor({ timeout: TIMEOUT });
  const texts = await belowItems.allTextContents();
  assert.equal(texts.length, 2, texts.join('\n'));
  for (const x of texts) {
    assert.match(x, /ORS/);
    assert.match(x, /threshold 25/);
    assert.match(x, /adult clinical cut-off 25/, 'the source is shown to the therapist');
  }
  assert.ok(texts.some((x) => x.includes('(Sam)') && x.includes('value 16.5')), texts.join('\n'));
  assert.ok(texts.some((x) => x.includes('(Kim)') && x.includes('value 24')), texts.join('\n'));
  const div = frame.locator('#progress .flags li', { hasText: 'People see this differently' }).filter({ hasText: GOAL_A2 });
  assert.match(await div.first().textContent(), /Sam.*Kim|Kim.*Sam/);

  // The per-goal chart: one series per person, each point as rated (never averaged).
  const chart = frame.locator('figure.chart', { hasText: `Progress on: ${GOAL_A2}` });
  const points = await chart.locator('.point').evaluateAll((els) => els.map((e) => [e.getAttribute('data-rater'), Number(e.getAttribute('data-value'))]));
  assert.deepEqual(points.sort(), [['Dr Lee (you)', 4], ['Kim', 7], ['Sam', 3]]);
  await frame.locator('#progress .flags').screenshot({ path: path.join(artifacts, 'features-06-clinician-alerts.png') });

  // The client sees the alert in plain words, without the citation.
  const client = pages.client.locator('#progress .flags li', { hasText: 'Below the clinical cut-off' });
  await client.first().waitFor({ timeout: TIMEOUT });
  for (const x of await client.allTextContents()) assert.doesNotMatch(x, /OpenFIT|KA-0/);
});

test('goals reached and let go', async () => {
  const page = pages.client;
  const b = myCard(page, GOAL_B);
  await b.getByRole('button', { name: 'I reached this' }).click();
  await b.locator('.badge', { hasText: 'reached' }).waitFor({ timeout: TIMEOUT });
  await b.getByRole('button', { name: 'Pick up again' }).waitFor();
  assert.equal(await b.getByRole('button', { name: 'I reached this' }).count(), 0);

  const fam = pages.family;
  const c = myCard(fam, GOAL_C);
  await c.getByRole('button', { name: 'Let this go' }).click();
  await c.locator('.badge', { hasText: 'let go' }).waitFor({ timeout: TIMEOUT });
  assert.equal(await c.getByRole('button', { name: 'Let this go' }).count(), 0);

  const stored = Object.fromEntries((await goals()).map((g) => [g.words, g.status]));
  assert.deepEqual(stored, { [GOAL_A2]: 'ACTIVE', [GOAL_B]: 'ACHIEVED', [GOAL_C]: 'LET_GO' });
  // Only the owner may change a goal: Sam has no controls on Kim's goal, and the server agrees.
  const kimGoal = (await goals()).find((g) => g.owner === KIM);
  const refused = await world.api('sam', 'PATCH', `/v1/${kimGoal.name}`, { goal: { name: kimGoal.name, status: 'ACTIVE' }, updateMask: 'status' });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));

  const frame = clin();
  await frame.locator('.goal', { hasText: GOAL_B }).locator('.badge', { hasText: 'reached' }).waitFor({ timeout: TIMEOUT });
  await frame.locator('.goal', { hasText: GOAL_C }).locator('.badge', { hasText: 'let go' }).waitFor({ timeout: TIMEOUT });
  await page.locator('.goal.mine', { hasText: GOAL_C }).waitFor({ state: 'detached' }).catch(() => {});
  await pages.client.locator('.goal:not(.mine)', { hasText: GOAL_C }).locator('.badge', { hasText: 'let go' }).waitFor({ timeout: TIMEOUT });
  await shot(fam, 'features-07-family-goal-let-go');
});

test('no errors in any page', async () => {
  // A 409 on an answer is expected once: Kim answered after Sam, on the version Kim read; the
  // app sends the answer again on the latest version (the thought itself had not changed).
  assert.deepEqual(pageErrors.filter((e) => !/^family 409: POST \S+:respond$/.test(e)), []);
});
