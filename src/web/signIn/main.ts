import '../shared/styles.css';
import { ApiError } from '../shared/api.js';
import { announce, byId, showOnly } from '../shared/dom.js';
import { clearSession, currentSession, saveSession } from '../shared/session.js';
import { handOff, landing } from './interaction.js';
import * as api from './operations.js';
import * as say from './outcomes.js';
import { type Watcher, watchAttempt } from './watch.js';

const views = { start: byId('start'), waiting: byId('waiting'), password: byId('password'), tap: byId('tap'), signedIn: byId('signed-in') };
const status = byId('status');
const alert = byId('alert');
const userName = byId<HTMLInputElement>('user-name');
const params = new URLSearchParams(location.search);
const interaction = params.get('interaction');
/** What the phone shows as the application being signed in to. */
const APP_NAME = `${interaction ? 'Single sign-on' : 'Web sign-in'} (${location.host})`;

function show(view: HTMLElement) {
  showOnly(Object.values(views), view);
}
function inform(sentence: string) {
  alert.textContent = '';
  announce(status, sentence);
}
function warn(sentence: string) {
  status.textContent = '';
  announce(alert, sentence);
}

/** Runs a request with its form's buttons disabled; a refused request is said in the alert region. */
async function busy(form: HTMLElement, work: () => Promise<void>) {
  const buttons = [...form.querySelectorAll('button')];
  buttons.forEach((b) => (b.disabled = true));
  try {
    await work();
  } catch (error) {
    warn(error instanceof ApiError ? error.message : 'Something went wrong. Try again.');
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

let waiting: { attempt: api.Waiting; watcher: Watcher; timer: ReturnType<typeof setInterval> } | undefined;

function stopWaiting() {
  if (!waiting) return;
  waiting.watcher.stop();
  clearInterval(waiting.timer);
  waiting = undefined;
}

/** Shows the number with its countdown and follows the attempt to its end. */
function awaitPhone(attempt: api.Waiting, who: string) {
  stopWaiting();
  byId('waiting-who').textContent = who;
  byId('number').textContent = attempt.number;
  const countdown = byId('countdown');
  const tick = () => {
    const left = (Date.parse(attempt.expiresAt) - Date.now()) / 1000;
    // The service decides when the request has expired; at zero the page asks it.
    if (left <= 0) waiting?.watcher.check();
    countdown.textContent = left > 0 ? `Expires in ${say.clock(left)}` : 'Waiting for the request to close…';
  };
  const watcher = watchAttempt(attempt, {
    onChange: (state) => void settle(attempt, state, who),
    onFallback: () => inform(say.RECONNECTING),
  });
  waiting = { attempt, watcher, timer: setInterval(tick, 1000) };
  tick();
  show(views.waiting);
  inform(say.SENT);
}

async function settle(attempt: api.Waiting, state: api.AttemptState, who: string) {
  if (state.status === 'PENDING') return;
  stopWaiting();
  if (state.status !== 'APPROVED') {
    show(views.start);
    return warn(say.endedSentence(state));
  }
  inform(say.APPROVED);
  await busy(views.waiting, async () => {
    const result = await api.completeSignIn(attempt);
    if (result.__typename !== 'SignInSuccess') {
      show(views.start);
      return warn(result.message);
    }
    await signedIn(result, who);
  });
}

/** A session: handed to the OpenID Connect interaction when there is one, else the signed-in view. */
async function signedIn(session: api.Session, who: string) {
  if (interaction) return handOff(interaction, session.accessToken);
  saveSession(session);
  const next = landing(params.get('next'));
  if (next) return location.assign(next);
  await showSignedIn(session.accessToken, session.registrationRequired, who);
}

async function showSignedIn(token: string, registrationRequired: boolean, fallbackName: string) {
  const me = await api.viewer(token).catch(() => null);
  byId('signed-in-who').textContent = me ? `${me.displayName} (${me.userPrincipalName})` : fallbackName;
  byId('registration-required').hidden = !registrationRequired;
  show(views.signedIn);
  inform(`Signed in as ${me?.userPrincipalName ?? fallbackName}.`);
}

/** A federated user goes to their own identity provider before anything is asked or sent here. */
async function leftForHomeRealm(name: string): Promise<boolean> {
  const signInUrl = await api.federatedSignInUrl(name);
  if (signInUrl) location.assign(signInUrl);
  return signInUrl !== null;
}

async function startPhoneSignIn(name: string) {
  if (await leftForHomeRealm(name)) return;
  const result = await api.beginSignIn(name, APP_NAME);
  switch (result.__typename) {
    case 'PhoneSignInStarted':
      return awaitPhone(result, name);
    case 'PasswordRequired':
      if (result.reason === 'PENDING_REQUEST') return warn(say.PENDING_REQUEST);
      goTo('password');
      return inform(say.PASSWORD_REQUIRED);
    default:
      return warn(result.message);
  }
}

/** Moves to another way of signing in, carrying the user name over. */
function goTo(view: 'start' | 'password' | 'tap') {
  stopWaiting();
  const name = currentName();
  for (const input of document.querySelectorAll<HTMLInputElement>('input[type=email]')) if (!input.value) input.value = name;
  show(view === 'start' ? views.start : view === 'password' ? views.password : views.tap);
}
const currentName = () => [...document.querySelectorAll<HTMLInputElement>('input[type=email]')].map((i) => i.value.trim()).find(Boolean) ?? '';

function required(input: HTMLInputElement, label: string): string | null {
  const value = input.value.trim();
  if (value) return value;
  warn(`Enter your ${label}.`);
  input.focus();
  return null;
}

byId('start-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = required(userName, 'user name');
  if (name) void busy(views.start, () => startPhoneSignIn(name));
});

byId('password-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = required(byId('password-user-name'), 'user name');
  const password = name && required(byId('password-input'), 'password');
  if (!name || !password) return;
  void busy(views.password, async () => {
    if (await leftForHomeRealm(name)) return;
    const result = await api.signInWithPassword(name, password, APP_NAME);
    switch (result.__typename) {
      case 'SignInSuccess':
        return signedIn(result, name);
      case 'MfaRequired':
        // The policy asks for the phone as well: the same number and wait as a phone sign-in.
        return awaitPhone(result, name);
      case 'FederationRedirect':
        return location.assign(result.signInUrl);
      default:
        return warn(result.message);
    }
  });
});

byId('tap-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = required(byId('tap-user-name'), 'user name');
  const pass = name && required(byId('tap-input'), 'Temporary Access Pass');
  if (!name || !pass) return;
  void busy(views.tap, async () => {
    const result = await api.signInWithTemporaryAccessPass(name, pass);
    if (result.__typename !== 'SignInSuccess') return warn(result.message);
    await signedIn(result, name);
  });
});

byId('cancel').addEventListener('click', () => {
  const attempt = waiting?.attempt;
  stopWaiting();
  show(views.start);
  inform(say.endedSentence({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_USER' }));
  if (attempt) void api.cancelSignIn(attempt).catch(() => {});
});

byId('sign-out').addEventListener('click', () => {
  const session = currentSession();
  clearSession();
  void busy(views.signedIn, async () => {
    if (session) await api.signOut(session.accessToken).catch(() => {});
    (byId('password-input') as HTMLInputElement).value = '';
    (byId('tap-input') as HTMLInputElement).value = '';
    show(views.start);
    inform(say.SIGNED_OUT);
  });
});

for (const button of document.querySelectorAll<HTMLButtonElement>('[data-go]')) {
  button.addEventListener('click', () => {
    alert.textContent = '';
    goTo(button.dataset.go as 'start' | 'password' | 'tap');
  });
}

// A tab coming back from the background may have missed events while the socket slept.
document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && waiting?.watcher.check());
window.addEventListener('pagehide', () => {
  if (waiting) void api.cancelSignIn(waiting.attempt).catch(() => {});
});

/** The first view: hidden in the HTML until this decides, so a tab with a session never flashes the user-name form. */
async function open() {
  const hint = params.get('login_hint');
  if (hint) {
    userName.value = hint;
    show(views.start);
    return busy(views.start, () => startPhoneSignIn(hint));
  }
  const session = interaction ? null : currentSession();
  if (session) return showSignedIn(session.accessToken, false, '');
  show(views.start);
}
void open();
