// A real IMAP server for the browser tests of mail in: Debian's Dovecot with a throwaway
// configuration under target/test-dovecot/ (sockets under the temporary directory, mail kept by
// the `mail` user, any user name with the password `secret`), and delivery by IMAP APPEND, as a
// mail server would deliver.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './support.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PASSWORD = 'secret';

/** Starts a Dovecot of its own; `stop()` ends it (its whole session) and removes its files. */
export async function startDovecot() {
  const binary = ['/usr/sbin/dovecot', '/usr/bin/dovecot'].find((candidate) => existsSync(candidate));
  if (!binary) throw new Error('Dovecot is needed: apt-get install dovecot-imapd (tests/run installs it)');
  const name = `browser-${randomBytes(4).toString('hex')}`;
  const dir = path.join(repoRoot, 'target', 'test-dovecot', name);
  const run = path.join(os.tmpdir(), `spdv-${name}`);
  for (const sub of ['state', 'mail']) mkdirSync(path.join(dir, sub), { recursive: true });
  mkdirSync(run, { recursive: true });
  execFileSync('chown', ['-R', 'mail:mail', path.join(dir, 'mail')]);
  const port = await freePort();
  writeFileSync(path.join(dir, 'dovecot.conf'), [
    `base_dir = ${run}`, `state_dir = ${dir}/state`, `log_path = ${dir}/dovecot.log`,
    'listen = 127.0.0.1', 'protocols = imap', 'ssl = no', 'disable_plaintext_auth = no',
    'auth_mechanisms = plain login', `mail_location = maildir:${dir}/mail/%u`,
    'first_valid_uid = 8', 'mail_uid = mail', 'mail_gid = mail',
    'default_login_user = dovenull', 'default_internal_user = dovecot',
    `passdb {\n  driver = static\n  args = password=${PASSWORD}\n}`,
    `userdb {\n  driver = static\n  args = uid=mail gid=mail home=${dir}/mail/%u\n}`,
    `service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${port}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
    'service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}',
    'namespace inbox {\n  inbox = yes\n  separator = /\n}', '',
  ].join('\n'));
  execFileSync(binary, ['-c', path.join(dir, 'dovecot.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    if (await canConnect(port)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    url: (user) => `imap://${user}:${PASSWORD}@127.0.0.1:${port}/INBOX?tls=none`,
    deliver: (user, message) => append(port, user, message),
    stop() {
      try {
        const pid = readFileSync(path.join(run, 'master.pid'), 'utf8').trim();
        execFileSync('pkill', ['-KILL', '-s', pid]);
      } catch { /* already gone */ }
      rmSync(dir, { recursive: true, force: true });
      rmSync(run, { recursive: true, force: true });
    },
  };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** IMAP LOGIN, APPEND to INBOX, LOGOUT: each step waits for its tagged answer. */
async function append(port, user, message) {
  const bytes = Buffer.from(message.replace(/\r?\n/g, '\r\n'), 'utf8');
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const waiters = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    for (const waiter of [...waiters]) {
      if (waiter.test(buffer)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(buffer);
      }
    }
  });
  const until = (pattern) => new Promise((resolve, reject) => {
    const waiter = { test: (text) => pattern.test(text), resolve };
    if (waiter.test(buffer)) { resolve(buffer); return; }
    waiters.push(waiter);
    setTimeout(() => reject(new Error(`IMAP: no ${pattern} in ${buffer}`)), 5000);
  });
  await until(/^\* OK/m);
  socket.write(`a1 LOGIN ${user} ${PASSWORD}\r\n`);
  await until(/^a1 OK/m);
  socket.write(`a2 APPEND INBOX {${bytes.length}}\r\n`);
  await until(/^\+ /m);
  socket.write(bytes);
  socket.write('\r\n');
  await until(/^a2 OK/m);
  socket.write('a3 LOGOUT\r\n');
  socket.end();
}
