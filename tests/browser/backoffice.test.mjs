// The back office in a real browser: a citizen files a complaint, an URP operator assesses it and
// forwards it to a department, the department's referent takes it in charge and answers, and the
// citizen reads the answer on the tracking page and in the mail. A referent of another department
// cannot open the request. Every page reached is checked with axe-core.
//
// The steps share one server and one request, so they run in order and each depends on the
// previous one; every person has their own browser context (their own cookies).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  actionForm, actionPost, checkAccessibility, eventually, launchBrowser, openPage, PROCESSOR_PATIENCE_MS, readMails, signInStaff,
  noNoticeAfter, STAFF_PASSWORD as PASSWORD, startServer,
} from './support.mjs';

const CITIZEN_EMAIL = 'marco.verdi@example.org';
const ANSWER = 'Il lampione sarà riparato entro venerdì.';
const FORWARD_NOTE = 'Lampione spento da una settimana, potete verificare?';

let server;
let browser;

// What the steps pass on to the next ones.
const journey = {
  token: null, // the citizen's private tracking token
  reference: null, // e.g. 2026/0000001
  requestUrl: null, // the request page in the back office
};

before(async () => {
  server = await startServer();
  await server.cli(['department', 'add', '--name', 'Lavori pubblici', '--email', 'lavori@comune.test',
    '--head-name', 'Dirigente', '--head-email', 'dirigente@comune.test']);
  await server.cli(['department', 'add', '--name', 'Servizi sociali', '--email', 'sociali@comune.test']);
  const staff = [
    ['anna@comune.test', 'Anna Operatrice', 'urp_operator'],
    ['rita@comune.test', 'Rita Referente', 'referent', 'Lavori pubblici'],
    ['sara@comune.test', 'Sara Referente', 'referent', 'Servizi sociali'],
  ];
  for (const [email, name, role, department] of staff) {
    const args = ['user', 'add', '--email', email, '--name', name, '--role', role];
    if (department) args.push('--department', department);
    await server.cli(args, { input: `${PASSWORD}\n` });
  }
  ({ browser } = await launchBrowser());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in at /ufficio/accesso (checking the page) and lands on the inbox. */
async function signIn(page, email) {
  await signInStaff(page, server, email);
  assert.equal(await page.locator('#inbox').count(), 1, 'the inbox table is there');
}

/** Waits until the inbox lists the request, checks the inbox and opens the request. */
async function openFromInbox(page) {
  const link = page.locator('#inbox a', { hasText: journey.reference });
  await eventually(page, async () => (await link.count()) === 1, `the inbox lists ${journey.reference}`);
  await checkAccessibility(page, 'inbox');
  await link.click();
  await page.waitForURL(journey.requestUrl ?? /\/ufficio\/richieste\/[0-9a-f-]{36}$/);
  assert.equal((await page.textContent('#reference')).trim(), journey.reference);
  return page.url();
}

/**
 * Submits the action form `code` on the request page and waits for the request page the server
 * redirects to. `fill` fills the form's fields first.
 */
async function act(page, code, fill = async () => {}) {
  const requestUrl = page.url();
  const form = await actionForm(page, code);
  await fill(form);
  const post = actionPost(page, requestUrl, code);
  const landing = page.waitForResponse((r) => r.request().isNavigationRequest()
    && r.request().method() === 'GET' && r.url() === requestUrl);
  await form.locator('button[type=submit]').click();
  const posted = await post;
  assert.equal(posted.status(), 303, `"${code}" is accepted and redirects back to the request`);
  assert.equal((await landing).status(), 200);
  await noNoticeAfter(page, code);
}

async function statusOf(page) {
  return (await page.textContent('#status')).trim();
}

test('a citizen files a complaint and keeps the tracking link', { timeout: 60_000 }, async (t) => {
  const page = await openPage(browser, t);
  await page.goto(`${server.url}/segnalazioni/nuova`);
  await checkAccessibility(page, 'new request form');
  await page.click('label[for="kind-complaint"]');
  await page.selectOption('#topic', 'lavori-pubblici');
  const fields = {
    subject: 'Lampione spento in via Roma',
    description: 'Il lampione davanti al civico 12 di via Roma è spento da una settimana e la sera la strada è completamente buia.',
    first_name: 'Marco',
    last_name: 'Verdi',
    email: CITIZEN_EMAIL,
    email_confirmation: CITIZEN_EMAIL,
  };
  for (const [field, value] of Object.entries(fields)) await page.fill(`#${field}`, value);
  await page.click('label[for="privacy"]');
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/segui\/[A-Za-z0-9_-]+\/ricevuta$/);

  journey.token = new URL(page.url()).pathname.split('/')[2];
  journey.reference = (await page.textContent('#reference')).trim();
  assert.match(journey.reference, /^\d{4}\/\d{7}$/);
  await checkAccessibility(page, 'confirmation');
  assert.equal(await page.getAttribute('#tracking-link', 'href').then((href) => new URL(href, page.url()).pathname),
    `/segui/${journey.token}`);
});

test('an URP operator assesses the request and forwards it to the department', { timeout: 90_000 }, async (t) => {
  assert.ok(journey.reference, 'the citizen filed the request');
  const page = await openPage(browser, t);
  await signIn(page, 'anna@comune.test');
  journey.requestUrl = await openFromInbox(page);
  assert.equal(await statusOf(page), 'Ricevuta');
  assert.equal((await page.textContent('#subject')).trim(), 'Lampione spento in via Roma');
  await checkAccessibility(page, 'request page (received)');

  await act(page, 'valuta');
  assert.equal(await statusOf(page), 'In valutazione');
  assert.equal(await page.locator('form#action-valuta').count(), 0, 'assessing is offered only once');

  await act(page, 'inoltra', async (form) => {
    await form.locator('#inoltra-department').selectOption({ label: 'Lavori pubblici' });
    await form.locator('#inoltra-message').fill(FORWARD_NOTE);
  });
  assert.equal(await statusOf(page), 'Inoltrata');
  assert.equal((await page.textContent('#department')).trim(), 'Lavori pubblici');
  const timeline = await page.textContent('#timeline');
  assert.match(timeline, /Inoltrata a: Lavori pubblici/);
  assert.ok(timeline.includes(FORWARD_NOTE), 'the note for the department is in the timeline');
  assert.match(timeline, /Anna Operatrice/, 'the timeline says who forwarded it');
  await checkAccessibility(page, 'request page (forwarded)');
});

test('the referent takes the request in charge and answers the citizen', { timeout: 90_000 }, async (t) => {
  assert.ok(journey.requestUrl, 'the operator forwarded the request');
  const page = await openPage(browser, t);
  await signIn(page, 'rita@comune.test');
  assert.equal(await openFromInbox(page), journey.requestUrl);
  assert.equal(await statusOf(page), 'Inoltrata');
  await checkAccessibility(page, 'request page for the referent (forwarded)');

  await act(page, 'prendi');
  assert.equal(await statusOf(page), 'Presa in carico');

  await act(page, 'rispondi', async (form) => {
    await form.locator('#rispondi-message').fill(ANSWER);
  });
  assert.equal(await statusOf(page), 'Risposta inviata');
  assert.ok((await page.textContent('#timeline')).includes(ANSWER), 'the answer is in the timeline');
  await checkAccessibility(page, 'request page for the referent (answered)');
});

test('a referent of another department cannot see the request', { timeout: 60_000 }, async (t) => {
  assert.ok(journey.requestUrl, 'the operator forwarded the request');
  const page = await openPage(browser, t);
  await signIn(page, 'sara@comune.test');
  await checkAccessibility(page, 'inbox of another department');
  assert.equal(await page.locator('#inbox a', { hasText: journey.reference }).count(), 0,
    'the request is not in her inbox');
  const response = await page.goto(journey.requestUrl);
  assert.equal(response.status(), 404, 'the request page is a 404, not a 403');
  assert.equal((await page.content()).includes('Lampione spento'), false, 'nothing of the request shows');
  await checkAccessibility(page, 'request page not found for staff');
});

test('the citizen reads the answer on the tracking page and in the mail', { timeout: 60_000 }, async (t) => {
  assert.ok(journey.token, 'the citizen filed the request');
  const page = await openPage(browser, t);
  await page.goto(`${server.url}/segui/${journey.token}`);
  await eventually(page, async () => (await statusOf(page)) === 'Risposta inviata',
    'the tracking page says "Risposta inviata"');
  assert.equal((await page.textContent('#reference')).trim(), journey.reference);
  assert.ok((await page.textContent('main')).includes(ANSWER), 'the tracking page shows the answer');
  const content = await page.content();
  assert.equal(content.includes(FORWARD_NOTE), false, 'the internal note for the department is not shown');
  await checkAccessibility(page, 'tracking page (answered)');

  const isAnswer = (mail) => {
    const head = mail.slice(0, mail.indexOf('\n\n'));
    return /^Subject:.*la risposta del Comune/im.test(head)
      && new RegExp(`^To:.*${CITIZEN_EMAIL.replace(/\./g, '\\.')}`, 'im').test(head);
  };
  const deadline = Date.now() + PROCESSOR_PATIENCE_MS;
  let answer;
  for (;;) {
    const mails = await readMails(server.dataDir, { timeoutMs: PROCESSOR_PATIENCE_MS });
    answer = mails.find(isAnswer);
    if (answer || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  assert.ok(answer, `an e-mail to ${CITIZEN_EMAIL} with "la risposta del Comune" in the subject was written`);
  assert.ok(answer.includes(ANSWER), 'the mail carries the answer');
  assert.ok(answer.includes(journey.reference), 'the mail names the reference');
});
