/**
 * One complete sign-in, as a browser and a phone do it: beginSignIn over HTTP; the browser follows
 * `signInAttempt` on a graphql-ws socket of its own; the user's phones get the push and the first
 * to get it signs an approval with the number (typed by the person) and sends
 * respondToPhoneSignInChallenge; the browser sees APPROVED and calls completeSignIn. Times are
 * performance.now() from the moment beginSignIn is sent.
 */
import { createClient } from 'graphql-ws';
import { type AuthenticatorApp, type PhoneSignInChallenge, graphqlRequest } from '../../src/sdk/index.js';
import type { BenchUser } from './setup.js';
import { nextSourceAddress, webSocketFrom } from './sockets.js';

export interface SignInResult {
  ok: boolean;
  error?: string;
  /** beginSignIn sent → completeSignIn answered with a token. */
  totalMs: number;
  /** beginSignIn sent → the challenge on the first of the user's phones. */
  pushMs: number;
  /** beginSignIn sent → APPROVED on the browser's subscription. */
  approvedMs: number;
}

const SIGN_IN_TIMEOUT_MS = 30_000;
const TERMINAL = new Set(['DENIED', 'EXPIRED', 'CANCELLED', 'COMPLETED']);

interface Waiting {
  number: string;
  sentAt: number;
  pushed: (at: number) => void;
  failed: (error: Error) => void;
}

export class SignInDriver {
  private readonly waiting = new Map<string, Waiting>();
  /** Challenges that reached a phone before beginSignIn's answer reached the browser. */
  private readonly early = new Map<string, { challenge: PhoneSignInChallenge; phone: AuthenticatorApp; at: number }>();
  private readonly answered = new Set<string>();
  private readonly free: BenchUser[] = [];
  private readonly cancelling = new Set<Promise<void>>();

  constructor(
    private readonly endpoint: string,
    private readonly wsUrl: string,
  ) {}

  /** Users who may sign in: only those whose phones are all connected get their pushes. */
  addUsers(users: BenchUser[]) {
    this.free.push(...users);
  }

  get freeUsers() {
    return this.free.length;
  }

  /** Waits up to `ms` for the cancellations under way, so their users are free again. */
  async settled(ms: number) {
    await Promise.race([Promise.all(this.cancelling), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
  }

  /** For connectPhones: every challenge of every phone comes here. */
  onChallenge = (challenge: PhoneSignInChallenge, phone: AuthenticatorApp, at: number) => {
    if (this.answered.has(challenge.id)) return;
    const waiting = this.waiting.get(challenge.id);
    if (!waiting) {
      if (!this.early.has(challenge.id)) this.early.set(challenge.id, { challenge, phone, at });
      return;
    }
    this.answer(challenge, phone, at, waiting);
  };

  private answer(challenge: PhoneSignInChallenge, phone: AuthenticatorApp, at: number, waiting: Waiting) {
    this.answered.add(challenge.id);
    waiting.pushed(at);
    phone.respond(challenge, { decision: 'approve', number: waiting.number, uv: 'biometric' }).then(
      (status) => status === 'APPROVED' || waiting.failed(new Error(`respondToPhoneSignInChallenge answered ${status}`)),
      (error: Error) => waiting.failed(error),
    );
  }

  private async cancel(user: BenchUser, attemptId: string, attemptSecret: string) {
    try {
      await graphqlRequest(
        this.endpoint,
        'mutation($i: SignInAttemptKeyInput!) { cancelSignIn(input: $i) { ... on SignInAttempt { status } ... on Error { code message } } }',
        { i: { attemptId, attemptSecret } },
      );
      this.free.push(user);
    } catch {
      // Already resolved, or the service refused: the user sits the rest of the run out.
    }
  }

  /** One sign-in by a user with none in flight (a user's second would get PENDING_REQUEST). */
  async signIn(): Promise<SignInResult> {
    const user = this.free.shift();
    const sentAt = performance.now();
    // An arrival the service was too slow to free a user for fails at the full timeout, as a sign-in
    // that timed out does (at 0 ms it would pull p50 and p99 down on an overloaded machine).
    if (!user) return { ok: false, error: 'no user free (every user has a sign-in in flight)', totalMs: SIGN_IN_TIMEOUT_MS, pushMs: Number.NaN, approvedMs: Number.NaN };
    let pushMs = Number.NaN;
    let approvedMs = Number.NaN;
    let attemptId: string | undefined;
    let attemptSecret: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let browser: ReturnType<typeof createClient> | undefined;
    let ok = false;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no token within ${SIGN_IN_TIMEOUT_MS / 1000} s`)), SIGN_IN_TIMEOUT_MS);
      });
      const flow = async () => {
        const begun = (
          await graphqlRequest(
            this.endpoint,
            'mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename ... on PhoneSignInStarted { attemptId attemptSecret number } ... on PasswordRequired { reason } } }',
            { i: { userPrincipalName: user.userPrincipalName, appName: 'Benchmark' } },
          )
        ).beginSignIn;
        if (begun.__typename !== 'PhoneSignInStarted') throw new Error(`beginSignIn answered ${begun.__typename} ${begun.reason ?? ''}`);
        attemptId = begun.attemptId as string;
        attemptSecret = begun.attemptSecret as string;
        let failPhone!: (error: Error) => void;
        const phoneFailed = new Promise<never>((_, reject) => {
          failPhone = reject;
        });
        phoneFailed.catch(() => {});
        const waiting: Waiting = { number: begun.number, sentAt, pushed: (at) => (pushMs = at - sentAt), failed: (error) => failPhone(error) };
        this.waiting.set(attemptId, waiting);
        const early = this.early.get(attemptId);
        if (early) {
          this.early.delete(attemptId);
          this.answer(early.challenge, early.phone, early.at, waiting);
        }
        browser = createClient({ url: this.wsUrl, webSocketImpl: webSocketFrom(nextSourceAddress()), retryAttempts: 0, lazy: true });
        const client = browser;
        const approved = new Promise<void>((resolve, reject) => {
          client.subscribe<{ signInAttempt: { status: string; failureReason: string | null } }>(
            { query: 'subscription($id: ID!, $secret: String!) { signInAttempt(attemptId: $id, attemptSecret: $secret) { status failureReason } }', variables: { id: attemptId, secret: begun.attemptSecret } },
            {
              next: ({ data, errors }) => {
                const status = data?.signInAttempt.status;
                if (status === 'APPROVED') resolve();
                else if (errors?.length || (status && TERMINAL.has(status))) reject(new Error(`the browser saw ${status ?? errors?.[0]?.message} (${data?.signInAttempt.failureReason ?? ''})`));
              },
              error: (error) => reject(error instanceof Error ? error : new Error(`the browser's subscription failed: ${JSON.stringify(error)}`)),
              complete: () => reject(new Error('the browser subscription ended before APPROVED')),
            },
          );
        });
        await Promise.race([approved, phoneFailed]);
        approvedMs = performance.now() - sentAt;
        void client.dispose();
        const completed = await graphqlRequest(
          this.endpoint,
          'mutation($i: SignInAttemptKeyInput!) { completeSignIn(input: $i) { ... on SignInSuccess { accessToken } ... on Error { code message } } }',
          { i: { attemptId, attemptSecret: begun.attemptSecret } },
        );
        if (typeof completed.completeSignIn?.accessToken !== 'string') throw new Error('completeSignIn gave no token');
      };
      await Promise.race([flow(), timeout]);
      ok = true;
      return { ok, totalMs: performance.now() - sentAt, pushMs, approvedMs };
    } catch (error) {
      return { ok, error: error instanceof Error ? error.message : String(error), totalMs: performance.now() - sentAt, pushMs, approvedMs };
    } finally {
      clearTimeout(timer);
      void browser?.dispose();
      if (attemptId) {
        this.waiting.delete(attemptId);
        this.answered.delete(attemptId);
      }
      if (ok) this.free.push(user);
      // A browser that gives up cancels, so the user may start again (else PENDING_REQUEST until expiry).
      else if (attemptId && attemptSecret) {
        const cancelled = this.cancel(user, attemptId, attemptSecret);
        this.cancelling.add(cancelled);
        void cancelled.finally(() => this.cancelling.delete(cancelled));
      }
    }
  }
}
