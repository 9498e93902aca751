import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PinProtectedKeyFile, WrongPinError } from '../src/cli/keyFile.js';
import { addUser, allowPhoneSignIn, beginRegistration } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import { amrOf, attemptQuery, complete, serverPerFile, setSettings, started } from './signInFlow.js';
import { Pty } from './support/pty.js';

// The command-line authenticator as a person uses it: in a real terminal (a pseudo-terminal, so it
// sees a TTY and hides the PIN), activated from the security-info page's link, answering real
// sign-ins that a browser began on the running test server.

const root = resolve(import.meta.dirname, '..');
const t = serverPerFile();
const home = mkdtempSync(join(tmpdir(), 'cli-authenticator-'));
const keyFile = join(home, 'keys', 'authenticator.json');
const PIN = '493817';
/** Each run of the CLI: tsx compiles it on start, slow on a loaded machine. */
const CLI_MS = 240_000;

const cli = (...args: string[]) =>
  new Pty(process.execPath, ['--import', 'tsx', 'src/cli/authenticator.ts', ...args], { cwd: root, env: { ...process.env, HOME: home, AUTHENTICATOR_FILE: keyFile } });

let user: Awaited<ReturnType<typeof addUser>>;
let tenantId: string;
let clockSync: ReturnType<typeof setInterval>;
beforeAll(async () => {
  // The CLI signs with the real clock; the test server's clock is moved by hand, so keep it level.
  clockSync = setInterval(() => t.clock.advance((Date.now() - t.clock.now().getTime()) / 1000), 500);
  const tenant = await createTenant(t);
  tenantId = tenant.tenantId;
  await allowPhoneSignIn(t, tenant.tenantId);
  user = await addUser(t, tenant);
});
afterAll(() => {
  clearInterval(clockSync);
  rmSync(home, { recursive: true, force: true });
});

describe('the command-line authenticator', () => {
  it('activates from the link with a PIN asked twice, keeping its keys only encrypted', async () => {
    const activationUrl = (await beginRegistration(t, user.token)).data.beginAuthenticatorRegistration.activationUrl;
    const terminal = cli('activate', activationUrl);
    await terminal.waitFor('Choose a PIN');
    terminal.type('12345');
    await terminal.waitFor('Too short');
    await terminal.waitFor('Choose a PIN');
    terminal.type(PIN);
    await terminal.waitFor('Repeat the PIN');
    terminal.type('000000');
    await terminal.waitFor('The two PINs differ');
    await terminal.waitFor('Choose a PIN');
    terminal.type(PIN);
    await terminal.waitFor('Repeat the PIN');
    terminal.type(PIN);
    await terminal.waitFor('Phone sign-in is on');
    expect(await terminal.exited).toBe(0);
    expect(terminal.text).not.toContain(PIN);

    const stored = await new PinProtectedKeyFile(keyFile, PIN).load();
    expect(stored?.credentialId).toEqual(expect.any(String));
    const methods = await t.gql('{ viewer { authenticationMethods { id } } }', {}, user.token);
    expect(methods.data.viewer.authenticationMethods.map((m: { id: string }) => m.id)).toContain(stored!.deviceId);
    // Attack: someone who copies the file. Neither private key, nor even the device id, is readable in it.
    const file = readFileSync(keyFile, 'utf8');
    for (const key of [stored!.deviceKey, stored!.credentialKey!]) {
      const { d, x } = await exportJWK(key.privateKey);
      expect(file).not.toContain(d);
      expect(file).not.toContain(x);
    }
    expect(file).not.toContain(stored!.deviceId);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    await expect(new PinProtectedKeyFile(keyFile, '111111').load()).rejects.toThrow(WrongPinError);
  }, CLI_MS);

  it('listens, shows each sign-in with app, location and IP, and approves, denies or reports it after the PIN', async () => {
    const terminal = cli('listen', '--poll-interval', '2');
    try {
      await terminal.waitFor('PIN:');
      terminal.type('999999');
      await terminal.waitFor('Wrong PIN. 2 tries left.');
      await terminal.waitFor('PIN:');
      terminal.type(PIN);
      await terminal.waitFor('waiting for sign-in requests');

      const browser = await started(t, user.userPrincipalName, 'Contoso Mail');
      const shown = await terminal.waitFor('Enter the number shown on the sign-in screen');
      expect(shown).toContain(`Sign-in request for ${user.userPrincipalName}`);
      expect(shown).toContain('App:      Contoso Mail');
      expect(shown).toMatch(/Location: \S/);
      expect(shown).toMatch(/IP: +(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1|\(not shown\))/);
      terminal.type('not a number');
      await terminal.waitFor('Type the digits shown');
      terminal.type(browser.number);
      await terminal.waitFor('PIN:');
      terminal.type(PIN);
      await terminal.waitFor('Approved');
      expect(terminal.text).not.toContain(PIN);
      const signedIn = await complete(t, browser);
      expect(amrOf(signedIn.data.completeSignIn.accessToken)).toContain('pin');

      // Declining from the prompt: "d", then the PIN.
      const declined = await started(t, user.userPrincipalName, 'Contoso Mail');
      await terminal.waitFor('Enter the number shown on the sign-in screen');
      terminal.type('d');
      await terminal.waitFor('PIN:');
      terminal.type(PIN);
      await terminal.waitFor('Denied: the sign-in was declined.');
      expect((await attemptQuery(t, declined)).data.signInAttempt.status).toBe('DENIED');

      // Pick-one-of-N matching: the terminal offers the choices; "r" reports the request as suspicious.
      await setSettings(t, tenantId, { numberMatching: { style: 'CHOICE', digits: 2, choices: 3 } });
      const suspicious = await started(t, user.userPrincipalName, 'Contoso Mail');
      const offered = await terminal.waitFor('(d = deny, r = report suspicious activity)');
      expect(offered).toContain(`Which number does the sign-in screen show?`);
      expect(offered).toContain(suspicious.number);
      terminal.type('r');
      await terminal.waitFor('PIN:');
      terminal.type(PIN);
      await terminal.waitFor('Reported');
      expect((await attemptQuery(t, suspicious)).data.signInAttempt).toMatchObject({ status: 'DENIED', failureReason: 'FRAUD_REPORTED' });

      terminal.interrupt();
      expect(await terminal.exited).toBe(0);
    } finally {
      terminal.kill();
    }
  }, CLI_MS);
});
