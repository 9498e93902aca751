import type { Method, Viewer } from './operations.js';

/** The list of methods and the policy's remedy, drawn from one viewer answer. */

const PLATFORM: Record<string, string> = { IOS: 'iOS', ANDROID: 'Android' };
const dateOf = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function methodItem(method: Method, onRemove: (method: Method) => void): HTMLLIElement {
  const item = document.createElement('li');
  const name = document.createElement('strong');
  name.id = `method-${method.id}`;
  name.textContent = method.displayName;
  const details = document.createElement('span');
  details.className = 'hint';
  details.textContent = [
    'Authenticator app',
    `${PLATFORM[method.platform] ?? method.platform} ${method.osVersion}`,
    method.phoneSignInEnabled ? 'phone sign-in on' : 'push approvals only',
    `added ${dateOf(method.createdAt)}`,
    method.lastUsedAt ? `last used ${dateOf(method.lastUsedAt)}` : 'not used yet',
  ].join(' · ');
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary';
  remove.textContent = 'Remove';
  // "Remove" stays the name; which method it removes is read out as its description.
  remove.setAttribute('aria-describedby', name.id);
  remove.addEventListener('click', () => onRemove(method));
  const text = document.createElement('div');
  text.append(name, document.createElement('br'), details);
  item.append(text, remove);
  return item;
}

export function renderMethods(viewer: Viewer, onRemove: (method: Method) => void) {
  const list = document.getElementById('methods')!;
  list.replaceChildren(...viewer.authenticationMethods.map((method) => methodItem(method, onRemove)));
  document.getElementById('no-methods')!.hidden = viewer.authenticationMethods.length > 0;
  document.getElementById('who')!.textContent = `${viewer.displayName} (${viewer.userPrincipalName})`;

  // The remedy matters when the user holds a credential the policy does not let them use.
  const remedy = document.getElementById('remedy')!;
  const policy = viewer.phoneSignInPolicy;
  const stranded = viewer.authenticationMethods.some((method) => method.phoneSignInEnabled);
  remedy.hidden = !(stranded && policy && !policy.phoneSignInAllowed && policy.remedy);
  remedy.textContent = remedy.hidden ? '' : `Phone sign-in is on in your app, but your organisation does not let you use it. ${policy!.remedy}`;
}
