import '../shared/styles.css';
import QRCode from 'qrcode';
import { ApiError } from '../shared/api.js';
import { announce, byId, showOnly } from '../shared/dom.js';
import { clearSession, currentSession } from '../shared/session.js';
import { renderMethods } from './methods.js';
import { type Method, type Registration, beginRegistration, methodIds, removeMethod, viewer } from './operations.js';

/**
 * Security info: the signed-in user's methods, adding the Authenticator app (the activation link
 * as a QR code and as text) and removing a method.
 */

/** How often the page asks whether the app has activated. No push reaches a user's browser, so it polls, briefly. */
const ACTIVATION_POLL_MS = 2_000;

const status = byId('status');
const alert = byId('alert');
const views = ['signed-out', 'methods-section', 'add', 'activation', 'done'].map((id) => byId(id));
const addButton = byId<HTMLButtonElement>('add-method');

let waiting: { timer: ReturnType<typeof setTimeout>; known: Set<string>; expiresAt: number } | undefined;

const session = currentSession();

function fail(error: unknown) {
  if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
    clearSession();
    stopWaiting();
    showOnly(views, byId('signed-out'));
    return announce(alert, 'Your session has ended. Sign in again to see your security info.');
  }
  announce(alert, error instanceof ApiError ? error.message : 'Something went wrong. Reload the page and try again.');
}

async function refresh() {
  const me = await viewer(session!.accessToken);
  renderMethods(me, (method) => void remove(method));
  return me;
}

async function showMethods(sentence?: string) {
  stopWaiting();
  try {
    await refresh();
  } catch (error) {
    return fail(error);
  }
  showOnly(views, byId('methods-section'));
  addButton.setAttribute('aria-expanded', 'false');
  if (sentence) announce(status, sentence);
}

async function remove(method: Method) {
  alert.textContent = '';
  try {
    await removeMethod(session!.accessToken, method.id);
    await refresh();
    announce(status, `Removed ${method.displayName}. It can no longer approve sign-ins.`);
    addButton.focus();
  } catch (error) {
    fail(error);
  }
}

function stopWaiting() {
  if (waiting) clearTimeout(waiting.timer);
  waiting = undefined;
}

async function showActivation(registration: Registration) {
  byId<HTMLImageElement>('activation-qr').src = await QRCode.toDataURL(registration.activationUrl, { errorCorrectionLevel: 'M', margin: 2, width: 264 });
  byId('activation-link').textContent = registration.activationUrl;
  const until = new Date(registration.expiresAt);
  byId('activation-expiry').textContent = `The code works once, until ${until.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}.`;
  showOnly(views, byId('activation'));
  announce(status, 'Scan the QR code with your Authenticator app, or paste the activation link into it.');
}

/** Polls until a method that was not there before appears (the app activated), or the code expires. */
async function waitForActivation() {
  if (!waiting) return;
  try {
    const added = (await methodIds(session!.accessToken)).find((method) => !waiting!.known.has(method.id));
    if (added) {
      stopWaiting();
      byId('done-text').textContent = `${added.displayName} is added. You can now approve sign-ins on it.`;
      showOnly(views, byId('done'));
      return announce(status, `Done: ${added.displayName} is set up.`);
    }
  } catch (error) {
    return fail(error);
  }
  if (Date.now() > waiting.expiresAt) {
    await showMethods();
    return announce(alert, 'The activation link expired before the app used it. Select Add sign-in method to get a new one.');
  }
  waiting.timer = setTimeout(() => void waitForActivation(), ACTIVATION_POLL_MS);
}

async function addAuthenticatorApp() {
  alert.textContent = '';
  const button = byId<HTMLButtonElement>('choose-app');
  button.disabled = true;
  try {
    const known = new Set((await methodIds(session!.accessToken)).map((method) => method.id));
    const registration = await beginRegistration(session!.accessToken);
    await showActivation(registration);
    waiting = { timer: setTimeout(() => void waitForActivation(), ACTIVATION_POLL_MS), known, expiresAt: Date.parse(registration.expiresAt) };
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
}

async function copyLink() {
  const link = byId('activation-link').textContent ?? '';
  try {
    await navigator.clipboard.writeText(link);
    announce(status, 'Activation link copied.');
  } catch {
    // No clipboard permission: select the text so the person can copy it themselves.
    getSelection()?.selectAllChildren(byId('activation-link'));
    announce(status, 'The link is selected: copy it with your keyboard or menu.');
  }
}

addButton.addEventListener('click', () => {
  addButton.setAttribute('aria-expanded', 'true');
  showOnly(views, byId('add'));
});
byId('choose-app').addEventListener('click', () => void addAuthenticatorApp());
byId('add-cancel').addEventListener('click', () => void showMethods());
byId('activation-cancel').addEventListener('click', () => void showMethods('No method was added.'));
byId('done-back').addEventListener('click', () => void showMethods());
byId('copy-link').addEventListener('click', () => void copyLink());

if (session) void showMethods();
else showOnly(views, byId('signed-out'));
