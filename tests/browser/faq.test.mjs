// The FAQ and the documents library in a real browser: searching without JavaScript (results
// with the matching words marked), searching as you type, suggestions while writing a request
// (and the record of one opened), "Was this useful?", and the URP's side: the list with votes,
// the editor and a FAQ's history, the missing FAQs, and a document uploaded and downloaded from
// the public library. Every page state reached is checked with axe-core.
//
// The steps share one server seeded with the twelve real demo FAQs (`sportello demo --faqs 12`);
// the staff step reads the vote cast in the voting step, so the tests run in order.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  checkAccessibility, launchBrowser, openContext, openPage, signInStaff, STAFF_PASSWORD as PASSWORD, startServer,
} from './support.mjs';

const RESIDENCE = 'Come ottengo un certificato di residenza?';
const IDENTITY_CARD = 'Come rinnovo la carta d\'identità elettronica?';
const CHANGE_OF_RESIDENCE = 'Come cambio residenza?';
const VOTE_COMMENT = 'Chiaro, ma non dice quanto costa il certificato.';
const NEW_SENTENCE = 'Il certificato stampato allo sportello costa 0,52 euro in carta semplice.';

let server;
let browser; // with JavaScript
let fixtures; // a temporary directory for the PDF

// What the steps pass on to the next ones.
const journey = {
  voted: false, // the voting step voted "Sì" on RESIDENCE
};

before(async () => {
  server = await startServer();
  // A database of its own is not "private": the real FAQs are seeded by hand, without requests.
  const seeded = await server.cli(['demo', '--requests', '0', '--faqs', '12']);
  assert.match(seeded, /12 FAQs added/);
  await server.cli(['user', 'add', '--email', 'anna@comune.test', '--name', 'Anna Operatrice', '--role', 'urp_operator'],
    { input: `${PASSWORD}\n` });
  ({ browser } = await launchBrowser());
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'sportello-faq-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (fixtures) await rm(fixtures, { recursive: true, force: true });
});

/** The id of a published FAQ, read from the public index by its question. */
async function faqId(page, question) {
  await page.goto(`${server.url}/faq`);
  const href = await page.locator('main a', { hasText: question }).first().getAttribute('href');
  const id = href?.match(/^\/faq\/([0-9a-f-]{36})$/)?.[1];
  assert.ok(id, `the index links "${question}" to its page, got ${href}`);
  return id;
}

test('the FAQ index and search work without JavaScript, with the matching words marked', { timeout: 60_000 }, async (t) => {
  const { browser: scriptless, context } = await launchBrowser({ javaScript: false });
  t.after(() => scriptless.close());
  const page = await context.newPage();

  const response = await page.goto(`${server.url}/faq`);
  assert.equal(response.status(), 200);
  assert.equal((await page.textContent('h1')).trim(), 'Domande frequenti');
  await checkAccessibility(page, 'FAQ index without JavaScript');

  // Topics as headings linking to their page, each with its questions.
  const topics = page.locator('main section h2 a');
  assert.ok(await topics.count() >= 5, `the index lists the topics, got ${await topics.count()}`);
  for (const href of await topics.evaluateAll((links) => links.map((a) => a.getAttribute('href')))) {
    assert.match(href, /^\/faq\/argomenti\/[a-z-]+$/);
  }
  const registry = page.locator('main section', { has: page.locator('h2', { hasText: 'Anagrafe' }) });
  assert.equal(await registry.count(), 1, 'the registry office is one of the topics');
  for (const question of [IDENTITY_CARD, RESIDENCE, CHANGE_OF_RESIDENCE]) {
    assert.equal(await registry.locator('li a', { hasText: question }).count(), 1, `"${question}" is listed under its topic`);
  }
  assert.equal(await page.locator('main li a[href^="/faq/"]').count(), 12, 'the twelve published FAQs are listed');

  await page.fill('#faq-q', 'certificati residenza');
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/faq/cerca'),
    page.click('form[role=search] button[type=submit]'),
  ]);
  assert.equal(new URL(page.url()).searchParams.get('q'), 'certificati residenza');
  assert.equal(await page.inputValue('#faq-q'), 'certificati residenza', 'the query stays in the box');
  const results = page.locator('#results > li');
  assert.ok(await results.count() >= 2, 'both residence FAQs are found');
  assert.match(await page.textContent('#results-title'), /^Risultati: \d+$/);
  const first = results.first().locator('a');
  assert.equal((await first.textContent()).trim(), RESIDENCE, 'the best result comes first');
  assert.equal(await first.getAttribute('href').then((href) => href.startsWith('/faq/')), true);
  const marked = await first.locator('mark').allTextContents();
  assert.deepEqual(marked, ['certificato', 'residenza'],
    'the question marks "certificato" (an inflection of "certificati") and "residenza"');
  const excerptMarks = await results.first().locator('p mark').allTextContents();
  assert.ok(excerptMarks.some((word) => /^certificat/i.test(word)), `the excerpt marks a match, got ${JSON.stringify(excerptMarks)}`);
  assert.equal(await page.locator('#results mark', { hasText: /^(di|un|come)$/i }).count(), 0, 'stop words are not marked');
  await checkAccessibility(page, 'FAQ search results without JavaScript');

  // Nothing found: the page says so and points to the request form.
  await page.fill('#faq-q', 'astronave marziana');
  await Promise.all([
    page.waitForURL((url) => url.searchParams.get('q') === 'astronave marziana'),
    page.click('form[role=search] button[type=submit]'),
  ]);
  assert.match(await page.textContent('#results'), /Nessuna domanda frequente corrisponde/);
  assert.equal(await page.locator('#results a[href="/segnalazioni/nuova"]').count(), 1);
  assert.equal(await page.textContent('#results-title'), 'Risultati: 0');
  await checkAccessibility(page, 'FAQ search without results');
});

test('results update as you type, without pressing the button', { timeout: 60_000 }, async (t) => {
  const page = await openPage(browser, t);
  await page.goto(`${server.url}/faq`);
  // A page loaded afresh would lose this: the results must come without a navigation.
  await page.evaluate(() => { window.stillHere = true; });
  assert.equal(await page.locator('#faq-results').textContent(), '', 'no results before typing');

  await page.locator('#faq-q').pressSequentially('carta identità', { delay: 30 });
  const result = page.locator('#faq-results #results a', { hasText: IDENTITY_CARD });
  await result.waitFor({ state: 'visible', timeout: 5_000 });
  assert.equal(await page.evaluate(() => window.stillHere), true, 'the results came in place, not by loading a page');
  assert.equal(await page.locator('#faq-results h1').count(), 0, 'only the results fragment is put in place');
  assert.deepEqual(await result.locator('mark').allTextContents(), ['carta', 'identità']);
  assert.equal(new URL(page.url()).pathname, '/faq/cerca', 'the address follows the query, so it can be shared');
  assert.equal(new URL(page.url()).searchParams.get('q'), 'carta identità');
  await checkAccessibility(page, 'FAQ index with results typed');

  // The address is a real search page.
  await page.reload();
  assert.equal((await page.locator('#results > li a').first().textContent()).trim(), IDENTITY_CARD);
  await checkAccessibility(page, 'FAQ search page reloaded');
});

test('suggestions appear while writing a request and opening one is recorded', { timeout: 60_000 }, async (t) => {
  const context = await openContext(browser, t);
  const page = await context.newPage();
  await page.goto(`${server.url}/segnalazioni/nuova`);
  const suggestions = page.locator('#faq-suggestions');
  assert.equal(await suggestions.isVisible(), false, 'no suggestions before writing');
  await page.locator('a[href="/faq"]', { hasText: 'Domande frequenti' }).first().waitFor();

  await page.fill('#subject', 'Rinnovo carta d\'identità');
  await page.fill('#description', 'La mia carta d\'identità scade il mese prossimo: come la rinnovo e quali documenti devo portare?');
  await suggestions.waitFor({ state: 'visible', timeout: 5_000 });
  const suggestion = suggestions.locator('a[data-faq]', { hasText: IDENTITY_CARD });
  assert.equal(await suggestion.count(), 1, 'the identity-card FAQ is suggested');
  assert.equal(await suggestion.getAttribute('target'), '_blank');
  assert.match(await suggestions.textContent(), /si apre in una nuova scheda/, 'the new tab is announced');
  assert.ok(await suggestions.locator('li').count() <= 5, 'at most five suggestions');
  await checkAccessibility(page, 'new request form with FAQ suggestions');

  const faq = await suggestion.getAttribute('data-faq');
  const beacon = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/faq/aperture');
  const recorded = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/faq/aperture');
  const popup = context.waitForEvent('page');
  await suggestion.click();

  const request = await beacon;
  const sent = new URLSearchParams(request.postData() ?? '');
  assert.equal(sent.get('faq'), faq, 'the opened FAQ is reported');
  assert.equal(sent.get('form_session'), await page.inputValue('input[name=form_session]'), 'by the form\'s anonymous session');
  assert.equal((await recorded).status(), 204, 'the server records the suggestion opened');

  const opened = await popup;
  await opened.waitForLoadState();
  assert.equal(new URL(opened.url()).pathname, `/faq/${faq}`);
  assert.equal((await opened.textContent('h1')).trim(), IDENTITY_CARD);
  assert.match(await opened.textContent('#answer'), /Ufficio anagrafe/);
  await checkAccessibility(opened, 'FAQ opened from a suggestion');
  // The form is still there with what was typed.
  assert.equal(await page.inputValue('#subject'), 'Rinnovo carta d\'identità');
});

test('a citizen says whether a FAQ was useful; no choice is an error linked to the field', { timeout: 60_000 }, async (t) => {
  const page = await openPage(browser, t);
  const id = await faqId(page, RESIDENCE);
  await page.goto(`${server.url}/faq/${id}`);
  assert.equal((await page.textContent('h1')).trim(), RESIDENCE);
  await checkAccessibility(page, 'FAQ page');

  // No choice: the page comes back with the error, and the comment is kept.
  await page.fill('#vote-comment', VOTE_COMMENT);
  const refused = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/faq/${id}/voto`);
  await page.click('.faq-vote button[type=submit]');
  assert.equal((await refused).status(), 422);
  await page.waitForLoadState();
  const summary = page.locator('#error-summary');
  assert.equal(await summary.isVisible(), true);
  assert.match(await summary.textContent(), /Scegli Sì o No\./);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', 'the summary takes the focus');
  const target = await summary.locator('a').getAttribute('href');
  assert.equal(target, '#useful-yes', 'the summary links to the choice');
  assert.equal(await page.locator(target).count(), 1);
  const fieldset = page.locator('fieldset', { has: page.locator('#useful-yes') });
  const describedBy = (await fieldset.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
  assert.ok(describedBy.length > 0, 'the choice is described by its error');
  const descriptions = await Promise.all(describedBy.map((ref) => page.locator(`[id="${ref}"]`).textContent()));
  assert.ok(descriptions.some((text) => text.includes('Scegli Sì o No.')), `the description is the error, got ${JSON.stringify(descriptions)}`);
  assert.equal(await page.inputValue('#vote-comment'), VOTE_COMMENT, 'the comment is kept');
  await checkAccessibility(page, 'FAQ vote with an error');

  await page.click('label[for="useful-yes"]');
  assert.equal(await page.isChecked('#useful-yes'), true);
  const accepted = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/faq/${id}/voto`);
  await page.click('.faq-vote button[type=submit]');
  assert.equal((await accepted).status(), 303);
  await page.waitForURL((url) => url.pathname === `/faq/${id}` && url.searchParams.has('grazie'));
  assert.equal((await page.textContent('#vote-thanks')).trim(), 'Grazie, la tua risposta ci aiuta a migliorare.');
  assert.equal(await page.locator('.faq-vote form').count(), 0, 'the form is not offered again');
  journey.voted = true;
  await checkAccessibility(page, 'FAQ vote thanks');
});

const DOCUMENT_TITLE = 'Modulo di richiesta del certificato di residenza';

/** A minimal well-formed one-page PDF, with a correct cross-reference table. */
function minimalPdf(text) {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null, // the content stream, below
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 14 Tf 72 770 Td (${text}) Tj ET`;
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let pdf = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, index) => {
    offsets.push(pdf.length);
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

test('the URP reads the votes, edits a FAQ, reads its history and adds a document to the library', { timeout: 120_000 }, async (t) => {
  assert.ok(journey.voted, 'the citizen voted on a FAQ');
  const page = await openPage(browser, t);
  await signInStaff(page, server, 'anna@comune.test');

  await page.goto(`${server.url}/ufficio/faq`);
  assert.equal((await page.textContent('h1')).trim(), 'FAQ');
  // Opening a suggestion counts only after an hour without the form sent: none yet.
  assert.match(await page.textContent('#deflected'), /Domande risolte dalle FAQ negli ultimi 30 giorni .*: 0$/);
  const row = page.locator('#faqs tbody tr', { has: page.locator('td:first-child a', { hasText: RESIDENCE }) });
  assert.equal(await row.count(), 1, 'the voted FAQ is listed');
  assert.match(await row.textContent(), /1 sì · 0 no/, 'with its vote');
  const other = page.locator('#faqs tbody tr', { has: page.locator('td:first-child a', { hasText: CHANGE_OF_RESIDENCE }) });
  assert.match(await other.textContent(), /0 sì · 0 no/, 'a FAQ nobody voted on has no votes');
  assert.equal(await page.locator('#faqs tbody tr').count(), 12);
  await checkAccessibility(page, 'staff FAQ list');

  // The editor: change the Italian answer and save.
  await row.locator('td:first-child a').click();
  await page.waitForURL(/\/ufficio\/faq\/[0-9a-f-]{36}$/);
  const id = new URL(page.url()).pathname.split('/').pop();
  assert.equal(await page.inputValue('#question_it'), RESIDENCE);
  assert.equal(await page.isChecked('#published'), true);
  assert.equal(await page.inputValue('input[name=revision]'), '1');
  await checkAccessibility(page, 'staff FAQ editor');
  const answer = await page.inputValue('#answer_it');
  await page.fill('#answer_it', `${answer}\n\n${NEW_SENTENCE}`);
  const saved = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/ufficio/faq/${id}`);
  await page.click('main form button[type=submit]');
  assert.equal((await saved).status(), 303);
  await page.waitForURL(`${server.url}/ufficio/faq`);
  await checkAccessibility(page, 'staff FAQ list after saving');

  // The citizens see the new answer, and the search finds it.
  const citizen = await openPage(browser, t);
  await citizen.goto(`${server.url}/faq/${id}`);
  assert.ok((await citizen.textContent('#answer')).includes(NEW_SENTENCE), 'the public page shows the new answer');
  await checkAccessibility(citizen, 'FAQ page after the change');

  // The history: both versions, newest first, and the citizen's comment.
  await page.goto(`${server.url}/ufficio/faq/${id}/storia`);
  const versions = page.locator('#revisions > li');
  assert.equal(await versions.count(), 2, 'two versions are listed');
  assert.match(await versions.nth(0).textContent(), /Versione 2/);
  assert.ok((await versions.nth(0).textContent()).includes(NEW_SENTENCE), 'the newest version has the new sentence');
  assert.match(await versions.nth(1).textContent(), /Versione 1/);
  assert.equal((await versions.nth(1).textContent()).includes(NEW_SENTENCE), false, 'the first version is as it was');
  assert.match(await versions.nth(0).textContent(), /Anna Operatrice/, 'the history says who changed it');
  assert.ok((await page.textContent('#comments')).includes(VOTE_COMMENT), 'the citizen\'s comment is shown to staff');
  await checkAccessibility(page, 'staff FAQ history');

  await page.goto(`${server.url}/ufficio/faq/mancanti`);
  assert.equal((await page.textContent('h1')).trim(), 'FAQ mancanti');
  await checkAccessibility(page, 'staff missing FAQs');

  // The library: upload a PDF with a title and a topic.
  await page.goto(`${server.url}/ufficio/documenti`);
  await checkAccessibility(page, 'staff documents library');
  const pdf = path.join(fixtures, 'modulo-residenza.pdf');
  await writeFile(pdf, minimalPdf('Modulo di richiesta'));
  await page.fill('#title', DOCUMENT_TITLE);
  await page.fill('#description', 'Da compilare e consegnare allo sportello dell\'anagrafe.');
  await page.selectOption('#topic', 'anagrafe');
  await page.setInputFiles('#file', pdf);
  assert.equal(await page.isChecked('#published'), true, 'a new document is published by default');
  const uploaded = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/ufficio/documenti');
  await page.click('form[action="/ufficio/documenti"] button[type=submit]');
  assert.equal((await uploaded).status(), 303);
  await page.waitForURL(`${server.url}/ufficio/documenti`);
  assert.equal(await page.locator('form.document-edit legend', { hasText: DOCUMENT_TITLE }).count(), 1, 'the library lists it');
  await checkAccessibility(page, 'staff documents library with a document');

  // The public library lists it, and the download is the PDF.
  await citizen.goto(`${server.url}/documenti`);
  const listed = citizen.locator('#documents li', { has: citizen.locator('a', { hasText: DOCUMENT_TITLE }) });
  assert.equal(await listed.count(), 1, 'the public library lists the document');
  assert.match(await listed.textContent(), /modulo-residenza\.pdf/, 'with its file name');
  const link = listed.locator('a');
  await checkAccessibility(citizen, 'public documents library');
  const download = await citizen.request.get(new URL(await link.getAttribute('href'), server.url).href);
  assert.equal(download.status(), 200);
  assert.match(download.headers()['content-type'], /^application\/pdf\b/);
  const body = await download.body();
  assert.equal(body.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.deepEqual(body, await readFile(pdf), 'the same bytes come back');
});
