import type { PhoneSignInChallenge } from '../../sdk/index.js';

/**
 * One sign-in request as a card: who, which app, from where; the number (typed, or one button per
 * choice); the PIN; Approve, Deny and "Report suspicious activity". The card only collects the
 * answer: signing and sending is the caller's.
 */

export type CardAnswer = { decision: 'approve'; number: string; pin: string } | { decision: 'deny' | 'report' };

export interface Card {
  element: HTMLLIElement;
  /** Shows a problem on this card (wrong PIN, number missing) and moves focus to the field at fault. */
  problem(sentence: string, field: 'number' | 'pin'): void;
  busy(on: boolean): void;
}

const countdown = (expiresAt: string) => {
  const seconds = Math.max(0, Math.ceil((Date.parse(expiresAt) - Date.now()) / 1000));
  return `Expires in ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function detail(term: string, value: string | null) {
  return [element('dt', {}, term), element('dd', {}, value ?? 'Not shown by your organisation')];
}

export function challengeCard(challenge: PhoneSignInChallenge, o: { firstPin: boolean; onAnswer(answer: CardAnswer): void }): Card {
  const id = `challenge-${challenge.id}`;
  const title = element('h3', { id: `${id}-title` }, challenge.kind === 'PUSH_MFA' ? 'Approve sign-in after password?' : 'Approve sign-in?');
  const details = element('dl', { className: 'details' }, ...detail('Account', challenge.userPrincipalName), ...detail('App', challenge.appName), ...detail('Location', challenge.location), ...detail('IP address', challenge.ipAddress));
  const timer = element('p', { className: 'hint' }, countdown(challenge.expiresAt));
  const problem = element('p', { id: `${id}-problem`, className: 'problem' });

  let picked = '';
  let numberField: HTMLInputElement | undefined;
  const numberPart: HTMLElement[] = [];
  if (challenge.numberChoices?.length) {
    const choices = element('div', { className: 'choices', role: 'group' });
    choices.setAttribute('aria-labelledby', `${id}-choices`);
    for (const choice of challenge.numberChoices) {
      const button = element('button', { type: 'button', className: 'secondary' }, choice);
      button.setAttribute('aria-pressed', 'false');
      button.addEventListener('click', () => {
        picked = choice;
        for (const other of choices.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
      });
      choices.append(button);
    }
    numberPart.push(element('p', { id: `${id}-choices`, className: 'label' }, 'Select the number shown on the sign-in screen'), choices);
  } else {
    numberField = element('input', { id: `${id}-number`, type: 'text', inputMode: 'numeric', autocomplete: 'off' });
    numberPart.push(element('label', { htmlFor: numberField.id }, 'Number'), numberField);
  }

  const pin = element('input', { id: `${id}-pin`, type: 'password', inputMode: 'numeric', autocomplete: 'off' });
  const pinHint = element('p', { id: `${id}-pin-hint`, className: 'hint' }, o.firstPin ? 'First approval on this device: the PIN you enter now (4 to 12 digits) becomes its PIN.' : 'Your PIN on this device.');
  pin.setAttribute('aria-describedby', `${id}-pin-hint ${id}-problem`);
  numberField?.setAttribute('aria-describedby', `${id}-problem`);

  const approve = element('button', { type: 'submit' }, 'Approve');
  const deny = element('button', { type: 'button', className: 'secondary' }, 'Deny');
  const report = element('button', { type: 'button', className: 'danger' }, 'Report suspicious activity');
  const form = element('form', { noValidate: true }, ...numberPart, element('label', { htmlFor: pin.id }, 'PIN'), pin, pinHint, problem, approve, deny, report);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    o.onAnswer({ decision: 'approve', number: numberField ? numberField.value.trim() : picked, pin: pin.value });
  });
  deny.addEventListener('click', () => o.onAnswer({ decision: 'deny' }));
  report.addEventListener('click', () => o.onAnswer({ decision: 'report' }));

  // The tenant's risk signals set to WARN: above everything else on the card, before the number.
  const warning = challenge.riskWarning ? [element('p', { id: `${id}-warning`, className: 'problem' }, `Warning: ${challenge.riskWarning}`)] : [];
  const card = element('li', { id }, title, ...warning, details, timer, form);
  card.setAttribute('aria-labelledby', title.id);
  const tick = setInterval(() => {
    if (!card.isConnected) return clearInterval(tick);
    timer.textContent = countdown(challenge.expiresAt);
  }, 1000);

  return {
    element: card,
    problem(sentence, field) {
      problem.textContent = sentence;
      // After the caller re-enables the form: a disabled field cannot take focus.
      setTimeout(() => (field === 'pin' ? pin : (numberField ?? form.querySelector('button'))!).focus());
    },
    busy(on) {
      for (const control of form.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')) control.disabled = on;
    },
  };
}
