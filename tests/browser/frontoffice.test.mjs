// The front office in a real browser (and, at the end, an auditor reading the request's log): an operator at the counter looks a citizen up, registers
// them (no e-mail address), enters a request on their behalf, hands over the printed receipt with
// its QR code and PDF, and finds the request on the citizen's page. The citizen opens the link on
// the receipt. Every page reached is checked with axe-core.
//
// The steps share one server, one operator (one browser context, signed in once), one citizen and
// one request, so they run in order and each depends on the previous ones.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  checkAccessibility, launchBrowser, newPage, STAFF_PASSWORD as PASSWORD, startServer,
} from './support.mjs';

const OPERATOR = 'franca@comune.test';
const AUDITOR = 'aldo@comune.test';
const CITIZEN = { firstName: 'Mario', lastName: 'Rossi', fiscalCode: 'RSSMRA80A01H501U' };
const SUBJECT = 'Orari della biblioteca comunale';
const DESCRIPTION = 'Il signor Rossi chiede gli orari di apertura estivi della biblioteca comunale e se serve la tessera.';

let server;
let browser;
let operator; // the operator's page; their context keeps the session cookie from step to step

// What the steps pass on to the next ones.
const journey = {
  signedIn: false,
  citizenUrl: null, // the citizen's page at the counter
  receiptUrl: null, // the receipt page of the request entered
  requestId: null,
  reference: null, // e.g. 2026/0000001
  trackingLink: null, // the private link printed on the receipt
};

before(async () => {
  server = await startServer();
  await server.cli(['user', 'add', '--email', OPERATOR, '--name', 'Franca Sportellista', '--role', 'front_office'],
    { input: `${PASSWORD}\n` });
  await server.cli(['user', 'add', '--email', AUDITOR, '--name', 'Aldo Revisore', '--role', 'auditor'],
    { input: `${PASSWORD}\n` });
  ({ browser } = await launchBrowser());
  operator = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const text = async (locator) => (await locator.textContent()).trim();

/**
 * A text field (input, search box or textarea) by its accessible name. Labels of required fields
 * end with an asterisk hidden from assistive technology, which getByLabel would have to match.
 */
const field = (scope, name, role = 'textbox') => scope.getByRole(role, { name, exact: true });

/**
 * Ticks a radio button or a checkbox found by role and accessible name. bootstrap-italia draws
 * them on their labels (the inputs are transparent underneath), so the operator clicks the box
 * drawn at the start of the label, and so do we.
 */
async function tick(page, role, name) {
  const input = page.getByRole(role, { name, exact: true });
  const id = await input.getAttribute('id');
  await page.locator(`label[for="${id}"]`).click({ position: { x: 8, y: 10 } });
  assert.equal(await input.isChecked(), true, `"${name}" is ticked`);
}

test('a front office operator signs in and lands at the counter', async () => {
  const page = operator;
  const response = await page.goto(`${server.url}/ufficio/accesso`);
  assert.equal(response.status(), 200);
  await checkAccessibility(page, 'staff login');
  await field(page, 'E-mail').fill(OPERATOR);
  await field(page, 'Password').fill(PASSWORD);
  await page.locator('main form[action="/ufficio/accesso"]').getByRole('button').click();
  await page.waitForURL(`${server.url}/ufficio/sportello`);
  assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Sportello al pubblico');
  await checkAccessibility(page, 'front office');
  journey.signedIn = true;
});

test('the operator looks the citizen up and registers them without an e-mail address', async () => {
  assert.ok(journey.signedIn, 'the operator signed in');
  const page = operator;
  const search = page.getByRole('search');
  await field(search, 'Nome e cognome, e-mail, telefono o codice fiscale', 'searchbox').fill(`${CITIZEN.lastName} ${CITIZEN.firstName}`);
  await search.getByRole('button', { name: 'Cerca' }).click();
  await page.waitForURL(/\/ufficio\/sportello\?q=/);
  assert.equal(await text(page.locator('#results-title')), 'Risultati: 0');
  assert.match(await text(page.locator('#results')), /Nessun cittadino trovato/);
  await checkAccessibility(page, 'front office: no citizen found');

  const register = page.getByRole('region', { name: 'Registra un nuovo cittadino' });
  await field(register, 'Nome').fill(CITIZEN.firstName);
  await field(register, 'Cognome').fill(CITIZEN.lastName);
  await field(register, 'Codice fiscale').fill(CITIZEN.fiscalCode);
  await register.getByRole('button', { name: 'Registra il cittadino' }).click();
  await page.waitForURL(/\/ufficio\/sportello\/cittadini\/[0-9a-f-]{36}$/);
  journey.citizenUrl = page.url();
  assert.equal(await text(page.getByRole('heading', { level: 1 })), `${CITIZEN.firstName} ${CITIZEN.lastName}`);
  const facts = await text(page.locator('dl.facts'));
  assert.ok(facts.includes(CITIZEN.fiscalCode), 'the page shows the fiscal code');
  assert.ok(facts.includes('nessun indirizzo e-mail'), 'the page says there is no e-mail address');
  assert.match(await text(page.locator("#requests")), /Nessuna richiesta/);
  await checkAccessibility(page, 'citizen at the counter (no requests)');

  // Found by surname from now on.
  await page.goto(`${server.url}/ufficio/sportello?q=${encodeURIComponent(CITIZEN.lastName)}`);
  const found = page.locator('#results li');
  assert.equal(await found.count(), 1);
  assert.ok((await text(found)).includes(CITIZEN.fiscalCode));
  assert.equal(new URL(await found.getByRole('link').getAttribute('href'), page.url()).href, journey.citizenUrl);
  await checkAccessibility(page, 'front office: one citizen found');
});

test('the operator enters a request for the citizen and gets the receipt', { timeout: 60_000 }, async () => {
  assert.ok(journey.citizenUrl, 'the operator registered the citizen');
  const page = operator;
  await page.goto(journey.citizenUrl);
  await page.getByRole('link', { name: 'Inserisci una richiesta' }).click();
  await page.waitForURL(`${journey.citizenUrl}/nuova`);
  assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Inserisci una richiesta');
  assert.equal(await page.getByRole('radio', { name: /^Per e-mail/ }).isDisabled(), true,
    'no e-mail contact for a citizen without an address');
  await checkAccessibility(page, 'request entry form');

  await page.getByRole('combobox', { name: 'Canale' }).selectOption({ label: 'Sportello' });
  await tick(page, 'checkbox', 'Identità verificata allo sportello con un documento');
  await tick(page, 'radio', 'Su carta (nessuna e-mail)');
  await tick(page, 'radio', 'Richiesta di informazioni');
  await page.getByRole('combobox', { name: 'Argomento' }).selectOption({ label: 'Lavori pubblici e manutenzioni' });
  await field(page, 'Oggetto').fill(SUBJECT);
  await field(page, 'Descrizione').fill(DESCRIPTION);
  const post = page.waitForResponse((r) => r.request().method() === 'POST'
    && new URL(r.url()).pathname === `${new URL(journey.citizenUrl).pathname}/nuova`);
  await page.getByRole('button', { name: 'Registra la richiesta' }).click();
  assert.equal((await post).status(), 303, 'the request is accepted');
  await page.waitForURL(/\/ufficio\/sportello\/ricevute\/[0-9a-f-]{36}$/);
  journey.receiptUrl = page.url();
  journey.requestId = new URL(page.url()).pathname.split('/').pop();

  assert.match(await text(page.getByRole('status')), /Richiesta registrata/);
  journey.reference = await text(page.locator('#reference'));
  assert.match(journey.reference, /^\d{4}\/\d{7}$/);
  assert.match(await text(page.locator('#deadline')), /\d{4}/, 'the receipt gives the deadline');
  assert.equal(await text(page.locator('#subject')), SUBJECT);
  assert.equal(await text(page.locator('#identity')), 'Identità verificata allo sportello.');
  const receipt = await text(page.locator('article.receipt'));
  assert.ok(receipt.includes(`${CITIZEN.firstName} ${CITIZEN.lastName}`), 'the receipt names the citizen');
  assert.ok(receipt.includes('Sportello'), 'the receipt names the channel');
  assert.ok(receipt.includes('Riceverai le risposte su carta'), 'the receipt says answers come on paper');
  assert.equal(await page.locator('.receipt-qr svg').count(), 1, 'the receipt has the QR code');
  assert.ok(await page.locator('.receipt-qr svg path').getAttribute('d'), 'the QR code has modules');
  const link = page.locator('#tracking-link');
  journey.trackingLink = await link.getAttribute('href');
  assert.match(journey.trackingLink, new RegExp(`^${server.url.replace(/\./g, '\\.')}/segui/[A-Za-z0-9_-]{43}$`));
  assert.equal(await text(link), journey.trackingLink, 'the link is printed in full');
  await checkAccessibility(page, 'receipt');

  const pdfLink = page.getByRole('link', { name: 'Scarica la ricevuta in PDF' });
  const pdf = await page.request.get(new URL(await pdfLink.getAttribute('href'), page.url()).href);
  assert.equal(pdf.status(), 200);
  assert.match(pdf.headers()['content-type'], /^application\/pdf/);
  const bytes = await pdf.body();
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  const content = bytes.toString('latin1');
  assert.ok(content.includes(journey.reference), 'the PDF carries the reference');
  assert.ok(content.includes(journey.trackingLink), 'the PDF carries the tracking link');
});

test('the citizen\'s page lists the request, and the request opens at the counter', async () => {
  assert.ok(journey.reference, 'the operator entered the request');
  const page = operator;
  await page.goto(journey.citizenUrl);
  const row = page.locator('#requests tbody tr', { hasText: journey.reference });
  assert.equal(await row.count(), 1, 'the citizen\'s page lists the request');
  assert.equal(await row.getByRole('link', { name: `Ristampa la ricevuta ${journey.reference}` }).count(), 1,
    'the receipt can be printed again');
  await checkAccessibility(page, 'citizen at the counter (one request)');

  await row.getByRole('link', { name: journey.reference, exact: true }).click();
  await page.waitForURL(`${journey.citizenUrl}/richieste/${journey.requestId}`);
  assert.equal(await text(page.getByRole('heading', { level: 1 })), `Richiesta ${journey.reference}`);
  assert.match(await text(page.locator('#status')), /^Ricevuta/);
  assert.ok((await text(page.locator('main'))).includes(SUBJECT));
  assert.match(await text(page.locator('#history')), /Richiesta ricevuta/);
  await checkAccessibility(page, 'request at the counter');
});

test('the citizen follows the link printed on the receipt', async (t) => {
  assert.ok(journey.trackingLink, 'the operator entered the request');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const response = await page.goto(journey.trackingLink);
  assert.equal(response.status(), 200);
  assert.equal(await text(page.locator('#reference')), journey.reference);
  assert.equal(await text(page.locator('#subject')), SUBJECT);
  await checkAccessibility(page, 'tracking page of a request entered at the counter');
});

test('an auditor reads the request\'s complete event history with its chain checked', async (t) => {
  assert.ok(journey.reference, 'the operator entered the request');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${server.url}/ufficio/accesso`);
  await field(page, 'E-mail').fill(AUDITOR);
  await field(page, 'Password').fill(PASSWORD);
  await page.locator('main form[action="/ufficio/accesso"]').getByRole('button').click();
  await page.waitForURL(`${server.url}/ufficio/revisione`);
  await checkAccessibility(page, 'audit: find a request');
  await field(page, 'Riferimento').fill(journey.reference);
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.waitForURL(`${server.url}/ufficio/revisione/${journey.requestId}`);
  assert.match(await text(page.locator('#chain')), /Catena di hash integra/);
  assert.match(await text(page.locator('#events')), /RequestReceived/);
  await checkAccessibility(page, 'audit: a request\'s events');
  const download = await page.request.get(`${server.url}/ufficio/revisione/${journey.requestId}/json`);
  assert.equal(download.status(), 200);
  const history = await download.json();
  assert.equal(history.events[0].type, 'RequestReceived');
  assert.ok(history.events.every((e) => e.chain_ok), 'every hash holds');
});
