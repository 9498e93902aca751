/**
 * The command-line authenticator: `npm run authenticator -- activate <link>`, then `listen`.
 * Keys live in a PIN-encrypted file (--file, AUTHENTICATOR_FILE, or ~/.phone-sign-in/authenticator.json);
 * every answer is signed only after the PIN opened that file again.
 */
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ActivationLinkError, ApiError, type AppOptions, AuthenticatorApp, type PhoneSignInChallenge, parseActivationUrl } from '../sdk/index.js';
import { answerChallenge } from './challengePrompt.js';
import { KeyFileError, MIN_PIN_LENGTH, PinProtectedKeyFile, WrongPinError } from './keyFile.js';
import { Terminal } from './terminal.js';

const USAGE = `Usage: npm run authenticator -- <command> [options]

Commands:
  activate <link>   register this terminal with the activation link from the security-info page,
                    choose a PIN, and turn on phone sign-in
  listen            wait for sign-in requests and answer them (number, then PIN)
  enable            turn phone sign-in on again (a new credential key)
  disable           turn phone sign-in off on this device

Options:
  --file <path>     the key file (default: $AUTHENTICATOR_FILE or ~/.phone-sign-in/authenticator.json)
  --force           activate even if the key file holds a device already (it is replaced)
  --name <text>     the device name the user and admins see (default: "<host name> (terminal)")
  --platform <IOS|ANDROID>, --os-version <v>, --app-version <v>
                    what the device reports; the tenant's minimum versions apply to them
  --poll-interval <seconds>  while the live connection is down, how often to ask (default 10)`;

const APP_VERSION = '1.0.0';

class UsageError extends Error {}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    file: { type: 'string' },
    force: { type: 'boolean', default: false },
    name: { type: 'string' },
    platform: { type: 'string', default: 'ANDROID' },
    'os-version': { type: 'string', default: '14' },
    'app-version': { type: 'string', default: APP_VERSION },
    'poll-interval': { type: 'string', default: '10' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const keyFile = flags.file ?? process.env.AUTHENTICATOR_FILE ?? join(homedir(), '.phone-sign-in', 'authenticator.json');
const terminal = new Terminal();
const appOptions = (store: PinProtectedKeyFile): AppOptions => ({ webSocketImpl: WebSocket, keys: { extractable: true }, store });

async function choosePin(): Promise<string> {
  for (;;) {
    const pin = await terminal.askHidden(`Choose a PIN (at least ${MIN_PIN_LENGTH} characters): `);
    if (pin.length < MIN_PIN_LENGTH) {
      terminal.say(`Too short: at least ${MIN_PIN_LENGTH} characters, so the key file resists guessing.`);
      continue;
    }
    if ((await terminal.askHidden('Repeat the PIN: ')) === pin) return pin;
    terminal.say('The two PINs differ; choose again.');
  }
}

/** Asks for the PIN until it opens the key file (three tries). */
async function openKeyFile(): Promise<{ app: AuthenticatorApp; store: PinProtectedKeyFile }> {
  if (!(await PinProtectedKeyFile.exists(keyFile))) throw new KeyFileError(`No authenticator in ${keyFile}: activate first (npm run authenticator -- activate '<link>').`);
  for (let left = 3; ; left--) {
    const store = new PinProtectedKeyFile(keyFile, await terminal.askHidden('PIN: '));
    try {
      const app = await AuthenticatorApp.load({ ...appOptions(store), store });
      if (!app) throw new KeyFileError(`No authenticator in ${keyFile}.`);
      return { app, store };
    } catch (error) {
      if (!(error instanceof WrongPinError) || left === 1) throw error;
      terminal.say(`Wrong PIN. ${left - 1} ${left - 1 === 1 ? 'try' : 'tries'} left.`);
    }
  }
}

async function enable(app: AuthenticatorApp) {
  try {
    await app.enablePhoneSignIn();
    terminal.say('Phone sign-in is on. Answer sign-ins with: npm run authenticator -- listen');
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    terminal.say(`Phone sign-in is not on: ${error.message} This device still answers requests after a password.`);
  }
}

async function activate(link: string | undefined) {
  if (!link) throw new UsageError('activate needs the activation link: npm run authenticator -- activate \'phonesignin://activate?…\'');
  parseActivationUrl(link);
  if (!flags.force && (await PinProtectedKeyFile.exists(keyFile))) {
    throw new KeyFileError(`${keyFile} holds an activated device already: pass --force to replace it, or --file to keep another.`);
  }
  const platform = flags.platform.toUpperCase();
  if (platform !== 'IOS' && platform !== 'ANDROID') throw new UsageError(`--platform is IOS or ANDROID, not "${flags.platform}".`);
  const store = new PinProtectedKeyFile(keyFile, await choosePin());
  const device = { displayName: flags.name ?? `${hostname()} (terminal)`, platform, osVersion: flags['os-version'], appVersion: flags['app-version'] } as const;
  const app = await AuthenticatorApp.activate(link, device, appOptions(store));
  terminal.say(`Activated: device ${app.keys.deviceId} for ${app.audience}. Keys saved, encrypted under your PIN, in ${keyFile}.`);
  await enable(app);
}

async function listen() {
  const { app: unlocked, store } = await openKeyFile();
  // The listening app holds the device key only; each answer opens the file again with the PIN typed for it.
  const { credentialId: _id, credentialKey: _key, ...deviceOnly } = unlocked.state();
  const app = AuthenticatorApp.fromState(deviceOnly, { ...appOptions(store), store: undefined });
  const queue: PhoneSignInChallenge[] = [];
  let wake = () => {};
  let refused: Error | undefined;
  const feed = app.listen({
    pollIntervalMs: Number(flags['poll-interval']) * 1000,
    onChallenge: (challenge) => {
      queue.push(challenge);
      wake();
    },
    onState: (state) => {
      if (state === 'live') terminal.say('Connected: waiting for sign-in requests (Ctrl+C to stop).');
      if (state === 'polling') terminal.say(`Connection lost: reconnecting, and checking for requests every ${flags['poll-interval']} s meanwhile.`);
    },
    onError: (error) => {
      refused = error;
      wake();
    },
  });
  const closed = terminal.closed.then(() => 'closed' as const);
  const unlock = async (pin: string) => {
    const state = await new PinProtectedKeyFile(keyFile, pin).load();
    if (!state) throw new KeyFileError(`${keyFile} is gone: activate again.`);
    return AuthenticatorApp.fromState(state, appOptions(store));
  };
  const context = { terminal, now: () => new Date(), unlock };
  try {
    for (;;) {
      const next = queue.shift();
      if (refused) throw new Error(`The service refused this device: ${refused.message}`);
      if (next) {
        if ((await Promise.race([answerChallenge(next, context), closed])) === 'closed') return;
        continue;
      }
      if ((await Promise.race([new Promise<void>((resolve) => (wake = resolve)), closed])) === 'closed') return;
    }
  } finally {
    await feed.stop();
  }
}

async function main() {
  const [command, ...rest] = positionals;
  if (flags.help || !command) return terminal.say(USAGE);
  if (command === 'activate') return activate(rest[0]);
  if (command === 'listen') return listen();
  if (command === 'enable') return enable((await openKeyFile()).app);
  if (command === 'disable') {
    const { app } = await openKeyFile();
    terminal.say((await app.disablePhoneSignIn()) ? 'Phone sign-in is off on this device.' : 'Phone sign-in was already off on this device.');
    return;
  }
  throw new UsageError(`Unknown command "${command}".\n\n${USAGE}`);
}

main().then(
  () => {
    terminal.close();
    process.exit(0);
  },
  (error: unknown) => {
    // Ctrl+C or Ctrl+D at a prompt ends the question it was asking: stop without a stack trace.
    if (terminal.isClosed) process.exit(130);
    const known = error instanceof UsageError || error instanceof ActivationLinkError || error instanceof KeyFileError || error instanceof WrongPinError;
    const refusal = error instanceof ApiError ? `${error.message}${error.code ? ` (${error.code})` : ''}` : undefined;
    const unreachable = error instanceof TypeError && error.message === 'fetch failed' ? `Cannot reach the service: ${String((error as { cause?: unknown }).cause ?? error.message)}` : undefined;
    process.stderr.write(`${known ? (error as Error).message : (refusal ?? unreachable ?? (error instanceof Error ? (error.stack ?? error.message) : String(error)))}\n`);
    terminal.close();
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
