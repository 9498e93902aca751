import { describe, expect, it } from 'vitest';
import { addUser, registerPhone } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import { amrOf, complete, follow, onlyChallenge, respond, serverPerFile, setSettings } from './signInFlow.js';

const t = serverPerFile();

const SIGN_IN = `mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { __typename
  ... on SignInSuccess { accessToken registrationRequired } ... on MfaRequired { attemptId attemptSecret number } ... on Error { code message } } }`;
const passwordSignIn = async (userPrincipalName: string, password: string) =>
  (await t.gql(SIGN_IN, { i: { userPrincipalName, password } })).data.signInWithPassword;
const refusal = (response: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => response.errors?.[0]?.extensions;
const MFA_REGISTRATION_REQUIRED = { code: 'FORBIDDEN', reason: 'MFA_REGISTRATION_REQUIRED' };

describe('admins need a second factor', () => {
  // Attack: an admin's password, phished or reused elsewhere, signs in to the whole directory on its own.
  it('give an admin with no authenticator a session that may only register one, then push MFA', async () => {
    const tenant = await createTenant(t);
    const restricted = await passwordSignIn(tenant.adminUserPrincipalName, tenant.adminPassword);
    expect(restricted).toMatchObject({ __typename: 'SignInSuccess', registrationRequired: true });
    const token = restricted.accessToken;
    expect(amrOf(token)).toEqual(['pwd']);

    // Nothing of the admin's, over HTTP or WebSocket.
    expect(refusal(await t.gql('{ users { edges { node { id } } } }', {}, token))).toEqual(MFA_REGISTRATION_REQUIRED);
    const createUser = await t.gql(
      'mutation($i: CreateUserInput!) { createUser(input: $i) { __typename } }',
      { i: { userPrincipalName: `mallory@${tenant.domain}`, displayName: 'Mallory' } },
      token,
    );
    expect(refusal(createUser)).toEqual(MFA_REGISTRATION_REQUIRED);
    expect(createUser.errors?.[0]?.message).toMatch(/second factor.*beginAuthenticatorRegistration/);
    const alerts = follow(t.ws(token), 'subscription { securityAlerts { id } }');
    expect(await alerts.next()).toMatchObject({ errors: [{ extensions: MFA_REGISTRATION_REQUIRED }] });
    // Not even another user's security info, which an admin may otherwise read.
    const other = await addUser(t, tenant);
    expect(refusal(await t.gql('query($id: ID!) { user(id: $id) { id } }', { id: other.userId }, token))).toEqual(MFA_REGISTRATION_REQUIRED);

    // Their own security info and registering the app are open.
    const viewer = await t.gql('{ viewer { id isAdmin authenticationMethods { id } } }', {}, token);
    expect(viewer.data.viewer).toEqual({ id: tenant.adminId, isAdmin: true, authenticationMethods: [] });
    const phone = await registerPhone(t, token, { enable: false });

    // With an authenticator the password is not enough: the phone approves with its device key,
    // even though the tenant turned pushes off and no policy asks for push MFA.
    await setSettings(t, tenant.tenantId, { pushNotificationsAllowed: false });
    const mfa = await passwordSignIn(tenant.adminUserPrincipalName, tenant.adminPassword);
    expect(mfa.__typename).toBe('MfaRequired');
    const challenge = await onlyChallenge(t, phone);
    expect(challenge).toMatchObject({ id: mfa.attemptId, kind: 'PUSH_MFA' });
    expect((await respond(t, phone, challenge, { number: mfa.number, key: 'device' })).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    const done = (await complete(t, mfa)).data.completeSignIn;
    expect(done).toMatchObject({ __typename: 'SignInSuccess' });
    expect(amrOf(done.accessToken)).toEqual(['pwd', 'mfa', 'pop', 'pin']);
    expect((await t.gql('{ users { edges { node { id } } } }', {}, done.accessToken)).data.users.edges.length).toBeGreaterThanOrEqual(2);
  });

  it('narrow a password session of a user made admin, and leave other users and the operator alone', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const plain = await passwordSignIn(user.userPrincipalName, user.password);
    expect(plain).toMatchObject({ __typename: 'SignInSuccess', registrationRequired: false });
    expect((await t.gql('mutation { beginAuthenticatorRegistration { __typename } }', {}, user.token)).data.beginAuthenticatorRegistration.__typename).toBe(
      'AuthenticatorRegistration',
    );

    await t.gql('mutation($i: UpdateUserInput!) { updateUser(input: $i) { __typename } }', { i: { id: user.userId, isAdmin: true } }, tenant.adminToken);
    expect(refusal(await t.gql('{ tenant { id } }', {}, user.token))).toEqual(MFA_REGISTRATION_REQUIRED);
    expect((await t.gql('{ viewer { isAdmin } }', {}, user.token)).data.viewer).toEqual({ isAdmin: true });

    // Operator automation signs in with its token, not a password: unaffected.
    expect((await t.gql('{ __typename }', {}, t.operatorToken)).status).toBe(200);
    expect((await createTenant(t)).tenantId).toEqual(expect.any(String));
  });
});
