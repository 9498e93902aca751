import { gql } from '../shared/api.js';

/** The sign-in page's side of the public contract (PROTOCOL.md, "Browser (anonymous)"). */

const ERROR = '... on Error { code message }';

export interface Waiting {
  attemptId: string;
  attemptSecret: string;
  number: string;
  expiresAt: string;
}

export type AttemptStatus = 'PENDING' | 'APPROVED' | 'DENIED' | 'EXPIRED' | 'CANCELLED' | 'COMPLETED';

export interface AttemptState {
  status: AttemptStatus;
  failureReason: string | null;
}

export interface Session {
  accessToken: string;
  expiresAt: string;
  registrationRequired: boolean;
}

/** An expected refusal: the service's code and its sentence. */
export interface Refusal {
  __typename: 'DomainError' | 'InputValidationError';
  code: string;
  message: string;
}

export type BeginResult =
  | ({ __typename: 'PhoneSignInStarted' } & Waiting)
  | { __typename: 'PasswordRequired'; reason: 'PASSWORD_REQUIRED' | 'PENDING_REQUEST' }
  | Refusal;

export type PasswordResult =
  | ({ __typename: 'SignInSuccess' } & Session)
  | ({ __typename: 'MfaRequired' } & Waiting)
  | { __typename: 'FederationRedirect'; signInUrl: string }
  | Refusal;

const SESSION = 'accessToken expiresAt registrationRequired';
const WAITING = 'attemptId attemptSecret number expiresAt';
export const ATTEMPT_FIELDS = 'status failureReason';

/** Home-realm discovery from the user name alone: the federated domain's sign-in page, or null to sign in here. */
export const federatedSignInUrl = async (userPrincipalName: string) =>
  (await gql<{ homeRealm: { signInUrl: string | null } }>('query($u: String!) { homeRealm(userPrincipalName: $u) { signInUrl } }', { u: userPrincipalName })).homeRealm.signInUrl;

export const beginSignIn = async (userPrincipalName: string, appName: string) =>
  (
    await gql<{ beginSignIn: BeginResult }>(
      `mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename ... on PhoneSignInStarted { ${WAITING} } ... on PasswordRequired { reason } ${ERROR} } }`,
      { i: { userPrincipalName, appName } },
    )
  ).beginSignIn;

export const signInWithPassword = async (userPrincipalName: string, password: string, appName: string) =>
  (
    await gql<{ signInWithPassword: PasswordResult }>(
      `mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { __typename ... on SignInSuccess { ${SESSION} } ... on MfaRequired { ${WAITING} } ... on FederationRedirect { signInUrl } ${ERROR} } }`,
      { i: { userPrincipalName, password, appName } },
    )
  ).signInWithPassword;

export const signInWithTemporaryAccessPass = async (userPrincipalName: string, pass: string) =>
  (
    await gql<{ signInWithTemporaryAccessPass: ({ __typename: 'SignInSuccess' } & Session) | Refusal }>(
      `mutation($i: SignInWithTemporaryAccessPassInput!) { signInWithTemporaryAccessPass(input: $i) { __typename ... on SignInSuccess { ${SESSION} } ${ERROR} } }`,
      { i: { userPrincipalName, pass } },
    )
  ).signInWithTemporaryAccessPass;

const key = (w: Waiting) => ({ i: { attemptId: w.attemptId, attemptSecret: w.attemptSecret } });

export const attemptState = async (w: Waiting) =>
  (
    await gql<{ signInAttempt: AttemptState }>(`query($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { ${ATTEMPT_FIELDS} } }`, {
      id: w.attemptId,
      s: w.attemptSecret,
    })
  ).signInAttempt;

export const completeSignIn = async (w: Waiting) =>
  (
    await gql<{ completeSignIn: ({ __typename: 'SignInSuccess' } & Session) | Refusal }>(
      `mutation($i: SignInAttemptKeyInput!) { completeSignIn(input: $i) { __typename ... on SignInSuccess { ${SESSION} } ${ERROR} } }`,
      key(w),
    )
  ).completeSignIn;

export const cancelSignIn = (w: Waiting) =>
  gql(`mutation($i: SignInAttemptKeyInput!) { cancelSignIn(input: $i) { __typename } }`, key(w));

export const viewer = async (token: string) =>
  (await gql<{ viewer: { userPrincipalName: string; displayName: string } }>('{ viewer { userPrincipalName displayName } }', {}, token)).viewer;

export const signOut = (token: string) => gql('mutation { signOut }', {}, token);
