// The staff header in a real browser, for someone with every role: at 1280 px it is one line as
// tall as a visitor's (checked on a screenshot of it), its administration and user menus open
// and close from the keyboard, and on a phone it folds under "Menu". Every state is checked with
// axe-core.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkAccessibility, launchBrowser, startServer } from './support.mjs';

const PASSWORD = 'una password lunga e sicura';
const EMAIL = 'maria.benedetta@comune.test';

let server;
let browser;

before(async () => {
  server = await startServer();
  await server.cli(['department', 'add', '--name', 'Lavori pubblici', '--email', 'lavori@comune.test']);
  await server.cli(['user', 'add', '--email', EMAIL, '--name', 'Maria Benedetta Santangelo',
    '--role', 'administrator', '--role', 'urp_manager', '--role', 'urp_operator',
    '--role', 'front_office', '--role', 'referent', '--role', 'auditor',
    '--department', 'Lavori pubblici'], { input: `${PASSWORD}\n` });
  ({ browser } = await launchBrowser());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openPage(t, viewport) {
  const context = await browser.newContext({ locale: 'it-IT', viewport });
  context.setDefaultTimeout(10_000);
  t.after(() => context.close());
  return context.newPage();
}

async function signIn(page) {
  await page.goto(`${server.url}/ufficio/accesso`);
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.click('main form[action="/ufficio/accesso"] button[type=submit]');
  await page.waitForURL(`${server.url}/ufficio/richieste`);
}

/** The height in pixels of a PNG (from its IHDR chunk). */
function pngHeight(png) {
  return png.readUInt32BE(20);
}

test('at 1280 px the header of someone with every role is one line, with its menus', async (t) => {
  const visitor = await openPage(t, { width: 1280, height: 800 });
  await visitor.goto(`${server.url}/`);
  const visitorHeight = pngHeight(await visitor.locator('.it-header-slim-wrapper').screenshot());

  const page = await openPage(t, { width: 1280, height: 800 });
  await signIn(page);
  await checkAccessibility(page, 'inbox with the staff header');
  const header = page.locator('.it-header-slim-wrapper');
  const height = pngHeight(await header.screenshot({ path: undefined }));
  assert.ok(height <= visitorHeight + 2, `staff header ${height} px, a visitor's ${visitorHeight} px`);
  // Every item of the bar and the language switch on the same line.
  const tops = await page.$$eval(
    '.staff-links > li, .language-switch li',
    (items) => items.map((item) => Math.round(item.getBoundingClientRect().top)),
  );
  assert.ok(tops.length >= 9, `${tops.length} items`);
  assert.ok(Math.max(...tops) - Math.min(...tops) <= 4, `one line: ${tops}`);
  for (const name of ['Richieste', 'Sportello al pubblico', 'FAQ', 'Modulistica', 'Statistiche', 'Revisione degli eventi']) {
    assert.ok(await page.locator('.staff-bar').getByRole('link', { name, exact: true }).isVisible(), name);
  }
  // The user menu, from the keyboard: opened with Enter, closed with Escape.
  const signOut = page.getByRole('button', { name: 'Esci' });
  assert.equal(await signOut.isVisible(), false, 'sign-out sits in the user menu');
  const userMenu = page.locator('.staff-menu summary', { hasText: 'Maria Benedetta Santangelo' });
  await userMenu.focus();
  await page.keyboard.press('Enter');
  assert.ok(await signOut.isVisible());
  assert.ok(await page.getByRole('link', { name: 'Autenticazione a due fattori' }).isVisible());
  await checkAccessibility(page, 'the user menu open');
  await page.keyboard.press('Escape');
  assert.equal(await signOut.isVisible(), false, 'Escape closes it');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.includes('Santangelo')), true,
    'the focus goes back to the menu button');
  // The administration menu, with the mouse: one menu open at a time.
  await userMenu.click();
  await page.locator('.staff-menu summary', { hasText: 'Amministrazione' }).click();
  // The other menu closes on the "toggle" event, which the browser fires a moment later.
  await signOut.waitFor({ state: 'hidden', timeout: 2000 })
    .catch(() => assert.fail('opening one menu closes the other'));
  await checkAccessibility(page, 'the administration menu open');
  await page.locator('.staff-menu').getByRole('link', { name: 'Uffici' }).click();
  await page.waitForURL(`${server.url}/ufficio/amministrazione/uffici`);
  // Signing out from the user menu.
  await page.locator('.staff-menu summary', { hasText: 'Santangelo' }).click();
  await page.getByRole('button', { name: 'Esci' }).click();
  await page.waitForURL(/\/ufficio\/accesso/);
});

test('on a phone the staff header folds under a menu button', async (t) => {
  const page = await openPage(t, { width: 375, height: 740 });
  await signIn(page);
  const inbox = page.locator('.staff-bar').getByRole('link', { name: 'Richieste', exact: true });
  assert.equal(await inbox.isVisible(), false, 'folded when the page opens');
  await checkAccessibility(page, 'the staff header folded');
  await page.locator('.staff-collapse > summary').click();
  assert.ok(await inbox.isVisible());
  await checkAccessibility(page, 'the staff header unfolded');
  await page.locator('.staff-menu summary', { hasText: 'Santangelo' }).click();
  assert.ok(await page.getByRole('button', { name: 'Esci' }).isVisible());
});
