// The SMART app end to end in Debian's Chromium: a clinician launches it from the simulated
// EHR (EHR launch in an iframe), a client from the patient portal (standalone launch), both
// against the real oidc-provider authorization server and collabcare-server's HTTP face. Then
// the collaborative session: goal → live in the clinician's view → restatement → hypothesis →
// answer → review rated and signed by both → charts. Then bad input through the app.
//
// Environment (set by tests/browser/CMakeLists.txt): COLLABCARE_SERVER_BIN, COLLABCARE_WEB_DIST,
// FHIR_TEST_SERVER_DIR, COLLABCARE_ARTIFACTS (screenshots), CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { assertAccessible, focusIndicator, waitForQuiet } from './a11y.mjs';
import { startWorld } from './harness.mjs';

const env = (name, fallback) => {
  const value = process.env[name] || fallback;
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const artifacts = env('COLLABCARE_ARTIFACTS', path.resolve('test-artifacts/browser'));
const TIMEOUT = 15000;

let world;
let browser;
let episode;
const pages = {};
const consoleLines = [];
const requestUrls = [];

const GOAL_WORDS = 'Get through a school week without calling in sick';
const GOAL_SIGNS = 'I pack my bag on Sunday evening';
const RESTATEMENT = 'Feeling ready to face school again';
const HYPOTHESIS = 'I wonder whether Monday mornings carry the worry of the whole week';
const ANSWER = 'Mondays yes, but Thursdays too';
const KEYBOARD_GOAL = 'Walk the dog before breakfast';
const KEYBOARD_SIGNS = 'The lead hangs by the door at night';

async function shot(page, name) {
  // The EHR's side panel is an iframe of fixed height: grow it to the app's height first, so
  // the screenshot shows the whole view.
  const frame = page.frames().find((f) => f !== page.mainFrame() && f.url().includes('/app/'));
  if (frame) {
    const height = await frame.evaluate(() => document.documentElement.scrollHeight);
    await page.evaluate((h) => { document.getElementById('app').style.height = `${h + 20}px`; }, height);
  }
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

function watchPage(page, who) {
  page.on('console', (msg) => consoleLines.push(`${who} ${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => consoleLines.push(`${who} pageerror: ${err.message}`));
  page.on('request', (req) => requestUrls.push(req.url()));
}

before(async () => {
  await mkdir(artifacts, { recursive: true });
  world = await startWorld({
    serverBin: env('COLLABCARE_SERVER_BIN'),
    webDist: env('COLLABCARE_WEB_DIST'),
    fhirServerDir: env('FHIR_TEST_SERVER_DIR'),
    jwksFile: process.env.COLLABCARE_BROWSER_JWKS_FILE === '1',
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  // The therapist opens the episode through the API before the browser steps.
  const created = await world.api('dr-lee', 'POST', '/v1/episodes', {
    episode: {
      participants: [
        { person: 'Practitioner/9', role: 'THERAPIST', display: 'Dr Lee' },
        { person: 'Patient/123', role: 'CLIENT', display: 'Sam' },
      ],
      format: 'CLIENT_LED',
      modality: 'INDIVIDUAL',
    },
    requestId: 'browser-episode-1',
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  episode = created.body.name;
  assert.match(episode, /^episodes\/[^/]+$/);
});

after(async () => {
  if (browser) await browser.close();
  if (world) await world.stop();
});

const appFrame = () => pages.clinician.frameLocator('#app');
// The app's own frame inside the EHR page (a Playwright Frame, for axe and evaluate).
const appFrameOf = (page) => page.frames().find((f) => f.url().startsWith(`${world.collabOrigin}/app/index.html`));

test('the app is served with a strict Content-Security-Policy and its config', async () => {
  const res = await fetch(`${world.collabOrigin}/app/index.html`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy') || '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.ok(csp.includes(`frame-ancestors ${world.ehrOrigin}`), csp);
  assert.ok(csp.includes(world.issuer), csp);
  const config = await (await fetch(`${world.collabOrigin}/app/config.json`)).json();
  assert.equal(config.clientId, 'collabcare-app');
  assert.match(config.scope, /launch/);
});

test('clinician: EHR launch inside the EHR page (iss + launch, PKCE S256)', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  pages.clinician = page;
  watchPage(page, 'clinician');
  const authorizeUrls = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.origin === world.issuer && url.pathname === '/auth') authorizeUrls.push(url);
  });
  await page.goto(`${world.ehrOrigin}/ehr/chart?patient=123`);
  await appFrame().getByRole('button', { name: 'Dr Lee (therapist)' }).click({ timeout: TIMEOUT });
  await appFrame().getByRole('heading', { name: 'Collaborative care' }).waitFor({ timeout: TIMEOUT });
  await appFrame().getByRole('heading', { name: 'People in this work' }).waitFor({ timeout: TIMEOUT });
  assert.equal(authorizeUrls.length, 1);
  const auth = authorizeUrls[0].searchParams;
  assert.equal(auth.get('code_challenge_method'), 'S256');
  assert.ok(auth.get('code_challenge'));
  assert.ok(auth.get('launch'));
  assert.equal(auth.get('aud'), world.iss);
  assert.ok(auth.get('scope').split(' ').includes('launch'));
  // The token lives in memory only: nothing in the frame's storage, no code in its URL.
  const frame = page.frames().find((f) => f.url().startsWith(`${world.collabOrigin}/app/index.html`));
  assert.ok(frame, 'the app frame');
  assert.deepEqual(await frame.evaluate(() => [sessionStorage.length, localStorage.length]), [0, 0]);
  assert.doesNotMatch(frame.url(), /code=|state=/);
  await shot(page, '01-clinician-ehr-launch');
  await assertAccessible(frame, 'clinician view (EHR iframe)');
});

// The client signs in from the portal (standalone launch) in a new browser context.
async function launchClient(contextOptions, who) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  watchPage(page, who);
  await page.goto(`${world.ehrOrigin}/portal`);
  await page.click('#collab-link');
  await page.getByRole('button', { name: 'Sam (patient)' }).click({ timeout: TIMEOUT });
  await page.getByRole('heading', { name: 'Your space' }).waitFor({ timeout: TIMEOUT });
  await page.getByRole('heading', { name: 'My goals, in my words' }).waitFor();
  return page;
}

test('client: standalone patient launch from the portal', async () => {
  const page = await launchClient({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }, 'client');
  pages.client = page;
  assert.deepEqual(await page.evaluate(() => [sessionStorage.length, localStorage.length]), [0, 0]);
  await shot(page, '02-client-start');
  await assertAccessible(page, 'client view (phone)');
});

test('client writes a goal; the clinician sees it live', async () => {
  const page = pages.client;
  await page.getByLabel('My goal', { exact: true }).fill(GOAL_WORDS);
  await page.getByLabel('How will I notice it in daily life?').fill(GOAL_SIGNS);
  await page.getByRole('button', { name: 'Add my goal' }).click();
  await page.locator('.goal.mine .words', { hasText: GOAL_WORDS }).waitFor({ timeout: TIMEOUT });
  // No reload in the clinician's frame: the SSE watch brings it.
  await appFrame().locator('.goal .words', { hasText: GOAL_WORDS }).waitFor({ timeout: TIMEOUT });
  await appFrame().locator('.goal .signs', { hasText: GOAL_SIGNS }).waitFor();
  const goals = await world.api('sam', 'GET', `/v1/${episode}/goals`);
  assert.equal(goals.body.goals.length, 1);
  assert.equal(goals.body.goals[0].words, GOAL_WORDS);
  assert.equal(goals.body.goals[0].owner, 'Patient/123');
  await shot(pages.clinician, '03-clinician-sees-goal-live');
});

test('clinician restates the goal; the client confirms', async () => {
  const frame = appFrame();
  const card = frame.locator('.goal', { hasText: GOAL_WORDS });
  await card.getByText('Restate', { exact: true }).click();
  await card.getByLabel('How I understand this goal').fill(RESTATEMENT);
  await card.getByRole('button', { name: 'Share my restatement' }).click();
  const client = pages.client.locator('.goal.mine', { hasText: GOAL_WORDS });
  await client.locator('.understanding blockquote', { hasText: RESTATEMENT }).waitFor({ timeout: TIMEOUT });
  await client.getByRole('button', { name: 'Yes, that is it' }).click();
  await frame.locator('.goal .understanding', { hasText: 'Owner: confirmed' }).waitFor({ timeout: TIMEOUT });
});

test('clinician shares a hypothesis; the client answers; the clinician sees the answer', async () => {
  const frame = appFrame();
  await frame.getByText('Share a hypothesis', { exact: true }).click();
  await frame.getByLabel('My thought, in plain words').first().fill(HYPOTHESIS);
  await frame.locator('#share-tent').selectOption('CONSIDERING');
  await frame.getByRole('button', { name: 'Share', exact: true }).click();
  await frame.locator('.hypothesis .hyp-text', { hasText: HYPOTHESIS }).waitFor({ timeout: TIMEOUT });

  const page = pages.client;
  const card = page.locator('.hypothesis', { hasText: HYPOTHESIS });
  await card.waitFor({ timeout: TIMEOUT });
  await card.locator('.tentative', { hasText: 'Dr Lee is considering:' }).waitFor();
  await card.getByLabel('This partly fits').check();
  await card.getByLabel('In my words (you can leave this empty)').fill(ANSWER);
  await card.getByRole('button', { name: 'Send my answer' }).click();
  await card.locator('.answer', { hasText: 'You answered: This partly fits' }).waitFor({ timeout: TIMEOUT });
  await shot(page, '04-client-goal-and-hypothesis');
  await assertAccessible(page, 'client view with a goal and an answered hypothesis');

  await frame.locator('.hypothesis .answers li', { hasText: ANSWER }).waitFor({ timeout: TIMEOUT });
  const answer = await frame.locator('.hypothesis .answers li').first().textContent();
  assert.match(answer, /Sam: This partly fits/);
  await assertAccessible(appFrameOf(pages.clinician), 'clinician view with goal, restatement and hypothesis');
});

async function setSlider(locator, value) {
  await locator.fill(String(value));
}

test('both rate and sign a review; the charts show the points', async () => {
  const frame = appFrame();
  await frame.getByRole('button', { name: 'Start a review' }).click();
  const clinicianReview = frame.locator('.review').first();
  await clinicianReview.waitFor({ timeout: TIMEOUT });

  const page = pages.client;
  const review = page.locator('.review').first();
  await review.waitFor({ timeout: TIMEOUT });
  await review.locator('[data-instrument="SRS"] input[type=range]').first().waitFor({ timeout: TIMEOUT });
  await assertAccessible(page, 'client review form (goal slider, ORS/SRS lines)');
  await assertAccessible(appFrameOf(pages.clinician), 'clinician review form');
  await setSlider(review.getByLabel(GOAL_WORDS), 4);
  const ors = review.locator('[data-instrument="ORS"] input[type=range]');
  const srs = review.locator('[data-instrument="SRS"] input[type=range]');
  for (const [i, v] of [5, 4.5, 6, 5].entries()) await setSlider(ors.nth(i), v);
  for (const [i, v] of [9, 8.5, 9, 9.5].entries()) await setSlider(srs.nth(i), v);
  await review.getByRole('button', { name: 'Save my ratings' }).click();
  await review.locator('.ratings-form .ok').waitFor({ timeout: TIMEOUT });
  await review.getByLabel('My reflection').fill('Talking about Mondays helped');
  await review.getByRole('button', { name: 'Save my reflection' }).click();
  await review.locator('.reflections li', { hasText: 'Talking about Mondays helped' }).waitFor({ timeout: TIMEOUT });
  await review.getByLabel('A next step').fill('Pack the bag on Sunday with Mum');
  await review.getByRole('button', { name: 'Add this step' }).click();
  await review.locator('.next-steps li', { hasText: 'Pack the bag on Sunday' }).waitFor({ timeout: TIMEOUT });
  await shot(page, '05-client-review');

  // The clinician co-rates the goal (each voice kept apart), then both sign.
  await clinicianReview.locator('.next-steps li', { hasText: 'Pack the bag on Sunday' }).waitFor({ timeout: TIMEOUT });
  await setSlider(clinicianReview.getByLabel(GOAL_WORDS), 6);
  await clinicianReview.getByRole('button', { name: 'Save my ratings' }).click();
  await clinicianReview.locator('.ratings-table td', { hasText: '6' }).waitFor({ timeout: TIMEOUT });
  // Wait until the client's view shows the clinician's rating (so it signs the latest content).
  await review.locator('.ratings-table td', { hasText: '6' }).waitFor({ timeout: TIMEOUT });
  await review.locator('.sign-form').getByRole('button', { name: 'Sign' }).click();
  await review.locator('.signatures li', { hasText: 'Signed by Sam' }).waitFor({ timeout: TIMEOUT });
  await clinicianReview.locator('.signatures li', { hasText: 'Signed by Sam' }).waitFor({ timeout: TIMEOUT });
  await clinicianReview.locator('.sign-form').getByRole('button', { name: 'Sign' }).click();
  await clinicianReview.locator('.badge', { hasText: 'signed by everyone' }).waitFor({ timeout: TIMEOUT });
  await review.locator('.badge', { hasText: 'signed by everyone' }).waitFor({ timeout: TIMEOUT });

  const reviews = await world.api('sam', 'GET', `/v1/${episode}/reviews`);
  assert.equal(reviews.body.reviews.length, 1);
  assert.equal(reviews.body.reviews[0].status, 'SIGNED');
  assert.equal(reviews.body.reviews[0].signatures.length, 2);

  // Charts: the goal has one point per rater (never averaged); ORS and SRS totals.
  const goalChart = frame.locator('figure.chart', { hasText: `Progress on: ${GOAL_WORDS}` });
  await goalChart.waitFor({ timeout: TIMEOUT });
  const values = await goalChart.locator('.point').evaluateAll((els) => els.map((e) => [e.getAttribute('data-rater'), Number(e.getAttribute('data-value'))]));
  assert.deepEqual(values.sort(), [['Dr Lee (you)', 6], ['Sam', 4]]);
  const orsChart = frame.locator('figure.chart', { hasText: 'ORS totals' });
  assert.deepEqual(await orsChart.locator('.point').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value')))), [20.5]);
  assert.equal(await orsChart.locator('.cutoff').count(), 1);
  const srsChart = frame.locator('figure.chart', { hasText: 'SRS totals' });
  assert.deepEqual(await srsChart.locator('.point').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value')))), [36]);
  // The text alternative holds the same numbers.
  assert.match(await goalChart.locator('table').textContent(), /4/);
  await frame.locator('#progress').scrollIntoViewIfNeeded();
  await shot(pages.clinician, '06-clinician-review-and-progress');
  await pages.client.locator('#progress').scrollIntoViewIfNeeded();
  await shot(pages.client, '07-client-progress');
  // The charts with their text alternatives open, and the review's signed state.
  for (const target of [appFrameOf(pages.clinician), pages.client.mainFrame()]) {
    await target.evaluate(() => { for (const d of document.querySelectorAll('details')) d.open = true; });
    await target.waitForFunction(() => ![...document.querySelectorAll('.history-list > li')].some((li) => li.textContent === 'Loading…'), null, { timeout: TIMEOUT });
  }
  await assertAccessible(appFrameOf(pages.clinician), 'clinician progress charts and signed review');
  await assertAccessible(pages.client, 'client progress charts and signed review');
});

test('CDS Hooks: patient-view cards for the clinician, in the client\'s words, linking to the app', async () => {
  const discovery = await fetch(`${world.collabOrigin}/cds-services`).then((r) => r.json());
  assert.deepEqual(discovery.services.map((s) => s.hook).sort(), ['encounter-start', 'patient-view']);

  // Since the signed review (the last visit) the client has written a new goal.
  const NEW_GOAL = 'Be asleep before midnight on school nights';
  const created = await world.api('sam', 'POST', `/v1/${episode}/goals`, { goal: { words: NEW_GOAL } });
  assert.equal(created.status, 200, JSON.stringify(created.body));

  const answer = await world.cdsCall('collabcare-patient-view', { userId: 'Practitioner/9', patientId: '123' });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const cards = answer.body.cards;
  const goalCard = cards.find((c) => c.summary.includes(NEW_GOAL));
  assert.ok(goalCard, JSON.stringify(cards.map((c) => c.summary)));
  assert.equal(goalCard.indicator, 'info');
  for (const card of cards) {
    assert.ok([...card.summary].length <= 140, card.summary);
    assert.equal(card.source.label, 'collabcare');
    assert.deepEqual(card.links.map((l) => [l.type, l.appContext, l.url]),
      [['smart', episode, `${world.cdsBaseUrl}/app/launch.html`]]);
  }
  // The goal written before the review is not news any more.
  assert.ok(!cards.some((c) => c.summary.includes(GOAL_WORDS)), JSON.stringify(cards.map((c) => c.summary)));

  // A practitioner outside the episode sees nothing; an unsigned call is refused.
  const outsider = await world.cdsCall('collabcare-patient-view', { userId: 'Practitioner/77', patientId: '123' });
  assert.deepEqual(outsider.body, { cards: [] });
  const unsigned = await world.cdsCall('collabcare-patient-view', { userId: 'Practitioner/9', patientId: '123' }, { token: '' });
  assert.equal(unsigned.status, 401);
});

test('bad input through the app is refused readably and nothing is stored', async () => {
  const page = pages.client;
  const count = async () => (await world.api('sam', 'GET', `/v1/${episode}/goals`)).body.goals.length;
  const before = await count();

  // Empty goal.
  const form = page.locator('.new-goal-form');
  await form.getByLabel('My goal', { exact: true }).fill('');
  await form.getByRole('button', { name: 'Add my goal' }).click();
  await form.getByRole('alert').filter({ hasText: 'Please write something in “My goal”.' }).waitFor({ timeout: TIMEOUT });

  // Overlong goal (over 8 KiB).
  await form.getByLabel('My goal', { exact: true }).fill('x'.repeat(9000));
  await form.getByRole('button', { name: 'Add my goal' }).click();
  await form.getByRole('alert').filter({ hasText: 'is too long' }).waitFor({ timeout: TIMEOUT });
  await form.getByLabel('My goal', { exact: true }).fill('');
  assert.equal(await count(), before);

  // The same past the app's own checks: the server refuses, naming the field.
  const sam = await world.mintToken('sam');
  const tampered = await page.evaluate(async ({ episodeName, token }) => {
    const post = async (body) => {
      const r = await fetch(`/v1/${episodeName}/goals`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };
    return [await post({ goal: { words: '' } }), await post({ goal: { words: 'y'.repeat(9000) } })];
  }, { episodeName: episode, token: sam });
  for (const r of tampered) {
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.status, 'INVALID_ARGUMENT');
    assert.match(r.body.error.message, /goal\.words/);
  }
  assert.equal(await count(), before);

  // A slider value outside 0–10 from a tampered page: the app sends it, the server refuses it,
  // the app shows why, and the review holds no rating.
  await page.getByRole('button', { name: 'Start a new review' }).click();
  const review = page.locator('.review.status-OPEN').first();
  await review.waitFor({ timeout: TIMEOUT });
  // Let the live update about the new review land first (it re-renders the view).
  await page.locator('#announce', { hasText: 'a review started' }).waitFor({ state: 'attached', timeout: TIMEOUT });
  const reviewName = await review.getAttribute('data-review');
  // Saving without moving any slider stores nothing: an untouched slider is not a rating of 5.
  await review.getByRole('button', { name: 'Save my ratings' }).click();
  await review.locator('.ratings-form').getByRole('alert').filter({ hasText: 'Move at least one slider' }).waitFor({ timeout: TIMEOUT });
  assert.equal(((await world.api('sam', 'GET', `/v1/${reviewName}`)).body.ratings || []).length, 0);
  const slider = review.getByLabel(GOAL_WORDS);
  await slider.evaluate((el) => { el.max = '20'; el.value = '15'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await review.getByRole('button', { name: 'Save my ratings' }).click();
  const alert = review.locator('.ratings-form').getByRole('alert');
  await alert.waitFor({ timeout: TIMEOUT });
  assert.match(await alert.textContent(), /Something in what you entered could not be saved\..*ratings\[0\]\.score/s);
  await shot(page, '08-client-refused-slider');
  await assertAccessible(page, 'client view showing refusals');
  const stored = await world.api('sam', 'GET', `/v1/${reviewName}`);
  assert.equal((stored.body.ratings || []).length, 0);
  const direct = await page.evaluate(async ({ name, token }) => {
    const r = await fetch(`/v1/${name}:submitRatings`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ instrumentScores: [{ instrument: 'ORS', items: [5, 5, 5, 11] }] }) });
    return { status: r.status, body: await r.json() };
  }, { name: reviewName, token: sam });
  assert.equal(direct.status, 400);
  assert.match(direct.body.error.message, /instrument_?[sS]cores\[0\]\.items\[3\]/);
  assert.equal(((await world.api('sam', 'GET', `/v1/${reviewName}`)).body.instrumentScores || []).length, 0);

  // An expired token: 401 with a readable message, nothing stored.
  const expired = await world.mintToken('sam', { expiresIn: -3600 });
  const refused = await page.evaluate(async ({ episodeName, token }) => {
    const r = await fetch(`/v1/${episodeName}/goals`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ goal: { words: 'Written with an old token' } }) });
    return { status: r.status, body: await r.json() };
  }, { episodeName: episode, token: expired });
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error.status, 'UNAUTHENTICATED');
  assert.match(refused.body.error.message, /expired/);
  assert.equal(await count(), before);
});

test('keyboard only: a client writes a goal with Tab, typing and Enter, and always sees the focus', async () => {
  const page = await launchClient({ viewport: { width: 1000, height: 800 } }, 'client-keyboard');
  // The focused button's words (buttons carry interface words only), else its tag name.
  const focusedButton = () => page.evaluate(() => {
    const el = document.activeElement;
    return el && el.tagName === 'BUTTON' ? el.textContent : `<${el ? el.tagName.toLowerCase() : 'none'}>`;
  });
  const focused = async () => {
    const f = await focusIndicator(page);
    assert.ok(f, 'something has the focus');
    assert.ok(f.visible, `no visible focus on ${f.tag}#${f.id}: ${f.style}`);
    return f;
  };
  // The first Tab reaches the skip link, shown on screen; Enter moves to the main content.
  await page.keyboard.press('Tab');
  const skip = await focused();
  assert.equal(skip.tag, 'a');
  const box = await page.locator('a.skip').boundingBox();
  assert.ok(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= 1000, JSON.stringify(box));
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  // Tab through the view (every stop shows its focus) to the goal field.
  let f;
  for (let i = 0; i < 120; i += 1) {
    await page.keyboard.press('Tab');
    f = await focused();
    if (f.id === 'new-goal-words') break;
  }
  assert.equal(f.id, 'new-goal-words', 'Tab reaches “My goal”');
  await page.keyboard.type(KEYBOARD_GOAL);
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'new-goal-signs');
  await page.keyboard.type(KEYBOARD_SIGNS);
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'new-goal-private');
  await page.keyboard.press('Tab');
  f = await focused();
  assert.equal(f.tag, 'button');
  assert.equal(await focusedButton(), 'Add my goal');
  await page.keyboard.press('Enter');
  await page.locator('.goal.mine .words', { hasText: KEYBOARD_GOAL }).waitFor({ timeout: TIMEOUT });
  await page.locator('.new-goal-form .ok').waitFor({ timeout: TIMEOUT });
  // After the view is drawn again the focus is still on the form's button, not back at the top.
  assert.equal(await focusedButton(), 'Add my goal');
  const goals = (await world.api('sam', 'GET', `/v1/${episode}/goals`)).body.goals;
  const written = goals.find((g) => g.words === KEYBOARD_GOAL);
  assert.ok(written, 'the goal is stored');
  assert.equal(written.everydaySigns, KEYBOARD_SIGNS);
  await shot(page, '09-client-keyboard-goal');
  await page.context().close();
});

// WCAG 1.4.4 / 1.4.10: at 200 % zoom a 1280 px wide window is 640 CSS px wide, at 400 % it is
// 320 CSS px (the reflow width). The client view must fit without horizontal scrolling, with
// its main actions on screen, and stay free of axe findings.
for (const [zoom, width, height] of [[2, 640, 400], [4, 320, 256]]) {
  test(`client view at ${zoom * 100} % zoom (${width} CSS px): no horizontal scrolling, actions reachable`, async () => {
    const page = await launchClient({ viewport: { width, height }, deviceScaleFactor: zoom }, `client-zoom-${zoom * 100}`);
    await page.locator('.review.status-OPEN').first().waitFor({ timeout: TIMEOUT });
    await waitForQuiet(page);
    const overflow = await page.evaluate(() => {
      const doc = document.documentElement;
      // What sticks out (outside containers that scroll on purpose), named by tag and class.
      const out = [...document.body.querySelectorAll('*')]
        .filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 0.5 && !e.closest('.table-scroll'))
        .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`);
      return { scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, out: [...new Set(out)] };
    });
    assert.ok(overflow.scrollWidth <= overflow.clientWidth && !overflow.out.length, JSON.stringify(overflow));
    assert.equal(overflow.clientWidth, width);
    const actions = [
      page.locator('.new-goal-form').getByLabel('My goal', { exact: true }),
      page.locator('.new-goal-form').getByRole('button', { name: 'Add my goal' }),
      page.getByRole('button', { name: 'Send my answer' }).first(),
      page.locator('.review.status-OPEN').first().getByRole('button', { name: 'Save my ratings' }),
      page.locator('.review.status-OPEN').first().locator('input[type=range]').first(),
      page.locator('#progress figure.chart svg').first(),
    ];
    for (const [i, action] of actions.entries()) {
      // Scrolled to and measured in one step (a live update may redraw the view in between).
      const b = await action.evaluate((el) => {
        el.scrollIntoView({ block: 'center' });
        const r = el.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height, innerHeight: window.innerHeight };
      });
      assert.ok(b.width > 0 && b.height > 0 && b.x >= 0 && b.x + b.width <= width + 0.5 && b.y < b.innerHeight && b.y + b.height > 0,
        `action ${i}: ${JSON.stringify(b)}`);
    }
    await assertAccessible(page, `client view at ${zoom * 100} % zoom`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, `10-client-zoom-${zoom * 100}`);
    await page.context().close();
  });
}

test('clinician view in a 320 px side panel: no horizontal scrolling', async () => {
  const page = pages.clinician;
  await page.evaluate(() => { document.getElementById('app').style.width = '320px'; });
  const frame = appFrameOf(page);
  await frame.waitForFunction(() => document.documentElement.clientWidth <= 320);
  const m = await frame.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  assert.ok(m.scrollWidth <= m.clientWidth, JSON.stringify(m));
  await assertAccessible(frame, 'clinician view in a 320 px panel');
  await page.evaluate(() => { document.getElementById('app').style.width = ''; });
});

test('no token, code or clinical words in the console or in any URL', async () => {
  const secrets = [GOAL_WORDS, GOAL_SIGNS, RESTATEMENT, HYPOTHESIS, ANSWER, KEYBOARD_GOAL, KEYBOARD_SIGNS];
  for (const line of consoleLines) {
    assert.doesNotMatch(line, /eyJ[A-Za-z0-9_-]{10,}/, line);
    for (const s of secrets) assert.ok(!line.includes(s), line);
  }
  for (const url of requestUrls) {
    assert.doesNotMatch(url, /access_token|eyJ[A-Za-z0-9_-]{10,}/, url);
    for (const s of secrets) assert.ok(!decodeURIComponent(url).includes(s), url);
  }
  assert.ok(!consoleLines.some((l) => /Content Security Policy|Refused to/.test(l)), consoleLines.join('\n'));
});
