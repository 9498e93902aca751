import type { Client } from 'graphql-ws';
import { parseActivationUrl } from './activationLink.js';
import { AuthenticatorKeys, type Decision, type KeyOptions, type UserVerification } from './authenticator.js';
import { type ChallengeFeed, type ListenOptions, listenForChallenges } from './challengeFeed.js';
import { type Fetch, SocketRequestFailed, graphqlRequest, socketRequest } from './graphql.js';
import type { AuthenticatorState, KeyStore } from './keyStore.js';

/**
 * An authenticator app's side of the phone sign-in API: activation, enabling and disabling phone
 * sign-in, the challenges (live with a polling fallback) and signed answers. Plain fetch for
 * queries and mutations, graphql-ws for live challenges; no Node built-ins, so it runs in browsers.
 */

export interface DeviceDescription {
  displayName: string;
  platform: 'IOS' | 'ANDROID';
  osVersion: string;
  appVersion: string;
}

export interface PhoneSignInChallenge {
  id: string;
  /** PHONE_SIGN_IN (passwordless) or PUSH_MFA (a second factor after the password). */
  kind: string;
  nonce: string;
  userPrincipalName: string;
  appName: string | null;
  location: string | null;
  ipAddress: string | null;
  expiresAt: string;
  /** Pick-one-of-N matching: the numbers to offer; null when the user types the number. */
  numberChoices: string[] | null;
  /** Show above the number when set: what looks unusual about this sign-in (the tenant's risk signals set to WARN). */
  riskWarning: string | null;
}

/** How the app reaches the service, and where it keeps its keys. Every field is optional. */
export interface AppOptions {
  /** The `fetch` for HTTP calls (default: the global one). */
  fetch?: Fetch;
  /**
   * The WebSocket constructor for live challenges (default: globalThis.WebSocket, as in browsers
   * and Node 22+). Node 20 has none: pass `WebSocket` from the `ws` package.
   */
  webSocketImpl?: unknown;
  /** The clock signatures are dated by (default: the system clock). */
  now?: () => Date;
  /** Saved to after activation and after phone sign-in is enabled or disabled. */
  store?: KeyStore;
  /** For new keys: extractable only when the store must write them out. */
  keys?: KeyOptions;
}

const ERROR = '... on Error { code message }';

/** A decision, the number typed or picked ('' when declining), and how the user was verified. */
export interface Answer {
  decision: Decision;
  number: string;
  uv: UserVerification;
  key?: 'credential' | 'device';
}
export const CHALLENGE_FIELDS = 'id kind nonce userPrincipalName appName location ipAddress expiresAt numberChoices riskWarning';

/**
 * The issuer named by the OpenID configuration beside a GraphQL endpoint, for activation links of
 * servers older than the link's `issuer` parameter. Not the endpoint's origin: the issuer (PUBLIC_URL)
 * may carry a path, or be another host than the one the app reaches.
 */
export async function discoverIssuer(endpoint: string, fetchImpl: Fetch = globalThis.fetch): Promise<string> {
  const discovery = new URL('.well-known/openid-configuration', endpoint);
  const response = await fetchImpl(discovery, { headers: { accept: 'application/json' } });
  const issuer = response.ok ? ((await response.json()) as { issuer?: unknown }).issuer : undefined;
  if (typeof issuer !== 'string' || !issuer) throw new Error(`No issuer at ${discovery.href} (HTTP ${response.status}); cannot tell what aud to sign.`);
  return issuer;
}

/** An authenticator app: its keys, the endpoint it was activated against, and the calls it makes. */
export class AuthenticatorApp {
  /** The connection of a live challenge feed (listen), set while it is open: answers go on it. */
  liveSocket: Client | undefined;

  private constructor(
    readonly keys: AuthenticatorKeys,
    readonly endpoint: string,
    /** The issuer, `aud` of everything the app signs, as the server confirmed at activation. */
    readonly audience: string,
    readonly options: AppOptions,
  ) {}

  /** An app activated earlier against `endpoint`, with the keys it kept (AuthenticatorKeys.restore). */
  static restore(keys: AuthenticatorKeys, endpoint: string, audience: string, options: AppOptions = {}): AuthenticatorApp {
    return new AuthenticatorApp(keys, endpoint, audience, options);
  }

  /** The app as a store saved it (see state()). */
  static fromState(state: AuthenticatorState, options: AppOptions = {}): AuthenticatorApp {
    const { deviceKey, deviceId, credentialKey, credentialId } = state;
    return new AuthenticatorApp(AuthenticatorKeys.restore({ deviceKey, deviceId, credentialKey, credentialId }, options.keys), state.endpoint, state.audience, options);
  }

  /** The app options.store holds, or undefined before the first activation. */
  static async load(options: AppOptions & { store: KeyStore }): Promise<AuthenticatorApp | undefined> {
    const state = await options.store.load();
    return state && AuthenticatorApp.fromState(state, options);
  }

  /** Scans an activation link: makes a device key and registers it with the code. */
  static async activate(activationUrl: string, device: DeviceDescription, options: AppOptions = {}): Promise<AuthenticatorApp> {
    const { endpoint, code, issuer } = parseActivationUrl(activationUrl);
    const audience = issuer ?? (await discoverIssuer(endpoint, options.fetch));
    const keys = await AuthenticatorKeys.create(options.keys);
    const proof = await keys.activationProof({ activationCode: code, audience, now: options.now?.() });
    const data = await graphqlRequest(
      endpoint,
      `mutation($input: ActivateAuthenticatorInput!) { activateAuthenticator(input: $input) { ... on ActivatedAuthenticator { deviceId issuer } ${ERROR} } }`,
      { input: { activationCode: code, device, proof } },
      undefined,
      options.fetch,
    );
    keys.deviceId = data.activateAuthenticator.deviceId;
    const app = new AuthenticatorApp(keys, endpoint, data.activateAuthenticator.issuer, options);
    await app.save();
    return app;
  }

  /** What a KeyStore keeps. */
  state(): AuthenticatorState {
    const { deviceId, deviceKey, credentialId, credentialKey } = this.keys;
    if (!deviceId) throw new Error('Activate first: no device id.');
    return { endpoint: this.endpoint, audience: this.audience, deviceId, deviceKey, ...(credentialId && credentialKey ? { credentialId, credentialKey } : {}) };
  }

  /** Whether phone sign-in is enabled on this device (as far as the app knows). */
  get phoneSignInEnabled(): boolean {
    return Boolean(this.keys.credentialId && this.keys.credentialKey);
  }

  /** A fresh `Authorization` value: each device assertion is accepted once. */
  async authorization(): Promise<string> {
    return `Device ${await this.keys.deviceAssertion({ audience: this.audience, now: this.options.now?.() })}`;
  }

  /** One authenticated call as this device. */
  async request<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return graphqlRequest<T>(this.endpoint, query, variables, await this.authorization(), this.options.fetch);
  }

  /** "Enable phone sign-in": registers a new credential key (replacing any). */
  async enablePhoneSignIn(): Promise<string> {
    const previousKey = this.keys.credentialKey;
    const proof = await this.keys.credentialProof({ audience: this.audience, now: this.options.now?.() });
    try {
      const data = await this.request(`mutation($input: EnablePhoneSignInInput!) { enablePhoneSignIn(input: $input) { ... on PhoneSignInEnabled { credentialId } ${ERROR} } }`, { input: { proof } });
      this.keys.credentialId = data.enablePhoneSignIn.credentialId;
    } catch (error) {
      // Refused: the credential the service still holds (if any) stays the one to sign with.
      this.keys.credentialKey = previousKey;
      throw error;
    }
    await this.save();
    return this.keys.credentialId!;
  }

  /** Turns phone sign-in off on this device and forgets the credential key; false if it was off already. */
  async disablePhoneSignIn(): Promise<boolean> {
    const data = await this.request<{ disablePhoneSignIn: boolean }>('mutation { disablePhoneSignIn }');
    this.forgetCredential();
    await this.save();
    return data.disablePhoneSignIn;
  }

  /** The challenges waiting for this phone (the polling fallback). */
  async pendingChallenges(): Promise<PhoneSignInChallenge[]> {
    return (await this.request(`{ pendingPhoneSignInChallenges { ${CHALLENGE_FIELDS} } }`)).pendingPhoneSignInChallenges;
  }

  /**
   * Answers a challenge, after the user was verified locally with `uv`; returns the attempt's status
   * and why it failed, if it did (e.g. NUMBER_MISMATCH). Signed with the credential key, except
   * push MFA on a device without one (the device key); `key` overrides the choice.
   */
  async answer(challenge: PhoneSignInChallenge, answer: Answer): Promise<{ status: string; failureReason: string | null }> {
    const key = answer.key ?? (challenge.kind === 'PUSH_MFA' && !this.phoneSignInEnabled ? 'device' : 'credential');
    const response = await this.keys.challengeResponse({ challengeId: challenge.id, nonce: challenge.nonce, ...answer, key, now: this.options.now?.() });
    const query = `mutation($input: RespondToPhoneSignInChallengeInput!) { respondToPhoneSignInChallenge(input: $input) { ... on SignInAttempt { status failureReason } ${ERROR} } }`;
    const variables = { input: { response } };
    // On the feed's live connection when there is one (no device assertion to sign, verify and
    // spend: the connection authenticated when it opened). If it fails before answering, the same
    // response goes over HTTP: an answer the service took already gets its stored outcome.
    if (this.liveSocket) {
      try {
        return (await socketRequest(this.liveSocket, query, variables)).respondToPhoneSignInChallenge;
      } catch (error) {
        if (!(error instanceof SocketRequestFailed)) throw error;
      }
    }
    return (await this.request(query, variables)).respondToPhoneSignInChallenge;
  }

  /** answer(), returning only the attempt status. */
  async respond(challenge: PhoneSignInChallenge, answer: Answer): Promise<string> {
    return (await this.answer(challenge, answer)).status;
  }

  /** Approves with the number the user typed or picked. */
  approve(challenge: PhoneSignInChallenge, number: string, uv: UserVerification) {
    return this.respond(challenge, { decision: 'approve', number, uv });
  }

  /** "No, it's not me" without suspicion: the sign-in is declined. */
  deny(challenge: PhoneSignInChallenge, uv: UserVerification = 'none') {
    return this.respond(challenge, { decision: 'deny', number: '', uv });
  }

  /** "Report suspicious activity": declined, and the user's account is flagged for the admins. */
  report(challenge: PhoneSignInChallenge, uv: UserVerification = 'none') {
    return this.respond(challenge, { decision: 'report', number: '', uv });
  }

  /**
   * Calls `onChallenge` once for each challenge: live over graphql-ws, reconnecting with a fresh
   * device assertion, and polling while the socket is down. Either a callback or full options.
   */
  listen(options: ListenOptions | ListenOptions['onChallenge']): ChallengeFeed {
    return listenForChallenges(this, typeof options === 'function' ? { onChallenge: options } : options);
  }

  private forgetCredential() {
    this.keys.credentialId = undefined;
    this.keys.credentialKey = undefined;
  }

  private async save() {
    await this.options.store?.save(this.state());
  }
}
