import { ApiError, type AuthenticatorApp, type Decision, type PhoneSignInChallenge } from '../sdk/index.js';
import { WrongPinError } from './keyFile.js';
import type { Terminal } from './terminal.js';

/** PIN attempts per request; then the request is left unanswered (it expires on its own). */
const PIN_TRIES = 3;
const DENY = new Set(['d', 'deny']);
const REPORT = new Set(['r', 'report']);

export interface ChallengeContext {
  terminal: Terminal;
  /** Opens the key file with a PIN: an app holding the credential key, or WrongPinError. */
  unlock(pin: string): Promise<AuthenticatorApp>;
  now(): Date;
}

/** Shows one request, asks for the number (or deny/report), then the PIN, and sends the signed answer. */
export async function answerChallenge(challenge: PhoneSignInChallenge, context: ChallengeContext): Promise<void> {
  const { terminal } = context;
  const secondsLeft = () => Math.round((Date.parse(challenge.expiresAt) - context.now().getTime()) / 1000);
  terminal.say('');
  terminal.say(`Sign-in request for ${challenge.userPrincipalName}${challenge.kind === 'PUSH_MFA' ? ' (after a password)' : ''}`);
  // The tenant's risk signals set to WARN: shown first, before the number is asked for.
  if (challenge.riskWarning) terminal.say(`  WARNING:  ${challenge.riskWarning}`);
  terminal.say(`  App:      ${challenge.appName ?? '(not shown)'}`);
  terminal.say(`  Location: ${challenge.location ?? '(not shown)'}`);
  terminal.say(`  IP:       ${challenge.ipAddress ?? '(not shown)'}`);
  terminal.say(`  Expires:  in ${Math.max(0, secondsLeft())} s`);
  if (secondsLeft() <= 0) return terminal.say('This request has expired.');

  const answer = await askNumber(challenge, terminal);
  const pinned = await unlockWithPin(context);
  if (!pinned) return terminal.say(`${PIN_TRIES} wrong PINs: the request was left unanswered.`);
  if (secondsLeft() <= 0) return terminal.say('This request expired while you answered.');
  try {
    const result = await pinned.answer(challenge, { ...answer, uv: 'pin' });
    terminal.say(outcome(answer.decision, result));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    terminal.say(`Not sent: ${error.message}${error.code ? ` (${error.code})` : ''}`);
  }
}

async function askNumber(challenge: PhoneSignInChallenge, terminal: Terminal): Promise<{ decision: Decision; number: string }> {
  const choices = challenge.numberChoices;
  const question = choices
    ? `Which number does the sign-in screen show? ${choices.join(' / ')}  (d = deny, r = report suspicious activity): `
    : 'Enter the number shown on the sign-in screen (d = deny, r = report suspicious activity): ';
  for (;;) {
    const typed = (await terminal.ask(question)).toLowerCase();
    if (DENY.has(typed)) return { decision: 'deny', number: '' };
    if (REPORT.has(typed)) return { decision: 'report', number: '' };
    if (choices ? choices.includes(typed) : /^\d{1,8}$/.test(typed)) return { decision: 'approve', number: typed };
    terminal.say(choices ? `Type one of ${choices.join(', ')}, or d or r.` : 'Type the digits shown on the sign-in screen, or d or r.');
  }
}

async function unlockWithPin(context: ChallengeContext): Promise<AuthenticatorApp | undefined> {
  for (let left = PIN_TRIES; left > 0; left--) {
    try {
      return await context.unlock(await context.terminal.askHidden('PIN: '));
    } catch (error) {
      if (!(error instanceof WrongPinError)) throw error;
      context.terminal.say(left > 1 ? `Wrong PIN. ${left - 1} ${left - 1 === 1 ? 'try' : 'tries'} left.` : 'Wrong PIN.');
    }
  }
  return undefined;
}

function outcome(decision: Decision, { status, failureReason }: { status: string; failureReason: string | null }): string {
  if (decision === 'report') return 'Reported: the sign-in was blocked and your administrator can see the report.';
  if (decision === 'deny') return 'Denied: the sign-in was declined.';
  if (status === 'APPROVED') return 'Approved: the sign-in continues in the browser.';
  if (failureReason === 'NUMBER_MISMATCH') return 'Declined: the number did not match the sign-in screen.';
  return `Not approved: the sign-in is ${status.toLowerCase()}${failureReason ? ` (${failureReason})` : ''}.`;
}
