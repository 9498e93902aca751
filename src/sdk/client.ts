import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AuthenticatorKeys, type Decision, type UserVerification, parseActivationUrl } from './authenticator.js';

/**
 * A small client of the phone sign-in API for authenticator apps, scripts and the benchmark:
 * plain fetch for queries and mutations, graphql-ws for live challenges.
 */

export interface GraphQLResult<T = any> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** POSTs one operation; throws ApiError on a GraphQL error or a typed `Error` result. */
export async function graphqlRequest<T = any>(endpoint: string, query: string, variables: Record<string, unknown> = {}, authorization?: string): Promise<T> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as GraphQLResult<T>;
  const error = result.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code);
  const typed = Object.values(result.data ?? {}).find((value: any) => value && typeof value === 'object' && typeof value.code === 'string' && typeof value.message === 'string') as
    | { code: string; message: string }
    | undefined;
  if (typed) throw new ApiError(typed.message, typed.code);
  return result.data as T;
}

export interface DeviceDescription {
  displayName: string;
  platform: 'IOS' | 'ANDROID';
  osVersion: string;
  appVersion: string;
}

export interface PhoneSignInChallenge {
  id: string;
  kind: string;
  nonce: string;
  userPrincipalName: string;
  appName: string | null;
  location: string | null;
  ipAddress: string | null;
  expiresAt: string;
  numberChoices: string[] | null;
  /** Show above the number when set: what looks unusual about this sign-in (the tenant's risk signals set to WARN). */
  riskWarning: string | null;
}

const ERROR = '... on Error { code message }';
const CHALLENGE_FIELDS = 'id kind nonce userPrincipalName appName location ipAddress expiresAt numberChoices riskWarning';

/**
 * The issuer named by the OpenID configuration beside a GraphQL endpoint, for activation links of
 * servers older than the link's `issuer` parameter. Not the endpoint's origin: the issuer (PUBLIC_URL)
 * may carry a path, or be another host than the one the app reaches.
 */
export async function discoverIssuer(endpoint: string): Promise<string> {
  const discovery = new URL('.well-known/openid-configuration', endpoint);
  const response = await fetch(discovery, { headers: { accept: 'application/json' } });
  const issuer = response.ok ? ((await response.json()) as { issuer?: unknown }).issuer : undefined;
  if (typeof issuer !== 'string' || !issuer) throw new Error(`No issuer at ${discovery.href} (HTTP ${response.status}); cannot tell what aud to sign.`);
  return issuer;
}

/** An authenticator app: its keys, the endpoint it was activated against, and the calls it makes. */
export class AuthenticatorApp {
  private constructor(
    readonly keys: AuthenticatorKeys,
    readonly endpoint: string,
    /** The issuer, `aud` of everything the app signs, as the server confirmed at activation. */
    readonly audience: string,
  ) {}

  /** An app activated earlier against `endpoint`, with the keys it kept (AuthenticatorKeys.restore). */
  static restore(keys: AuthenticatorKeys, endpoint: string, audience: string): AuthenticatorApp {
    return new AuthenticatorApp(keys, endpoint, audience);
  }

  /** Scans an activation link: makes a device key and registers it with the code. */
  static async activate(activationUrl: string, device: DeviceDescription): Promise<AuthenticatorApp> {
    const { endpoint, code, issuer } = parseActivationUrl(activationUrl);
    const audience = issuer ?? (await discoverIssuer(endpoint));
    const keys = await AuthenticatorKeys.create();
    const proof = await keys.activationProof({ activationCode: code, audience });
    const data = await graphqlRequest(
      endpoint,
      `mutation($input: ActivateAuthenticatorInput!) { activateAuthenticator(input: $input) { ... on ActivatedAuthenticator { deviceId issuer } ${ERROR} } }`,
      { input: { activationCode: code, device, proof } },
    );
    keys.deviceId = data.activateAuthenticator.deviceId;
    return new AuthenticatorApp(keys, endpoint, data.activateAuthenticator.issuer);
  }

  /** A fresh `Authorization` value: each device assertion is accepted once. */
  async authorization(): Promise<string> {
    return `Device ${await this.keys.deviceAssertion({ audience: this.audience })}`;
  }

  /** "Enable phone sign-in": registers a new credential key. */
  async enablePhoneSignIn(): Promise<string> {
    const proof = await this.keys.credentialProof({ audience: this.audience });
    const data = await graphqlRequest(
      this.endpoint,
      `mutation($input: EnablePhoneSignInInput!) { enablePhoneSignIn(input: $input) { ... on PhoneSignInEnabled { credentialId } ${ERROR} } }`,
      { input: { proof } },
      await this.authorization(),
    );
    this.keys.credentialId = data.enablePhoneSignIn.credentialId;
    return this.keys.credentialId!;
  }

  /** The challenges waiting for this phone (polling fallback). */
  async pendingChallenges(): Promise<PhoneSignInChallenge[]> {
    const data = await graphqlRequest(this.endpoint, `{ pendingPhoneSignInChallenges { ${CHALLENGE_FIELDS} } }`, {}, await this.authorization());
    return data.pendingPhoneSignInChallenges;
  }

  /** Answers a challenge, after the user was verified locally with `uv`; returns the attempt status. */
  /** Answers a challenge; push MFA (a second factor after the password) is signed with the device key. */
  async respond(challenge: PhoneSignInChallenge, answer: { decision: Decision; number: string; uv: UserVerification; key?: 'credential' | 'device' }): Promise<string> {
    const response = await this.keys.challengeResponse({ challengeId: challenge.id, nonce: challenge.nonce, ...answer });
    const data = await graphqlRequest(
      this.endpoint,
      `mutation($input: RespondToPhoneSignInChallengeInput!) { respondToPhoneSignInChallenge(input: $input) { ... on SignInAttempt { status } ${ERROR} } }`,
      { input: { response } },
      await this.authorization(),
    );
    return data.respondToPhoneSignInChallenge.status;
  }

  /** Opens a graphql-ws connection and calls `onChallenge` for every challenge (at least once each). */
  async listen(onChallenge: (challenge: PhoneSignInChallenge) => void): Promise<Client> {
    const client = createClient({
      url: this.endpoint.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: await this.authorization() },
      retryAttempts: 0,
    });
    client.subscribe<{ phoneSignInChallenges: PhoneSignInChallenge }>(
      { query: `subscription { phoneSignInChallenges { ${CHALLENGE_FIELDS} } }` },
      { next: (event) => event.data && onChallenge(event.data.phoneSignInChallenges), error: () => {}, complete: () => {} },
    );
    return client;
  }
}
