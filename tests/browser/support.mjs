// Shared helpers for the browser tests: a real server on its own database, Chromium driven by
// playwright-core, axe-core checks, an image fixture and the mail the server wrote to disk.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---------------------------------------------------------------------------------------------
// Server

/** The MySQL server the tests create their databases on, and how to reach it. */
function mysqlServer() {
  const url = new URL(process.env.SPORTELLO_TEST_DATABASE_URL || 'mysql://root@127.0.0.1:3306');
  const user = decodeURIComponent(url.username || 'root');
  const password = decodeURIComponent(url.password);
  const socket = url.searchParams.get('socket');
  const credentials = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
  const cli = socket
    ? ['-u', user, `--socket=${socket}`]
    : ['-h', url.hostname || '127.0.0.1', '-P', url.port || '3306', '-u', user];
  return {
    cli,
    // MYSQL_PWD keeps the password off the command line (and out of `ps`).
    env: password ? { ...process.env, MYSQL_PWD: password } : process.env,
    databaseUrl: (name) => socket
      ? `mysql://${credentials}@localhost/${name}?socket=${encodeURIComponent(socket)}`
      : `mysql://${credentials}@${url.host}/${name}`,
  };
}

async function mariadb(server, sql) {
  await run('mariadb', [...server.cli, '-e', sql], { env: server.env });
}

export async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Starts the sportello binary on a fresh database and data directory and waits until it is
 * healthy. `stop()` ends it and removes the database and the directory.
 */
export async function startServer({ env: extraEnv = {} } = {}) {
  const server = mysqlServer();
  const database = `sportello_browser_${randomBytes(6).toString('hex')}`;
  await mariadb(server, `CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sportello-browser-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const binary = path.resolve(repoRoot, process.env.SPORTELLO_BIN || 'target/debug/sportello');

  const env = {
    ...process.env,
    SPORTELLO_DATABASE_URL: server.databaseUrl(database),
    SPORTELLO_BIND: `127.0.0.1:${port}`,
    SPORTELLO_PUBLIC_URL: url,
    SPORTELLO_DATA_DIR: dataDir,
    SPORTELLO_SUBMISSIONS_PER_HOUR: '1000',
    SPORTELLO_LOG: 'warn',
    ...extraEnv,
  };
  const child = spawn(binary, [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('error', (error) => { stderr += `\n${error.message}`; });

  const cleanUp = async () => {
    await mariadb(server, `DROP DATABASE IF EXISTS \`${database}\``);
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilHealthy(url, exited, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    await cleanUp();
    throw error;
  }

  return {
    url,
    dataDir,
    /**
     * Runs a `sportello` subcommand (e.g. `['user', 'add', ...]`) against this server's database
     * and data directory, writing `input` to its standard input; resolves to its standard output
     * and fails with its standard error when it exits with an error.
     */
    cli: (args, { input = '' } = {}) => runCli(binary, args, env, input),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await cleanUp();
    },
  };
}

async function runCli(binary, args, env, input) {
  const child = spawn(binary, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  child.stdin.on('error', () => {}); // a command that reads nothing may close its stdin early
  child.stdin.end(input);
  const { code, signal } = await exited;
  if (code !== 0) {
    throw new Error(`sportello ${args.join(' ')} exited with ${code ?? signal}:\n${stderr}`);
  }
  return stdout;
}

async function waitUntilHealthy(url, exited, stderr) {
  const deadline = Date.now() + 60_000;
  let exit = null;
  exited.then((status) => { exit = status; });
  while (Date.now() < deadline) {
    if (exit) {
      throw new Error(`sportello exited (${JSON.stringify(exit)}) before answering /healthz:\n${stderr()}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`sportello did not answer /healthz within 60 s:\n${stderr()}`);
}

// ---------------------------------------------------------------------------------------------
// Browser

/** A headless Chromium and one Italian-speaking context; close the browser when done. */
export async function launchBrowser({ javaScript = true } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ javaScriptEnabled: javaScript, locale: 'it-IT' });
  // Well below node:test's patience, so a missing element fails with Playwright's explanation.
  context.setDefaultTimeout(10_000);
  if (!javaScript) scriptless.add(context);
  return { browser, context };
}

/** Contexts launched with JavaScript disabled: axe needs help to run in their pages. */
const scriptless = new WeakSet();

/** The password the browser tests give the staff they add. */
export const STAFF_PASSWORD = 'una password lunga e sicura';

/** How long the background processors (run every second) may take to update a read model. */
export const PROCESSOR_PATIENCE_MS = 10_000;

/** A fresh Italian-speaking context (its own cookies) in `browser`. */
export async function newContext(browser) {
  const context = await browser.newContext({ locale: 'it-IT' });
  context.setDefaultTimeout(10_000);
  return context;
}

/** A fresh context for one person, closed when the test `t` ends. */
export async function openContext(browser, t) {
  const context = await newContext(browser);
  t.after(() => context.close());
  return context;
}

/** A page in a fresh context of its own (see `newContext`). */
export async function newPage(browser) {
  return (await newContext(browser)).newPage();
}

/** A page in a fresh context of its own, closed when the test `t` ends. */
export async function openPage(browser, t) {
  return (await openContext(browser, t)).newPage();
}

/**
 * Reloads the page until `check` holds (the read models are built a moment after the events).
 * With the test `t`, says in its diagnostics when the first look was not enough.
 */
export async function eventually(page, check, what, { t, timeoutMs = PROCESSOR_PATIENCE_MS } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (let reloads = 0; ; reloads++) {
    if (await check()) {
      if (t && reloads > 0) t.diagnostic(`${what}: after ${reloads} reload(s)`);
      return;
    }
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms (${page.url()})`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await page.reload();
  }
}

/** The form of the action `code` on a back-office request page, checked to be offered. */
export async function actionForm(page, code) {
  const form = page.locator(`form#action-${code}`);
  assert.equal(await form.count(), 1, `the "${code}" action is offered`);
  return form;
}

/** Waits for the POST of the action `code` from the request page at `requestUrl`. */
export function actionPost(page, requestUrl, code) {
  return page.waitForResponse((r) => r.request().method() === 'POST'
    && new URL(r.url()).pathname === `${new URL(requestUrl).pathname}/${code}`);
}

/** Waits for the page the action `code` led to and checks it shows no notice (no error). */
export async function noNoticeAfter(page, code) {
  await page.waitForLoadState();
  assert.equal(await page.locator('#notice').count(), 0, `no notice after "${code}"`);
}

/**
 * Signs in at the server's /ufficio/accesso with STAFF_PASSWORD (checking the page with axe-core
 * unless `check` is false) and lands on the inbox.
 */
export async function signInStaff(page, server, email, { check = true } = {}) {
  const response = await page.goto(`${server.url}/ufficio/accesso`);
  assert.equal(response.status(), 200);
  if (check) await checkAccessibility(page, 'staff login');
  await page.fill('#email', email);
  await page.fill('#password', STAFF_PASSWORD);
  await page.click('main form[action="/ufficio/accesso"] button[type=submit]');
  await page.waitForURL(`${server.url}/ufficio/richieste`);
}

// ---------------------------------------------------------------------------------------------
// Accessibility

const axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (WCAG 2.1 A and AA) on the page and fails on any violation. axe is evaluated
 * through the DevTools protocol rather than added as a <script>: the server's CSP forbids inline
 * scripts, and evaluation still works in a context with JavaScript disabled.
 */
export async function checkAccessibility(page, label) {
  if (scriptless.has(page.context())) {
    // With scripts disabled Chromium still evaluates DevTools calls and settles promises (V8's own
    // jobs), but invokes no callback through the browser: no timers, no queueMicrotask. axe waits
    // on setTimeout(..., 0) between rules, so zero-delay timers become promise jobs; the longer
    // ones only guard iframes and asset loading, and may never fire.
    await page.evaluate(() => {
      window.setTimeout = (callback, delay, ...args) => {
        if (!delay) Promise.resolve().then(() => callback(...args));
        return 0;
      };
      window.clearTimeout = () => {};
    });
  }
  await page.evaluate(axeSource);
  const run = page.evaluate(() => axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`axe did not finish on ${label} within 30 s`)), 30_000);
  });
  const results = await Promise.race([run, timeout]).finally(() => clearTimeout(timer));
  assert.ok(results.passes.length > 0, `axe checked nothing on ${label}`);
  const report = results.violations.map((violation) => {
    const node = violation.nodes[0];
    return `- ${violation.id} (${violation.impact}): ${violation.help}\n` +
      `  ${violation.nodes.length} element(s), first: ${JSON.stringify(node.target)}\n` +
      `  ${node.html}\n  ${node.failureSummary?.replace(/\n/g, '\n  ')}`;
  });
  assert.equal(report.length, 0, `accessibility violations on ${label} (${page.url()}):\n${report.join('\n')}`);
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

let fixtureDir; // a promise of the directory, so concurrent callers share it

/**
 * Writes a small valid RGB PNG (a colour gradient, so the server has something to re-encode and
 * thumbnail) and returns its path. Fixtures live in one temporary directory per test process,
 * removed when the process exits.
 */
export async function writePng(name = 'foto.png', width = 64, height = 48) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit depth, truecolour, deflate, no filter, no interlace
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3); // leading 0: filter "none"
    for (let x = 0; x < width; x++) {
      row.set([Math.round((255 * x) / width), Math.round((255 * y) / height), 128], 1 + x * 3);
    }
    rows.push(row);
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
  fixtureDir ??= mkdtemp(path.join(os.tmpdir(), 'sportello-fixture-')).then((dir) => {
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  });
  const file = path.join(await fixtureDir, name);
  await writeFile(file, png);
  return file;
}

// ---------------------------------------------------------------------------------------------
// Mail

/**
 * Waits (up to `timeoutMs`) until DATA_DIR/mail holds at least `count` .eml files and returns
 * their decoded text: headers with encoded words decoded, then every text part decoded from
 * base64 or quoted-printable.
 */
export async function readMails(dataDir, { count = 1, timeoutMs = 10_000 } = {}) {
  const dir = path.join(dataDir, 'mail');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const names = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.eml')).sort();
    if (names.length >= count) {
      return Promise.all(names.map(async (name) => decodeMail(await readFile(path.join(dir, name), 'utf8'))));
    }
    if (Date.now() > deadline) {
      assert.fail(`expected at least ${count} mail(s) in ${dir} within ${timeoutMs} ms, found ${names.length}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function decodeMail(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = (split < 0 ? text : text.slice(0, split)).replace(/\n[ \t]+/g, ' ');
  const body = split < 0 ? '' : text.slice(split + 2);
  const header = (name) => head.match(new RegExp(`^${name}:\\s*(.*)$`, 'im'))?.[1] ?? '';

  const boundary = header('Content-Type').match(/boundary="?([^";]+)"?/i)?.[1];
  let decoded;
  if (boundary) {
    decoded = body.split(`--${boundary}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .map((part) => decodeMail(part.replace(/^\n/, '')))
      .join('\n');
  } else {
    const encoding = header('Content-Transfer-Encoding').trim().toLowerCase();
    if (encoding === 'base64') decoded = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    else if (encoding === 'quoted-printable') decoded = decodeQuotedPrintable(body);
    else decoded = body;
  }
  return `${decodeEncodedWords(head)}\n\n${decoded}`;
}

function decodeQuotedPrintable(body) {
  const bytes = [];
  const soft = body.replace(/=\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 words such as =?utf-8?b?...?= or =?utf-8?q?...?=; adjacent words join without spaces. */
function decodeEncodedWords(head) {
  return head
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([bq])\?([^?]*)\?=/gi, (_, _charset, kind, data) => kind.toLowerCase() === 'b'
      ? Buffer.from(data, 'base64').toString('utf8')
      : decodeQuotedPrintable(data.replace(/_/g, ' ')));
}
