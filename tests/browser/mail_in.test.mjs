// Mail in, in a real browser: a citizen writes to the URP's mailbox (a real Dovecot), the
// operator finds the request in the inbox marked "E-mail", opens it, and sees the citizen's
// answer by "Reply" threaded onto it; then works the quarantine. Every page is checked with
// axe-core.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startDovecot } from './dovecot.mjs';
import {
  STAFF_PASSWORD, checkAccessibility, eventually, launchBrowser, openPage, readMails, signInStaff,
  startServer,
} from './support.mjs';

let dovecot;
let server;
let browser;
const user = `urp${randomBytes(6).toString('hex')}`;

before(async () => {
  dovecot = await startDovecot();
  server = await startServer({
    env: { SPORTELLO_IMAP_URL: dovecot.url(user), SPORTELLO_MAIL_IN_POLL_SECONDS: '1' },
  });
  await server.cli(['user', 'add', '--email', 'anna@comune.test', '--name', 'Anna Operatrice',
    '--role', 'urp_operator'], { input: `${STAFF_PASSWORD}\n` });
  await server.cli(['user', 'add', '--email', 'ada@comune.test', '--name', 'Ada Amministratrice',
    '--role', 'administrator'], { input: `${STAFF_PASSWORD}\n` });
  ({ browser } = await launchBrowser());
});

after(async () => {
  await browser?.close();
  await server?.stop();
  dovecot?.stop();
});

const letter = [
  'From: Maria Rossi <maria.rossi@example.org>',
  'To: URP <urp@comune.test>',
  'Subject: Lampione spento in via Garibaldi',
  'Message-ID: <browser-1@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Il lampione davanti al civico 8 è spento da una settimana.',
  '',
].join('\n');

test('an operator finds a mailed request with its threaded reply and works the quarantine', async (t) => {
  await dovecot.deliver(user, letter);
  const page = await openPage(browser, t);
  await signInStaff(page, server, 'anna@comune.test');
  const row = page.locator('#inbox tr', { hasText: 'Lampione spento in via Garibaldi' });
  await eventually(page, async () => (await row.count()) === 1, 'the inbox lists the mailed request', { t });
  assert.match(await row.innerText(), /E-mail/, 'the channel is shown');
  await checkAccessibility(page, 'inbox with a mailed request');
  await row.locator('a').first().click();
  await page.waitForURL(/\/ufficio\/richieste\/[0-9a-f-]{36}$/);
  const requestUrl = page.url();
  assert.match(await page.textContent('main'), /davanti al civico 8/);

  // The acknowledgement went out (to .eml files here) with the request's reply address.
  const [ack] = await readMails(server.dataDir, { count: 1 });
  assert.match(ack, /^In-Reply-To: <browser-1@example\.org>$/m, 'answered in the thread');
  const replyTo = ack.match(/^Reply-To: (.*)$/m)?.[1] ?? '';
  const address = replyTo.match(/<([^>]+)>/)?.[1] ?? replyTo.trim();
  assert.match(address, /^[^@+]+\+r[a-z2-7]{26}@/, "a reply address of the sender's mailbox");
  const messageId = ack.match(/^Message-ID: (.*)$/m)?.[1] ?? '';
  await dovecot.deliver(user, [
    'From: Maria Rossi <maria.rossi@example.org>', `To: ${address}`,
    'Subject: Re: la vostra conferma', 'Message-ID: <browser-2@example.org>', `In-Reply-To: ${messageId}`,
    'Content-Type: text/plain; charset=utf-8', '', 'Aggiungo che anche il lampione al civico 10 è spento.', '',
  ].join('\n'));
  await eventually(page, async () => /anche il lampione al civico 10/.test(await page.textContent('main')),
    'the reply is on the request', { t });
  assert.match(await page.textContent('main'), /Il cittadino ha inviato altre informazioni \(E-mail\)/);
  await checkAccessibility(page, 'request with a reply by e-mail');

  // An out-of-office answer waits in quarantine; the operator is told and decides.
  await dovecot.deliver(user, [
    'From: Luca Bianchi <luca@example.org>', 'To: urp@comune.test', 'Subject: Fuori ufficio',
    'Message-ID: <browser-3@example.org>', 'Auto-Submitted: auto-replied', '', 'Sono in ferie.', '',
  ].join('\n'));
  await page.goto(`${server.url}/ufficio/richieste`);
  const notice = page.locator('#quarantine-notice a');
  await eventually(page, async () => (await notice.count()) === 1, 'the inbox says mail waits', { t });
  await notice.click();
  await page.waitForURL(`${server.url}/ufficio/posta`);
  assert.match(await page.textContent('#waiting'), /Fuori ufficio/);
  await checkAccessibility(page, 'quarantine');
  await page.fill('#waiting input[name=riferimento]', '2026/9999999');
  await page.locator('#waiting button', { hasText: 'Aggiungi' }).click();
  await page.waitForLoadState();
  assert.match(await page.textContent('#error-summary'), /Non c'è una richiesta con questo numero/);
  assert.equal(await page.inputValue('#waiting input[name=riferimento]'), '2026/9999999', 'what was typed is kept');
  await checkAccessibility(page, 'quarantine with an error');
  await page.locator('#waiting button', { hasText: 'Scarta' }).click();
  await page.waitForURL(/\/ufficio\/posta\?avviso=scartato$/);
  assert.match(await page.textContent('main'), /Nessun messaggio in quarantena/);
  assert.match(await page.textContent('#decided'), /Scartato/);
  await checkAccessibility(page, 'quarantine after a decision');
  // The discarded auto-reply left the request as it was.
  await page.goto(requestUrl);
  assert.match(await page.textContent('main'), /anche il lampione al civico 10/);
});

test('an administrator sees the mailbox connected on the service status page', async (t) => {
  const page = await openPage(browser, t);
  await signInStaff(page, server, 'ada@comune.test');
  await page.goto(`${server.url}/ufficio/amministrazione/stato`);
  await eventually(page, async () => /collegata/.test(await page.textContent('#mailboxes')),
    'the reader reported the mailbox', { t });
  assert.match(await page.textContent('#mailboxes'), /casella dell'URP/);
  assert.match(await page.textContent('#processors'), /queue/);
  await checkAccessibility(page, 'service status');
});
