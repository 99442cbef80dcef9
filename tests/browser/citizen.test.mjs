// The citizen's side in a real browser: filing a request, correcting mistakes, without
// JavaScript, in English, and a wrong link. Every page reached is checked with axe-core.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkAccessibility, launchBrowser, readMails, startServer, writePng } from './support.mjs';

// One server for the file keeps the run short; every test has its own browser, so cookies
// (language, CSRF) never leak from one test into another.
let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

async function openPage(t, options) {
  const { browser, context } = await launchBrowser(options);
  t.after(() => browser.close());
  return context.newPage();
}

/** Fills every required field with valid values; `overrides` replaces some of them. */
async function fillRequest(page, overrides = {}) {
  const values = {
    subject: 'Buca in via Garibaldi',
    description: 'Davanti al civico 8 di via Garibaldi si è aperta una buca profonda: chi passa in bicicletta rischia di cadere.',
    first_name: 'Giulia',
    last_name: 'Bianchi',
    email: 'giulia.bianchi@example.org',
    email_confirmation: 'giulia.bianchi@example.org',
    ...overrides,
  };
  // bootstrap-italia draws radios and checkboxes on their labels (the inputs are transparent
  // underneath), so a citizen clicks the label, and so do we.
  await page.click('label[for="kind-complaint"]');
  assert.equal(await page.isChecked('#kind-complaint'), true);
  await page.selectOption('#topic', 'lavori-pubblici');
  for (const [field, value] of Object.entries(values)) {
    await page.fill(`#${field}`, value);
  }
  await page.click('label[for="privacy"]');
  assert.equal(await page.isChecked('#privacy'), true);
  return values;
}

/**
 * Submits the form. Returns the response to the POST itself and the page the browser lands on
 * after any redirect (the same response when the POST answers with a page).
 */
async function submit(page) {
  const post = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/segnalazioni');
  const landing = page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().frame() === page.mainFrame()
    && !(r.status() >= 300 && r.status() < 400));
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  return { post: await post, landing: await landing };
}

const confirmationPath = /^\/segui\/([A-Za-z0-9_-]+)\/ricevuta$/;
const referencePattern = /^\d{4}\/\d{7}$/;

test('a citizen files a complaint with a photo, reads the reference and opens the tracking link', async (t) => {
  const page = await openPage(t);
  const photo = await writePng('lampione.png');

  await page.goto(server.url);
  await checkAccessibility(page, 'home');
  await page.locator('main').getByRole('link', { name: 'Invia una segnalazione' }).click();
  await page.waitForURL(`${server.url}/segnalazioni/nuova`);
  await checkAccessibility(page, 'new request form');

  const values = await fillRequest(page);
  // The counter is JavaScript's addition; it must follow what is typed.
  await assert.doesNotReject(page.waitForFunction(
    (count) => document.getElementById('description-counter').textContent.includes(`${count} di 4000`),
    values.description.length,
    { timeout: 5_000 },
  ), 'the description counter shows the number of characters typed');
  assert.equal(await page.isVisible('#description-counter'), true);
  await page.setInputFiles('#attachments', photo);

  const { post, landing } = await submit(page);
  assert.equal(post.status(), 303);
  assert.equal(landing.status(), 200, 'the confirmation is there at once after the redirect');
  const token = new URL(page.url()).pathname.match(confirmationPath)?.[1];
  assert.ok(token, `expected the confirmation page, got ${page.url()}`);
  const reference = (await page.textContent('#reference')).trim();
  assert.match(reference, referencePattern);
  await checkAccessibility(page, 'confirmation');

  await page.click('#tracking-link');
  await page.waitForURL(`${server.url}/segui/${token}`);
  assert.equal((await page.textContent('#reference')).trim(), reference);
  assert.match(await page.textContent('#history'), /Richiesta ricevuta/);
  const attachment = page.locator('#attachments li', { hasText: 'lampione.png' });
  assert.equal(await attachment.count(), 1, 'the photo is listed among the attachments');
  const preview = attachment.locator('img');
  await preview.scrollIntoViewIfNeeded();
  assert.ok(await preview.evaluate((img) => img.complete && img.naturalWidth > 0), 'the preview image loads');
  await checkAccessibility(page, 'tracking');

  const mails = await readMails(server.dataDir);
  const acknowledgement = mails.find((mail) => mail.includes(`/segui/${token}`));
  assert.ok(acknowledgement, 'an acknowledgement with the private tracking link was written');
  assert.ok(acknowledgement.includes(reference), 'the acknowledgement names the reference');
  assert.ok(acknowledgement.includes(`${server.url}/segui/${token}`), 'the link is built from the public URL');
});

test('a mistake keeps what was typed and the errors are linked', async (t) => {
  const page = await openPage(t);
  const photo = await writePng('buca.png');
  await page.goto(`${server.url}/segnalazioni/nuova`);
  const values = await fillRequest(page, {
    description: 'Corta',
    email_confirmation: 'giulia.rossi@example.org',
  });
  await page.setInputFiles('#attachments', photo);

  const { post } = await submit(page);
  assert.equal(post.status(), 422);
  assert.equal(await page.isVisible('#error-summary'), true);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary',
    'the error summary takes the focus so screen readers announce it');
  await checkAccessibility(page, 'form with errors');

  for (const field of ['subject', 'first_name', 'last_name', 'email', 'email_confirmation', 'description']) {
    assert.equal(await page.inputValue(`#${field}`), values[field], `#${field} keeps what was typed`);
  }
  assert.equal(await page.isChecked('#kind-complaint'), true);
  assert.equal(await page.inputValue('#topic'), 'lavori-pubblici');
  assert.match(await page.textContent('#attachments-again'), /buca\.png/, 'the page names the files to choose again');

  const expected = {
    description: 'La descrizione è troppo breve',
    email_confirmation: 'I due indirizzi e-mail non coincidono',
  };
  for (const [field, message] of Object.entries(expected)) {
    const input = page.locator(`#${field}`);
    assert.equal(await input.getAttribute('aria-invalid'), 'true', `#${field} is marked invalid`);
    const ids = (await input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
    const descriptions = [];
    for (const id of ids) {
      const described = page.locator(`[id="${id}"]`);
      assert.equal(await described.count(), 1, `#${field} is described by #${id}, which exists once`);
      descriptions.push(await described.textContent());
    }
    assert.ok(descriptions.some((text) => text.includes(message)),
      `#${field} is described by its error "${message}", got ${JSON.stringify(descriptions)}`);
  }
  for (const valid of ['subject', 'first_name', 'email']) {
    assert.equal(await page.getAttribute(`#${valid}`, 'aria-invalid'), null, `#${valid} is not marked invalid`);
  }

  const links = await page.$$eval('#error-summary a', (anchors) => anchors.map((a) => ({
    target: a.getAttribute('href'),
    text: a.textContent.trim(),
  })));
  assert.deepEqual(links.map((link) => link.target).sort(), ['#description', '#email_confirmation']);
  for (const link of links) {
    assert.equal(await page.locator(link.target).count(), 1, `${link.target} exists`);
    assert.ok(link.text.includes(expected[link.target.slice(1)]), `the summary says what is wrong with ${link.target}`);
  }
});

test('the form works with JavaScript disabled', async (t) => {
  const page = await openPage(t, { javaScript: false });
  await page.goto(`${server.url}/segnalazioni/nuova`);
  assert.equal(await page.isVisible('#description-counter'), false, 'no counter without JavaScript');
  await fillRequest(page);

  const { post, landing } = await submit(page);
  assert.equal(post.status(), 303);
  assert.equal(landing.status(), 200, 'the confirmation is there at once after the redirect');
  assert.match(new URL(page.url()).pathname, confirmationPath);
  assert.match((await page.textContent('#reference')).trim(), referencePattern);
  await checkAccessibility(page, 'confirmation without JavaScript');
});

test('English is one click away', async (t) => {
  const page = await openPage(t);
  await page.goto(`${server.url}/segnalazioni/nuova`);
  assert.equal(await page.getAttribute('html', 'lang'), 'it');

  await page.locator('header').getByRole('link', { name: 'English' }).click();
  await page.waitForURL(`${server.url}/segnalazioni/nuova`);
  assert.equal((await page.textContent('h1')).trim(), 'New request');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await checkAccessibility(page, 'form in English');
});

test('a wrong tracking link is a 404 page', async (t) => {
  const page = await openPage(t);
  const response = await page.goto(`${server.url}/segui/${'A'.repeat(43)}`);
  assert.equal(response.status(), 404);
  await checkAccessibility(page, 'not found');
});
