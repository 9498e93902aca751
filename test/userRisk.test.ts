import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTenant, type TestServer } from './harness.js';
import { auditOf, begin, complete, onlyChallenge, phoneUser, respond, serverPerFile, started, userRow } from './signInFlow.js';

const t = serverPerFile();

const RISKY_USERS = '{ riskyUsers(first: 20) { edges { node { user { id riskLevel riskState riskDetail } riskySignIns { userId reasonCode } } } } }';
const ERR = '... on Error { code message }';
const DISMISS = `mutation($id: ID!) { dismissUserRisk(userId: $id) { __typename ... on User { riskLevel riskState riskDetail pushMutedUntil } ${ERR} } }`;
const CONFIRM = `mutation($id: ID!) { confirmUserCompromised(userId: $id) { __typename ... on User { riskLevel riskState riskDetail } ${ERR} } }`;

async function riskyUsers(admin: { adminToken: string }) {
  const answer = await t.gql(RISKY_USERS, {}, admin.adminToken);
  if (!answer.data) throw new Error(JSON.stringify(answer.errors));
  return (answer.data.riskyUsers.edges as Array<{ node: any }>).map((e) => e.node);
}

/** A phone user who reported a sign-in request as not theirs ("this wasn't me"). */
async function reportedUser(s: TestServer) {
  const subject = await phoneUser(s);
  await started(s, subject.user.userPrincipalName);
  await respond(s, subject.phone, await onlyChallenge(s, subject.phone), { decision: 'report', number: '' });
  return subject;
}

/** A socket signed in with a user's token, acknowledged; resolves how it closed. */
async function connectedSocket(s: TestServer, token: string) {
  const socket = new WebSocket(`${s.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data) => JSON.parse(data.toString()).type === 'connection_ack' && resolve());
    socket.on('close', (code) => reject(new Error(`closed with ${code} before connection_ack`)));
  });
  return closed;
}

describe('risky users', () => {
  it('lists a user who reported fraud with the sign-in that raised it, to their own tenant only', async () => {
    const { tenant, user } = await reportedUser(t);
    const listed = (await riskyUsers(tenant)).find((r) => r.user.id === user.userId);
    expect(listed).toEqual({
      user: { id: user.userId, riskLevel: 'HIGH', riskState: 'AT_RISK', riskDetail: 'USER_REPORTED_FRAUD' },
      riskySignIns: [{ userId: user.userId, reasonCode: 'FRAUD_REPORTED' }],
    });
    const other = await createTenant(t);
    expect((await riskyUsers(other)).map((r) => r.user.id)).not.toContain(user.userId);
  });

  it('dismisses a risk: back to NONE, pushes resume, off the list, audited; a second dismissal has nothing to dismiss', async () => {
    const { tenant, user } = await reportedUser(t);
    expect((await begin(t, user.userPrincipalName)).__typename).toBe('PasswordRequired');
    const dismissed = await t.gql(DISMISS, { id: user.userId }, tenant.adminToken);
    expect(dismissed.data.dismissUserRisk).toEqual({ __typename: 'User', riskLevel: 'NONE', riskState: 'DISMISSED', riskDetail: 'ADMIN_DISMISSED', pushMutedUntil: null });
    expect((await riskyUsers(tenant)).map((r) => r.user.id)).not.toContain(user.userId);
    expect((await begin(t, user.userPrincipalName)).__typename).toBe('PhoneSignInStarted');
    const [record] = await auditOf(t, 'user.dismissRisk', user.userId);
    expect(record).toMatchObject({ result: 'SUCCESS', before: { riskLevel: 'HIGH', riskState: 'AT_RISK' }, after: { riskLevel: 'NONE', riskState: 'DISMISSED' } });

    const again = await t.gql(DISMISS, { id: user.userId }, tenant.adminToken);
    expect(again.data.dismissUserRisk).toMatchObject({ __typename: 'DomainError', code: 'USER_NOT_AT_RISK' });
  });

  // Attack: an admin of another tenant tries to clear, or to lock out, a user who is not theirs.
  it('answers NOT_FOUND for a user of another tenant and changes nothing', async () => {
    const { user } = await reportedUser(t);
    const stranger = await createTenant(t);
    for (const mutation of [DISMISS, CONFIRM]) {
      const refused = await t.gql(mutation, { id: user.userId }, stranger.adminToken);
      expect(Object.values(refused.data as object)[0]).toMatchObject({ __typename: 'DomainError', code: 'NOT_FOUND' });
    }
    expect(await userRow(t, user.userId)).toMatchObject({ riskLevel: 'HIGH', riskState: 'AT_RISK' });
    expect(await auditOf(t, 'user.confirmCompromised', user.userId)).toMatchObject([{ result: 'FAILURE', reasonCode: 'NOT_FOUND' }]);
  });

  // Attack: someone holds the user's session and has an approval they have not redeemed yet.
  it('confirms a compromise: tokens stop working, sockets close, authenticators go, open sign-ins end', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const socketClosed = connectedSocket(t, user.token);
    const attempt = await started(t, user.userPrincipalName);
    await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });

    const confirmed = await t.gql(CONFIRM, { id: user.userId }, tenant.adminToken);
    expect(confirmed.data.confirmUserCompromised).toEqual({ __typename: 'User', riskLevel: 'HIGH', riskState: 'CONFIRMED_COMPROMISED', riskDetail: 'ADMIN_CONFIRMED_COMPROMISED' });
    expect(await (await socketClosed)).toEqual({ code: 4401, reason: 'Unauthorized: this session was signed out. Sign in again.' });
    expect((await t.gql('{ viewer { id } }', {}, user.token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await complete(t, attempt)).data.completeSignIn).toMatchObject({ code: 'SIGN_IN_NOT_APPROVED' });
    // No authenticator left: phone sign-in falls back to the password, and the user must register again.
    expect((await begin(t, user.userPrincipalName)).__typename).toBe('PasswordRequired');
    const methods = await t.gql('query($id: ID!) { user(id: $id) { authenticationMethods { id } } }', { id: user.userId }, tenant.adminToken);
    expect(methods.data.user.authenticationMethods).toEqual([]);
    expect((await riskyUsers(tenant)).find((r) => r.user.id === user.userId)?.user.riskState).toBe('CONFIRMED_COMPROMISED');
    const [record] = await auditOf(t, 'user.confirmCompromised', user.userId);
    expect(record).toMatchObject({ result: 'SUCCESS', after: { riskLevel: 'HIGH', riskState: 'CONFIRMED_COMPROMISED', sessionsRevoked: 1 } });
  });
});
