// The citizen area in a real browser: a citizen registers, confirms the address from the e-mail,
// files a request from their area, replies with a photo, keeps a draft, an URP operator answers
// and closes the request, and the citizen rates the answer. Every page reached is checked with
// axe-core.
//
// The steps share one server, one citizen (one browser context, signed in once) and one request,
// so they run in order and each depends on the previous ones; staff have their own context.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  actionForm, actionPost, checkAccessibility, eventually, launchBrowser, newPage, noNoticeAfter, openPage, readMails,
  STAFF_PASSWORD, startServer, writePng,
} from './support.mjs';

const CITIZEN = {
  firstName: 'Lucia',
  lastName: 'Ferri',
  email: 'lucia.ferri@example.org',
  password: 'la mia password da cittadina',
};
const SUBJECT = 'Marciapiede rotto in via Mazzini';
const DESCRIPTION = 'Il marciapiede davanti al civico 3 di via Mazzini è sollevato dalle radici: con il passeggino non si passa.';
const REPLY = 'Aggiungo una foto del punto esatto, vicino alla fermata dell\'autobus.';
const ANSWER = 'Il marciapiede sarà sistemato la prossima settimana.';
const COMMENT = 'Risposta rapida e chiara, grazie.';
const DRAFT_SUBJECT = 'Panchina da riparare ai giardini';

let server;
let browser;
let citizen; // the citizen's page; their context keeps the session cookie from step to step

// What the steps pass on to the next ones.
const journey = {
  signedIn: false, // the citizen confirmed the address and is signed in
  confirmLink: null, // the link in the verification mail
  token: null, // the request's private tracking token
  reference: null, // e.g. 2026/0000001
  areaUrl: null, // the request's page in the citizen area
};

before(async () => {
  server = await startServer();
  await server.cli(['user', 'add', '--email', 'anna@comune.test', '--name', 'Anna Operatrice', '--role', 'urp_operator'],
    { input: `${STAFF_PASSWORD}\n` });
  ({ browser } = await launchBrowser());
  citizen = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const text = async (locator) => (await locator.textContent()).trim();

/**
 * A text field (input, password or textarea) by its accessible name. Labels of required fields end
 * with an asterisk hidden from assistive technology, which getByLabel would have to match.
 */
const field = (scope, name) => scope.getByRole('textbox', { name, exact: true });

/**
 * Ticks a radio button or a checkbox found by role and accessible name. bootstrap-italia draws
 * them on their labels (the inputs are transparent underneath), so a citizen clicks the box drawn
 * at the start of the label, and so do we (not the label's middle: it may hold a link).
 */
async function tick(scope, role, name) {
  const input = scope.getByRole(role, { name, exact: typeof name === 'string' });
  const id = await input.getAttribute('id');
  const page = typeof scope.page === 'function' ? scope.page() : scope;
  await page.locator(`label[for="${id}"]`).click({ position: { x: 8, y: 10 } });
  assert.equal(await input.isChecked(), true, `"${name}" is ticked`);
}

test('a citizen registers and confirms the address from the e-mail', { timeout: 60_000 }, async () => {
  const page = citizen;
  const response = await page.goto(`${server.url}/area/registrazione`);
  assert.equal(response.status(), 200);
  assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Registrati');
  await checkAccessibility(page, 'registration');

  await field(page, 'Nome').fill(CITIZEN.firstName);
  await field(page, 'Cognome').fill(CITIZEN.lastName);
  await field(page, 'E-mail').fill(CITIZEN.email);
  await tick(page, 'checkbox', /Ho letto l'informativa/);
  await page.getByRole('button', { name: 'Crea l\'account' }).click();
  await page.waitForLoadState();
  assert.match(await text(page.locator('#message')), /ti abbiamo inviato un'e-mail con un link per confermarlo/);
  await checkAccessibility(page, 'registration: check your e-mail');

  const mails = await readMails(server.dataDir);
  const mail = mails.find((m) => new RegExp(`^To:.*${CITIZEN.email.replace(/\./g, '\\.')}`, 'im').test(m.slice(0, m.indexOf('\n\n'))));
  assert.ok(mail, `a mail to ${CITIZEN.email} was written`);
  journey.confirmLink = mail.match(/https?:\/\/\S+\/area\/conferma\/[A-Za-z0-9_-]+/)?.[0];
  assert.ok(journey.confirmLink, `the mail carries a confirmation link:\n${mail}`);
  assert.ok(journey.confirmLink.startsWith(`${server.url}/area/conferma/`), 'the link is built from the public URL');

  await page.goto(journey.confirmLink);
  assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Conferma il tuo indirizzo e-mail');
  await checkAccessibility(page, 'confirm the address');
  // The password is chosen here, by whoever holds the mailbox.
  await field(page, 'Password').fill(CITIZEN.password);
  await field(page, 'Ripeti la password').fill(CITIZEN.password);
  await page.getByRole('button', { name: 'Conferma e accedi' }).click();
  await page.waitForURL(`${server.url}/area`);
  assert.equal(await text(page.getByRole('heading', { level: 1 })), 'La mia area');
  assert.match(await text(page.locator('main')), new RegExp(`Benvenuta o benvenuto, ${CITIZEN.firstName}`));
  assert.match(await text(page.locator('#requests')), /Non hai ancora inviato richieste/);
  await checkAccessibility(page, 'my area (empty)');
  journey.signedIn = true;
});

test('the confirmation link works once', async (t) => {
  assert.ok(journey.confirmLink, 'the citizen registered');
  const page = await openPage(browser, t);
  const response = await page.goto(journey.confirmLink);
  assert.equal(response.status(), 410, `a used link is gone, got ${response.status()}: "${await text(page.locator('h1'))}"`);
  await checkAccessibility(page, 'used confirmation link');
});

test('the signed-in citizen files a request from the area, with name and address filled in', { timeout: 60_000 }, async () => {
  assert.ok(journey.signedIn, 'the citizen registered and signed in');
  const page = citizen;
  await page.goto(`${server.url}/area`);
  await page.getByRole('navigation', { name: 'Area personale' }).getByRole('link', { name: 'Invia una segnalazione' }).click();
  await page.waitForURL(`${server.url}/segnalazioni/nuova`);
  assert.match(await text(page.locator('.signed-in-note')), /dalla tua area personale/);
  assert.equal(await field(page, 'Nome').inputValue(), CITIZEN.firstName);
  assert.equal(await field(page, 'Cognome').inputValue(), CITIZEN.lastName);
  assert.equal(await field(page, 'E-mail').inputValue(), CITIZEN.email);
  assert.equal(await field(page, 'Conferma e-mail').inputValue(), CITIZEN.email);
  await checkAccessibility(page, 'new request form (signed in)');

  await tick(page, 'radio', 'Reclamo');
  await page.getByRole('combobox', { name: 'Argomento' }).selectOption('lavori-pubblici');
  await field(page, 'Oggetto').fill(SUBJECT);
  await field(page, 'Descrizione').fill(DESCRIPTION);
  await tick(page, 'checkbox', /Ho letto l'informativa sulla privacy/);
  await page.getByRole('button', { name: 'Invia la segnalazione' }).click();
  await page.waitForURL(/\/segui\/[A-Za-z0-9_-]+\/ricevuta$/);
  journey.token = new URL(page.url()).pathname.split('/')[2];
  journey.reference = await text(page.locator('#reference'));
  assert.match(journey.reference, /^\d{4}\/\d{7}$/);
  await checkAccessibility(page, 'confirmation (signed in)');

  await page.goto(`${server.url}/area`);
  const listed = page.locator('#requests li', { hasText: journey.reference });
  assert.equal(await listed.count(), 1, 'my area lists the request at once');
  assert.match(await text(listed.getByRole('link')), new RegExp(`${journey.reference} — ${SUBJECT}`));
  assert.match(await text(listed.locator('.request-status')), /^Ricevuta/);
  await checkAccessibility(page, 'my area (one request)');

  await listed.getByRole('link').click();
  await page.waitForURL(/\/area\/richieste\/[0-9a-f-]{36}$/);
  journey.areaUrl = page.url();
  assert.equal(await text(page.locator('#reference')), journey.reference);
  assert.equal(await text(page.locator('#subject')), SUBJECT);
  assert.match(await text(page.locator('#status')), /^Ricevuta/);
  assert.equal(await page.getByRole('link', { name: 'Torna alla mia area' }).count(), 1);
  await checkAccessibility(page, 'request in my area (received)');
});

test('the citizen replies with a photo and the reply shows in the history', { timeout: 60_000 }, async (t) => {
  assert.ok(journey.areaUrl, 'the citizen filed the request');
  const page = citizen;
  const photo = await writePng('marciapiede.png');
  await page.goto(journey.areaUrl);
  await field(page, 'Il tuo messaggio').fill(REPLY);
  await page.getByLabel('Allegati (facoltativi)').setInputFiles(photo);
  const post = page.waitForResponse((r) => r.request().method() === 'POST'
    && new URL(r.url()).pathname === `${new URL(journey.areaUrl).pathname}/risposta`);
  await page.getByRole('button', { name: 'Invia il messaggio' }).click();
  assert.equal((await post).status(), 303, 'the reply is accepted');
  await page.waitForURL(journey.areaUrl);

  const history = page.locator('#history');
  await eventually(page, async () => (await history.textContent()).includes(REPLY), 'the history shows the reply', { t });
  const entry = history.locator('li', { hasText: 'Hai inviato altre informazioni' });
  assert.equal(await entry.count(), 1, 'the reply is one entry of the history');
  assert.ok((await entry.textContent()).includes(REPLY));
  const file = entry.getByRole('link', { name: /^Scarica / });
  assert.equal(await file.count(), 1, 'the photo is attached to the reply');
  const download = await page.request.get(new URL(await file.getAttribute('href'), page.url()).href);
  assert.equal(download.status(), 200);
  const bytes = await download.body();
  assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'the attachment is the PNG');
  await checkAccessibility(page, 'request in my area (after the reply)');
});

test('the signed-in citizen saves a draft and finds it in the area', { timeout: 60_000 }, async () => {
  assert.ok(journey.signedIn, 'the citizen registered and signed in');
  const page = citizen;
  await page.goto(`${server.url}/segnalazioni/nuova`);
  await field(page, 'Oggetto').fill(DRAFT_SUBJECT);
  await page.getByRole('button', { name: 'Salva come bozza' }).click();
  await page.waitForURL(`${server.url}/area?avviso=bozza`);
  assert.match(await text(page.getByRole('status')), /Bozza salvata/);
  const drafts = page.getByRole('region', { name: 'Bozze' });
  assert.equal(await drafts.getByRole('link', { name: DRAFT_SUBJECT }).count(), 1, 'the draft is listed under "Bozze"');
  assert.equal(await page.locator('#requests li', { hasText: journey.reference }).count(), 1, 'the request is still listed');
  await checkAccessibility(page, 'my area (with a draft)');

  await drafts.getByRole('link', { name: DRAFT_SUBJECT }).click();
  await page.waitForURL(/\/segnalazioni\/nuova\?bozza=[0-9a-f-]{36}$/);
  assert.equal(await field(page, 'Oggetto').inputValue(), DRAFT_SUBJECT, 'the draft keeps the subject');
  assert.equal(await field(page, 'Nome').inputValue(), CITIZEN.firstName);
  await checkAccessibility(page, 'new request form (from a draft)');
});

test('an URP operator answers the request and closes it', { timeout: 90_000 }, async (t) => {
  assert.ok(journey.reference, 'the citizen filed the request');
  const page = await openPage(browser, t);
  await page.goto(`${server.url}/ufficio/accesso`);
  await checkAccessibility(page, 'staff login');
  await page.fill('#email', 'anna@comune.test');
  await page.fill('#password', STAFF_PASSWORD);
  await page.click('main form[action="/ufficio/accesso"] button[type=submit]');
  await page.waitForURL(`${server.url}/ufficio/richieste`);

  const link = page.locator('#inbox a', { hasText: journey.reference });
  await eventually(page, async () => (await link.count()) === 1, `the inbox lists ${journey.reference}`, { t });
  await checkAccessibility(page, 'inbox');
  await link.click();
  await page.waitForURL(/\/ufficio\/richieste\/[0-9a-f-]{36}$/);
  assert.equal(await text(page.locator('#reference')), journey.reference);
  assert.ok((await page.textContent('#timeline')).includes(REPLY), 'staff read the citizen\'s reply');
  await checkAccessibility(page, 'request page (received, with a reply)');

  const act = async (code, fill) => {
    const requestUrl = page.url();
    const form = await actionForm(page, code);
    await fill(form);
    const post = actionPost(page, requestUrl, code);
    await form.locator('button[type=submit]').click();
    assert.equal((await post).status(), 303, `"${code}" is accepted`);
    await page.waitForURL(requestUrl);
    await noNoticeAfter(page, code);
  };
  await act('rispondi', (form) => form.locator('#rispondi-message').fill(ANSWER));
  assert.equal(await text(page.locator('#status')), 'Risposta inviata');
  await act('chiudi', (form) => form.locator('#chiudi-outcome').selectOption('answered'));
  assert.equal(await text(page.locator('#status')), 'Chiusa');
  await checkAccessibility(page, 'request page (closed)');
});

test('the citizen reads the answer and rates it', { timeout: 60_000 }, async (t) => {
  assert.ok(journey.areaUrl, 'the citizen filed the request');
  const page = citizen;
  await page.goto(`${server.url}/area`);
  const listed = page.locator('#requests li', { hasText: journey.reference });
  await eventually(page, async () => (await text(listed.locator('.request-status'))) === 'Chiusa',
    'my area says the request is closed', { t });
  await checkAccessibility(page, 'my area (closed request)');

  await listed.getByRole('link').click();
  await page.waitForURL(journey.areaUrl);
  assert.equal(await text(page.locator('#status')), 'Chiusa');
  const history = await text(page.locator('#history'));
  assert.ok(history.includes(ANSWER), 'the history shows the answer');
  assert.match(history, /Richiesta chiusa: risposta data/);
  assert.equal(await page.getByRole('heading', { name: 'Rispondi o aggiungi informazioni' }).count(), 0,
    'a closed request takes no replies');
  await checkAccessibility(page, 'request in my area (closed)');

  const rating = page.getByRole('region', { name: 'Valuta la risposta' });
  await tick(rating, 'radio', '5 stelle su 5');
  await rating.getByRole('button', { name: 'Avanti' }).click();
  await page.waitForLoadState();
  await rating.getByRole('group', { name: 'Che cosa ti è piaciuto?' }).waitFor();
  assert.match(await text(rating), /5 stelle su 5/);
  await checkAccessibility(page, 'rating, second step');

  await tick(rating, 'checkbox', 'La risposta mi è stata utile');
  await field(rating, 'Vuoi aggiungere qualcosa? (facoltativo)').fill(COMMENT);
  const post = page.waitForResponse((r) => r.request().method() === 'POST'
    && new URL(r.url()).pathname === `${new URL(journey.areaUrl).pathname}/valuta`);
  await rating.getByRole('button', { name: 'Invia la valutazione' }).click();
  assert.equal((await post).status(), 303, 'the rating is recorded');
  await page.waitForURL(`${journey.areaUrl}#rating-title`);

  await eventually(page, async () => (await page.locator('#rating-thanks').count()) === 1,
    'the page thanks for the rating', { t });
  assert.equal(await text(page.locator('#rating-thanks')), 'Grazie per la tua valutazione.');
  assert.equal(await text(page.locator('#rating')), '5 stelle su 5');
  assert.equal(await page.getByRole('button', { name: 'Invia la valutazione' }).count(), 0, 'no second rating');
  await checkAccessibility(page, 'request in my area (rated)');
});

test('the citizen\'s profile', async () => {
  assert.ok(journey.signedIn, 'the citizen registered and signed in');
  const page = citizen;
  await page.goto(`${server.url}/area`);
  await page.getByRole('navigation', { name: 'Area personale' }).getByRole('link', { name: 'Il mio profilo' }).click();
  await page.waitForURL(`${server.url}/area/profilo`);
  assert.equal(await text(page.locator('#citizen-name')), `${CITIZEN.firstName} ${CITIZEN.lastName}`);
  assert.equal(await text(page.locator('#citizen-email')), CITIZEN.email, 'the address is confirmed');
  await checkAccessibility(page, 'profile');
});
