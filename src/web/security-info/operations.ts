import { ApiError, gql } from '../shared/api.js';

/** What Security info asks of the API, on the signed-in user's access token. */

export interface Method {
  id: string;
  kind: string;
  displayName: string;
  platform: string;
  osVersion: string;
  appVersion: string;
  createdAt: string;
  lastUsedAt: string | null;
  phoneSignInEnabled: boolean;
}

export interface Viewer {
  userPrincipalName: string;
  displayName: string;
  authenticationMethods: Method[];
  phoneSignInPolicy: { phoneSignInAllowed: boolean; remedy: string | null } | null;
}

export interface Registration {
  activationUrl: string;
  expiresAt: string;
}

const ERROR = '... on Error { code message }';
const METHOD = 'id kind displayName platform osVersion appVersion createdAt lastUsedAt phoneSignInEnabled';

/** A typed error result becomes the ApiError the page shows, with the service's sentence. */
function unwrap<T extends { __typename: string }>(result: T | { __typename: string; code: string; message: string }, expected: string): T {
  if (result.__typename === expected) return result as T;
  const error = result as { code?: string; message?: string };
  throw new ApiError(error.message ?? 'The service refused this. Try again.', error.code ?? 'ERROR');
}

export const viewer = async (token: string) =>
  (
    await gql<{ viewer: Viewer }>(
      `{ viewer { userPrincipalName displayName authenticationMethods { ${METHOD} } phoneSignInPolicy { phoneSignInAllowed remedy } } }`,
      {},
      token,
    )
  ).viewer;

/** Only the method ids: what the page polls while it waits for the app to activate. */
export const methodIds = async (token: string) =>
  (await gql<{ viewer: { authenticationMethods: Array<{ id: string; displayName: string }> } }>('{ viewer { authenticationMethods { id displayName } } }', {}, token)).viewer
    .authenticationMethods;

export async function beginRegistration(token: string): Promise<Registration> {
  const data = await gql<{ beginAuthenticatorRegistration: Registration & { __typename: string } }>(
    `mutation { beginAuthenticatorRegistration { __typename ... on AuthenticatorRegistration { activationUrl expiresAt } ${ERROR} } }`,
    {},
    token,
  );
  return unwrap(data.beginAuthenticatorRegistration, 'AuthenticatorRegistration');
}

export async function removeMethod(token: string, id: string): Promise<void> {
  const data = await gql<{ removeAuthenticationMethod: { __typename: string } }>(
    `mutation($id: ID!) { removeAuthenticationMethod(id: $id) { __typename ${ERROR} } }`,
    { id },
    token,
  );
  unwrap(data.removeAuthenticationMethod, 'RemovedAuthenticationMethod');
}
