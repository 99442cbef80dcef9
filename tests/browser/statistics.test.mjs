// Statistics in a real browser: an URP manager reads the dashboard (headline figures, SVG charts
// with their tables), filters it by kind, types a wrong period, downloads a table as CSV and
// switches to English; a referent sees only their own department; a visitor reaches the public
// page "L'URP in cifre" from the footer and downloads the open data; and the dashboard works
// without JavaScript. Every page state reached is checked with axe-core.
//
// The steps share one server with six demo requests filed through the real path before the
// browser starts (`sportello demo --requests 6`: two complaints, two requests for information,
// a suggestion and a praise, all received now and none forwarded). Each person has their own
// browser context (their own cookies and language).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import {
  checkAccessibility, eventually, launchBrowser, openPage, signInStaff, STAFF_PASSWORD as PASSWORD, startServer,
} from './support.mjs';

const MANAGER = 'mara@comune.test';
const REFERENT = 'rita@comune.test';

/** The dashboard's charts, by their titles; each has a table `#table-{id}` captioned alike. */
const CHARTS = [
  ['trend', 'Andamento nel tempo'],
  ['by_kind', 'Per tipo'],
  ['by_topic', 'Per argomento'],
  ['by_channel', 'Per canale'],
  ['by_department', 'Per ufficio'],
  ['aging', 'Arretrato per età'],
  ['satisfaction', 'Soddisfazione'],
];

/** The current year in Rome, the statistics' calendar. */
const YEAR = new Intl.DateTimeFormat('en', { timeZone: 'Europe/Rome', year: 'numeric' }).format(new Date());

let server;
let browser;

// What the steps pass on to the next ones.
const journey = {
  otherDepartmentId: null, // "Servizi sociali", which the referent does not belong to
};

before(async () => {
  server = await startServer();
  await server.cli(['department', 'add', '--name', 'Lavori pubblici', '--email', 'lavori@comune.test']);
  await server.cli(['department', 'add', '--name', 'Servizi sociali', '--email', 'sociali@comune.test']);
  await server.cli(['user', 'add', '--email', MANAGER, '--name', 'Mara Responsabile', '--role', 'urp_manager'],
    { input: `${PASSWORD}\n` });
  await server.cli(['user', 'add', '--email', REFERENT, '--name', 'Rita Referente', '--role', 'referent',
    '--department', 'Lavori pubblici'], { input: `${PASSWORD}\n` });
  const filed = await server.cli(['demo', '--requests', '6']);
  assert.equal(filed.trim().split('\n').length, 6, `six requests filed:\n${filed}`);
  ({ browser } = await launchBrowser());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in at /ufficio/accesso (checking the page unless told not to) and lands on the inbox. */
function signIn(page, email, options) {
  return signInStaff(page, server, email, options);
}

async function text(page, selector) {
  return (await page.textContent(selector))?.trim();
}

/** The number a headline shows (e.g. `received` for "Ricevute"). */
function headline(page, key) {
  return text(page, `#headline-${key} .headline-value`);
}

/** Waits until the dashboard's "received" headline shows `expected`, reloading meanwhile. */
async function waitForReceived(page, expected) {
  await eventually(page, async () => (await headline(page, 'received')) === expected,
    `the "Ricevute" headline shows ${expected}`);
}

/** The dashboard's filter form's submit button. */
function applyButton(page) {
  return page.locator('main form[action="/ufficio/statistiche"]').getByRole('button', { name: 'Applica i filtri' });
}

/** The received count of a table's row, by its row header. */
async function receivedIn(page, table, rowHeader) {
  const row = page.locator(`table#table-${table} tbody tr`).filter({
    has: page.locator('th', { hasText: new RegExp(`^\\s*${rowHeader}\\s*$`) }),
  });
  assert.equal(await row.count(), 1, `table ${table} has a row "${rowHeader}"`);
  return (await row.locator('td').first().textContent()).trim();
}

test('an URP manager reads the dashboard, filters it, exports a table and reads it in English', { timeout: 120_000 }, async (t) => {
  const page = await openPage(browser, t);
  await signIn(page, MANAGER);
  await page.locator('header .staff-bar').getByRole('link', { name: 'Statistiche' }).click();
  await page.waitForURL(`${server.url}/ufficio/statistiche`);
  await waitForReceived(page, '6');
  assert.equal(await text(page, 'h1'), 'Statistiche');
  assert.equal(await page.locator('#headline-deflections').count(), 1, 'the manager sees the FAQ deflections');

  // Every chart is an SVG image named by its title (and described), with a captioned table.
  assert.equal(await page.locator('main svg[role="img"]').count(), CHARTS.length);
  for (const [id, title] of CHARTS) {
    const chart = page.getByRole('img', { name: new RegExp(`^${title}(?:\\s|$)`) });
    assert.equal(await chart.count(), 1, `one chart is named "${title}"`);
    assert.equal(await chart.evaluate((node) => node.tagName.toLowerCase()), 'svg');
    assert.ok((await chart.locator('desc').textContent()).trim().length > 0, `the chart "${title}" is described`);
    assert.equal(await text(page, `table#table-${id} caption`), title, `the table of "${title}" has its caption`);
  }
  assert.equal(await receivedIn(page, 'by_kind', 'Reclamo'), '2');
  assert.equal(await receivedIn(page, 'by_kind', 'Suggerimento'), '1');
  await checkAccessibility(page, 'statistics dashboard');

  // The other department's id, for the referent's step.
  const otherDepartment = page.locator('#ufficio option', { hasText: 'Servizi sociali' });
  journey.otherDepartmentId = await otherDepartment.getAttribute('value');
  assert.match(journey.otherDepartmentId ?? '', /^[0-9a-f-]{36}$/);
  assert.deepEqual((await page.locator('#ufficio option').allTextContents()).map((label) => label.trim()),
    ['Qualsiasi', 'Lavori pubblici', 'Servizi sociali'], 'the manager may choose any department');

  // Filter by kind: the URL keeps the filter and the figures follow it.
  await page.getByLabel('Tipo', { exact: true }).selectOption({ label: 'Reclamo' });
  await applyButton(page).click();
  await page.waitForURL(/\/ufficio\/statistiche\?.*\btipo=complaint\b/);
  assert.equal(await headline(page, 'received'), '2');
  assert.equal(await page.locator('#tipo').inputValue(), 'complaint', 'the chosen kind stays selected');
  assert.equal(await page.locator('#error-summary').count(), 0);
  await checkAccessibility(page, 'statistics dashboard filtered by kind');

  // One table as CSV, for the same filters.
  const downloading = page.waitForEvent('download');
  await page.getByRole('link', { name: 'CSV – Per argomento' }).click();
  const download = await downloading;
  assert.match(download.url(), /\/ufficio\/statistiche\/esporta\/csv\?.*\btipo=complaint\b.*\btabella=by_topic\b/);
  assert.match(download.suggestedFilename(), /^statistiche-by_topic-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = (await readFile(await download.path(), 'utf8')).replace(/^\uFEFF/, '');
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(lines[0], 'Argomento,Ricevute,Con risposta,Risposte entro la scadenza (%)');
  // The two complaints' topics, one complaint each, none answered yet (a comma quotes the field).
  assert.deepEqual(lines.slice(1).sort(),
    ['"Mobilità, traffico e trasporti",1,0,', 'Lavori pubblici e manutenzioni,1,0,'], csv);

  // A period that ends before it starts: the error is summarised and tied to the field.
  const year = YEAR;
  await page.getByLabel('Ricevute dal').fill(`${year}-12-31`);
  await page.getByLabel('Ricevute fino al').fill(`${year}-01-01`);
  await applyButton(page).click();
  await page.waitForURL(new RegExp(`\\bdal=${year}-12-31\\b`));
  const summary = page.locator('#error-summary');
  assert.equal(await summary.count(), 1, 'the error summary is shown');
  assert.equal(await summary.getAttribute('role'), 'alert');
  assert.match(await summary.textContent(), /La data di inizio deve precedere quella di fine/);
  assert.equal(await summary.locator('a').getAttribute('href'), '#dal');
  assert.equal(await page.getAttribute('#dal', 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute('#dal', 'aria-describedby'), 'dal-error-1');
  assert.match(await text(page, '#dal-error-1'), /La data di inizio deve precedere quella di fine/);
  assert.equal(await page.getAttribute('#al', 'aria-invalid'), null, 'only the start is marked');
  assert.equal(await page.locator('#dal').inputValue(), `${year}-12-31`, 'what was typed is kept');
  await checkAccessibility(page, 'statistics dashboard with a wrong period');

  // English is one click away.
  await page.locator('header').getByRole('link', { name: 'English' }).click();
  await page.waitForURL(`${server.url}/ufficio/statistiche`);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await text(page, 'h1'), 'Statistics');
  assert.equal(await headline(page, 'received'), '6');
  assert.equal(await page.getByRole('img', { name: /^By topic\b/ }).count(), 1);
  assert.equal(await text(page, 'table#table-by_topic caption'), 'By topic');
  assert.equal(await applyButton(page).count(), 0, 'the button speaks English now');
  assert.equal(await page.getByRole('button', { name: 'Apply filters' }).count(), 1);
  await checkAccessibility(page, 'statistics dashboard in English');
});

test('a referent sees the statistics of their own department only', { timeout: 60_000 }, async (t) => {
  assert.ok(journey.otherDepartmentId, 'the manager read the departments');
  const page = await openPage(browser, t);
  await signIn(page, REFERENT, { check: false });
  const landing = page.waitForResponse((r) => r.request().isNavigationRequest()
    && new URL(r.url()).pathname === '/ufficio/statistiche');
  await page.locator('header .staff-bar').getByRole('link', { name: 'Statistiche' }).click();
  assert.equal((await landing).status(), 200);
  await page.waitForURL(`${server.url}/ufficio/statistiche`);
  assert.equal(await text(page, 'h1'), 'Statistiche');
  assert.deepEqual((await page.locator('#ufficio option').allTextContents()).map((label) => label.trim()),
    ['I miei uffici', 'Lavori pubblici'], 'only her department is offered');
  // No demo request was forwarded: her department has received none.
  assert.equal(await headline(page, 'received'), '0');
  assert.equal(await page.locator('#headline-deflections').count(), 0, 'the FAQ deflections are the URP\'s');
  await checkAccessibility(page, 'statistics dashboard for a referent');

  const other = await page.goto(`${server.url}/ufficio/statistiche?ufficio=${journey.otherDepartmentId}`);
  assert.equal(other.status(), 404, 'another department\'s figures are not hers to read');
  const csv = await page.request.get(
    `${server.url}/ufficio/statistiche/esporta/csv?ufficio=${journey.otherDepartmentId}&tabella=by_topic`);
  assert.equal(csv.status(), 404, 'nor to export');
});

test('a visitor finds "L\'URP in cifre" from the footer and downloads the open data', { timeout: 60_000 }, async (t) => {
  const page = await openPage(browser, t);
  await page.goto(`${server.url}/`);
  await page.locator('footer').getByRole('link', { name: 'L\'URP in cifre' }).click();
  await page.waitForURL(`${server.url}/statistiche`);
  await eventually(page, async () => (await text(page, '#public-received')) === '6',
    'the public page counts the six requests');
  assert.equal(await text(page, 'h1'), 'L\'URP in cifre');
  assert.equal(await text(page, '#public-by-topic caption'), `Richieste per argomento nel ${YEAR}`);

  // The open data: both datasets as CSV and JSON, each with its columns described.
  assert.equal(await text(page, '#open-data'), 'Dati aperti');
  const hrefs = await page.locator('main a[href^="/statistiche/dati/"]').evaluateAll(
    (links) => links.map((link) => link.getAttribute('href')));
  assert.deepEqual(hrefs.sort(), ['/statistiche/dati/aggregati.csv', '/statistiche/dati/aggregati.json',
    '/statistiche/dati/richieste.csv', '/statistiche/dati/richieste.json']);
  assert.equal(await page.getByRole('link', { name: 'JSON – Richieste anonime' }).count(), 1);
  assert.equal(await page.getByRole('link', { name: 'CSV – Richieste anonime' }).count(), 1);
  assert.equal(await page.locator('a[rel="license"]').getAttribute('href'), 'https://creativecommons.org/licenses/by/4.0/deed.it');
  await checkAccessibility(page, 'public statistics');

  const response = await page.request.get(`${server.url}/statistiche/dati/richieste.json`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-type'], /^application\/json\b/);
  const data = await response.json();
  assert.equal(data.dataset, 'richieste');
  assert.match(data.licence?.url ?? '', /creativecommons\.org\/licenses\/by\/4\.0/);
  assert.ok(data.licence?.name, 'the licence is named');
  assert.ok(Array.isArray(data.columns) && data.columns.length > 0, 'the columns are described');
  const columns = data.columns.map((column) => column.name);
  assert.ok(columns.includes('tipo') && columns.includes('argomento'));
  assert.ok(data.columns.every((column) => column.description_it && column.description_en));
  // The demo's requests were all filed today, and the file shows the data as of yesterday (the
  // fields of its records are checked against the columns in the HTTP tests, which have a past).
  assert.deepEqual(data.rows, []);

  await page.locator('header').getByRole('link', { name: 'English' }).click();
  await page.waitForURL(`${server.url}/statistiche`);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await text(page, 'h1'), 'The URP in figures');
  assert.equal(await text(page, '#public-received'), '6');
  assert.equal(await text(page, '#open-data'), 'Open data');
  await checkAccessibility(page, 'public statistics in English');
});

test('the dashboard works without JavaScript', { timeout: 60_000 }, async (t) => {
  const { browser: scriptless, context } = await launchBrowser({ javaScript: false });
  t.after(() => scriptless.close());
  const page = await context.newPage();
  await signIn(page, MANAGER, { check: false });
  const response = await page.goto(`${server.url}/ufficio/statistiche`);
  assert.equal(response.status(), 200);
  await waitForReceived(page, '6');
  assert.equal(await text(page, 'h1'), 'Statistiche');
  assert.equal(await page.locator('main svg[role="img"]').count(), CHARTS.length, 'the charts are drawn on the server');
  await checkAccessibility(page, 'statistics dashboard without JavaScript');

  await page.getByLabel('Tipo', { exact: true }).selectOption({ label: 'Suggerimento' });
  const landing = page.waitForResponse((r) => r.request().isNavigationRequest()
    && r.request().method() === 'GET' && new URL(r.url()).pathname === '/ufficio/statistiche');
  await applyButton(page).click();
  assert.equal((await landing).status(), 200);
  await page.waitForURL(/\/ufficio\/statistiche\?.*\btipo=suggestion\b/);
  assert.equal(await headline(page, 'received'), '1');
  assert.equal(await page.locator('#tipo').inputValue(), 'suggestion');
  await checkAccessibility(page, 'statistics dashboard filtered without JavaScript');
});
