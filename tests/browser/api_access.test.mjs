// The administrators' API clients and webhooks pages in a real browser. API clients: a first attempt with nothing
// shows linked errors and keeps what was typed; then a client limited to a department is created,
// its token is shown once and works against the API; the list shows it, and revoking it stops the
// token. Every page reached is checked with axe-core.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  checkAccessibility, launchBrowser, openPage, STAFF_PASSWORD as PASSWORD, startServer,
} from './support.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  await server.cli(['department', 'add', '--name', 'Lavori pubblici', '--email', 'lavori@comune.test']);
  await server.cli(['user', 'add', '--email', 'ada@comune.test', '--name', 'Ada Amministratrice',
    '--role', 'administrator'], { input: `${PASSWORD}\n` });
  ({ browser } = await launchBrowser());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A GET of the API with a bearer token, as another system would make it. */
async function callApi(path, token) {
  return fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

test('an administrator creates a client, sees its token once, and revokes it', async (t) => {
  const page = await openPage(browser, t);
  await page.goto(`${server.url}/ufficio/accesso`);
  await page.fill('#email', 'ada@comune.test');
  await page.fill('#password', PASSWORD);
  await page.click('main form[action="/ufficio/accesso"] button[type=submit]');
  await page.waitForURL(/\/ufficio\//);

  // The API's reference, built from its document, readable and accessible.
  await page.goto(`${server.url}/api/v1/docs`);
  assert.match(await page.locator('h1').innerText(), /API/);
  assert.ok(await page.locator('#get-api-v1-requests').count() === 1, 'GET /api/v1/requests is described');
  await checkAccessibility(page, 'API reference');

  await page.goto(`${server.url}/ufficio/amministrazione/api`);
  await page.click('a[href="/ufficio/amministrazione/api"]');
  assert.equal(await page.locator('a[href="/ufficio/amministrazione/api"][aria-current="page"]').count(), 1);
  await checkAccessibility(page, 'API clients');

  // Nothing chosen: the errors are listed, linked to their fields, and the name stays.
  await page.fill('#name', 'GIS strade');
  await page.click('main form[action="/ufficio/amministrazione/api"] button[type=submit]');
  const summary = page.locator('#error-summary');
  assert.match(await summary.innerText(), /almeno un permesso/);
  assert.equal(await page.inputValue('#name'), 'GIS strade');
  assert.equal(await page.locator('#scopes[aria-invalid="true"]').count(), 1);
  await checkAccessibility(page, 'API clients with errors');

  await page.click('label[for="scope-1"]');
  await page.click('label[for="department-1"]');
  await page.click('main form[action="/ufficio/amministrazione/api"] button[type=submit]');
  const token = await page.inputValue('#new-token');
  assert.match(token, /^spt_/);
  assert.match(await page.locator('#new-token-box').innerText(), /non sarà più mostrato/);
  await checkAccessibility(page, 'API client created');

  const topics = await callApi('/api/v1/topics', token);
  assert.equal(topics.status, 200);
  const requests = await callApi('/api/v1/requests', token);
  assert.equal(requests.status, 200);
  assert.deepEqual((await requests.json()).items, []);

  // Shown once: the list has the client, not the token.
  await page.goto(`${server.url}/ufficio/amministrazione/api`);
  const table = await page.locator('#api-clients').innerText();
  assert.match(table, /GIS strade/);
  assert.match(table, /Lavori pubblici/);
  assert.ok(!(await page.content()).includes(token));

  await page.click('#api-clients button[type=submit]');
  await page.waitForURL(`${server.url}/ufficio/amministrazione/api`);
  assert.match(await page.locator('#api-clients').innerText(), /Revocato il/);
  await checkAccessibility(page, 'API client revoked');
  const refused = await callApi('/api/v1/topics', token);
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get('content-type'), 'application/problem+json');
});

test('an administrator registers a webhook, reads its delivery log and disables it', async (t) => {
  const page = await openPage(browser, t);
  await page.goto(`${server.url}/ufficio/accesso`);
  await page.fill('#email', 'ada@comune.test');
  await page.fill('#password', PASSWORD);
  await page.click('main form[action="/ufficio/accesso"] button[type=submit]');
  await page.waitForURL(/\/ufficio\//);

  await page.goto(`${server.url}/ufficio/amministrazione/webhook`);
  await checkAccessibility(page, 'webhooks');
  // Plain HTTP to an outside host is refused, with the address kept.
  await page.fill('#url', 'http://protocollo.example.org/eventi');
  await page.click('main form[action="/ufficio/amministrazione/webhook"] button[type=submit]');
  assert.match(await page.locator('#error-summary').innerText(), /https:\/\//);
  assert.equal(await page.inputValue('#url'), 'http://protocollo.example.org/eventi');
  assert.equal(await page.locator('#url[aria-invalid="true"]').count(), 1);
  await checkAccessibility(page, 'webhooks with errors');

  await page.fill('#url', 'https://protocollo.example.org/eventi');
  await page.click('label[for="event-1"]');
  await page.click('main form[action="/ufficio/amministrazione/webhook"] button[type=submit]');
  assert.match(await page.inputValue('#new-secret'), /^whsec_/);
  await checkAccessibility(page, 'webhook registered');

  await page.click('#webhooks a');
  await page.waitForURL(/\/ufficio\/amministrazione\/webhook\/[0-9a-f-]+$/);
  assert.match(await page.locator('#endpoint').innerText(), /RequestReceived/);
  await checkAccessibility(page, 'webhook delivery log');
  await page.click('#switch');
  await page.waitForURL(/\/ufficio\/amministrazione\/webhook\/[0-9a-f-]+$/);
  assert.match(await page.locator('#endpoint-state').innerText(), /Disattivato/);
  await checkAccessibility(page, 'webhook disabled');
});
