import '../shared/styles.css';
import { ApiError, type AuthenticatorApp as App, AuthenticatorApp, type ChallengeFeed, type FeedState, type PhoneSignInChallenge, parseActivationUrl } from '../../sdk/index.js';
import { announce, byId, showOnly } from '../shared/dom.js';
import { type CardAnswer, challengeCard } from './challengeCard.js';
import { defaultDeviceName, describeDevice } from './device.js';
import { PinError, hasPin, verifyOrSetPin } from './pin.js';
import { hasCamera, scan } from './scanner.js';
import { clearPin, keyStore } from './storage.js';

/**
 * The web authenticator: activation from an activation link (pasted or scanned), phone sign-in
 * on and off, and the live sign-in requests, each answered after the local PIN. Uses the SDK
 * (src/sdk) only, as any authenticator app would.
 */

const status = byId('status');
const alert = byId('alert');
const views = [byId('activate'), byId('device')];
const list = byId('challenges');
const options = { store: keyStore };

let app: App | undefined;
let feed: ChallengeFeed | undefined;

const FEED_STATE: Record<FeedState, string> = {
  connecting: 'Connecting to the service…',
  live: 'Listening for sign-in requests.',
  polling: 'Live updates are interrupted; checking for requests every few seconds.',
  stopped: 'Not listening for requests.',
};

const OUTCOME: Record<string, string> = {
  APPROVED: 'Approved. Return to the sign-in page: it continues on its own.',
  COMPLETED: 'Approved. Return to the sign-in page: it continues on its own.',
  DENIED: 'The sign-in was refused.',
  EXPIRED: 'The request expired before it was answered.',
  CANCELLED: 'The request was cancelled on the sign-in page.',
};

function message(error: unknown) {
  return error instanceof ApiError || error instanceof PinError || error instanceof Error ? error.message : 'Something went wrong. Try again.';
}

function showDevice() {
  const current = app!;
  byId('device-summary').textContent = `Activated with ${new URL(current.endpoint).host} as device ${current.keys.deviceId}.`;
  byId('phone-sign-in-off').hidden = current.phoneSignInEnabled;
  byId('enable').hidden = current.phoneSignInEnabled;
  byId('phone-sign-in-on').hidden = !current.phoneSignInEnabled;
  byId('disable').hidden = !current.phoneSignInEnabled;
  if (!views[1]!.hidden) return;
  showOnly(views, views[1]!);
}

function showActivate() {
  byId<HTMLInputElement>('device-name').value ||= defaultDeviceName();
  byId('scan').hidden = !hasCamera();
  showOnly(views, views[0]!);
}

function updateEmpty() {
  byId('no-requests').hidden = list.children.length > 0;
}

async function answer(challenge: PhoneSignInChallenge, card: ReturnType<typeof challengeCard>, given: CardAnswer) {
  alert.textContent = '';
  card.busy(true);
  try {
    let status: string;
    if (given.decision === 'approve') {
      if (!given.number) return card.problem(challenge.numberChoices ? 'Select the number shown on the sign-in screen.' : 'Enter the number shown on the sign-in screen.', 'number');
      const pin = await verifyOrSetPin(given.pin).catch((error: unknown) => {
        if (error instanceof PinError) card.problem(error.message, 'pin');
        else throw error;
      });
      if (!pin) return;
      status = await app!.approve(challenge, given.number, 'pin');
      if (pin === 'set') announce(byId('status'), 'Your PIN is set on this device.');
    } else {
      status = given.decision === 'deny' ? await app!.deny(challenge) : await app!.report(challenge);
    }
    card.element.remove();
    const sentence = given.decision === 'report' ? 'Reported. The sign-in was blocked and your admin is told.' : given.decision === 'deny' ? 'Denied. The sign-in was refused.' : (OUTCOME[status] ?? `The request ended (${status}).`);
    announce(byId('status'), status === 'DENIED' && given.decision === 'approve' ? 'The number did not match the sign-in screen, so the sign-in was refused.' : sentence);
  } catch (error) {
    announce(alert, message(error));
  } finally {
    card.busy(false);
    updateEmpty();
  }
}

async function addChallenge(challenge: PhoneSignInChallenge) {
  const card = challengeCard(challenge, { firstPin: !(await hasPin()), onAnswer: (given) => void answer(challenge, card, given) });
  list.append(card.element);
  updateEmpty();
  announce(status, `New sign-in request${challenge.appName ? ` for ${challenge.appName}` : ''}.`);
  setTimeout(() => {
    if (!card.element.isConnected) return;
    card.element.remove();
    updateEmpty();
    announce(status, 'A sign-in request expired before it was answered.');
  }, Math.max(0, Date.parse(challenge.expiresAt) - Date.now()));
}

function listen() {
  void feed?.stop();
  feed = app!.listen({
    onChallenge: (challenge) => void addChallenge(challenge),
    onState: (state) => (byId('feed-state').textContent = FEED_STATE[state]),
    // Refused: the device was removed from the account (or its keys no longer verify).
    onError: async () => {
      list.replaceChildren();
      await keyStore.clear();
      await clearPin();
      app = undefined;
      showActivate();
      announce(alert, 'This device is no longer registered with your account, so it was reset. To use it again, add it on Security info.');
    },
  });
  byId('feed-state').textContent = FEED_STATE[feed.state];
}

async function activate(event: SubmitEvent) {
  event.preventDefault();
  alert.textContent = '';
  const link = byId<HTMLInputElement>('activation-link');
  const button = byId<HTMLButtonElement>('activate-button');
  try {
    // This page may reach only its own origin (Content-Security-Policy): another service's link needs its own web authenticator.
    const { endpoint } = parseActivationUrl(link.value);
    if (new URL(endpoint).origin !== location.origin) throw new Error(`This link is for ${new URL(endpoint).host}. Open the web authenticator on that service instead.`);
    button.disabled = true;
    app = await AuthenticatorApp.activate(link.value, describeDevice(byId<HTMLInputElement>('device-name').value.trim() || defaultDeviceName()), options);
    await clearPin();
    link.value = '';
    showDevice();
    listen();
    announce(status, 'Activated. This device can now approve sign-ins; enable phone sign-in to sign in without a password.');
  } catch (error) {
    announce(alert, message(error));
    link.focus();
  } finally {
    button.disabled = false;
  }
}

async function setPhoneSignIn(on: boolean) {
  alert.textContent = '';
  try {
    if (on) await app!.enablePhoneSignIn();
    else await app!.disablePhoneSignIn();
    showDevice();
    byId(on ? 'disable' : 'enable').focus();
    announce(status, on ? 'Phone sign-in is on. Sign in with your user name, then approve here with your PIN.' : 'Phone sign-in is off on this device.');
  } catch (error) {
    announce(alert, message(error));
  }
}

let scanning: AbortController | undefined;
async function startScan() {
  scanning = new AbortController();
  byId('scanner').hidden = false;
  try {
    const text = await scan(byId<HTMLVideoElement>('scanner-video'), (read) => read.startsWith('phonesignin://'), scanning.signal);
    if (text) {
      byId<HTMLInputElement>('activation-link').value = text;
      byId<HTMLFormElement>('activate-form').requestSubmit();
    }
  } catch {
    announce(alert, 'The camera could not be used. Paste the activation link instead.');
  } finally {
    byId('scanner').hidden = true;
  }
}

byId<HTMLFormElement>('activate-form').addEventListener('submit', (event) => void activate(event));
byId('enable').addEventListener('click', () => void setPhoneSignIn(true));
byId('disable').addEventListener('click', () => void setPhoneSignIn(false));
byId('scan').addEventListener('click', () => void startScan());
byId('scan-stop').addEventListener('click', () => scanning?.abort());

if ('serviceWorker' in navigator) void navigator.serviceWorker.register('/authenticator-sw.js', { scope: '/authenticator' }).catch(() => {});

app = await AuthenticatorApp.load(options);
if (app) {
  showDevice();
  listen();
} else {
  showActivate();
}
