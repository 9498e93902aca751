import { eq } from 'drizzle-orm';
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { oidcRecords } from '../src/db/platformSchema.js';
import { addUser } from './authenticatorClient.js';
import { createTenant, signIn } from './harness.js';
import { application, redeem, registerApp, relyingParty, signInThroughApp } from './oidcFlow.js';
import { auditOf, serverPerFile } from './signInFlow.js';
import { CookieBrowser as Browser } from './support/cookieBrowser.js';

// Registering applications, home-realm discovery and the provider's records in the database.
const t = serverPerFile();

describe('registering applications', () => {
  it('validates redirect URIs: https, or http on loopback only', async () => {
    const tenant = await createTenant(t);
    const refused = await registerApp(t, tenant.adminToken, { redirectUris: ['http://app.example.com/callback'] });
    expect(refused.data.registerApplication).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
    expect(refused.data.registerApplication.message).toMatch(/use https/);
    const fragment = await registerApp(t, tenant.adminToken, { redirectUris: ['https://app.example.com/cb#x'] });
    expect(fragment.data.registerApplication.__typename).toBe('InputValidationError');
    const ok = await registerApp(t, tenant.adminToken, { redirectUris: ['https://app.example.com/cb', 'http://localhost:3000/cb', 'http://[::1]:3000/cb'] });
    expect(ok.data.registerApplication.__typename).toBe('RegisteredApplication');
  });

  it('lists and removes applications of the admin’s tenant only, audited, and removal ends their tokens', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true, name: 'Contoso CRM' });
    const list = await t.gql('{ applications { clientId name confidential firstParty tokenEndpointAuthMethod } }', {}, tenant.adminToken);
    expect(list.data.applications).toEqual([{ clientId: app.clientId, name: 'Contoso CRM', confidential: true, firstParty: true, tokenEndpointAuthMethod: 'client_secret_basic' }]);
    expect((await t.gql('{ applications { clientId } }', {}, other.adminToken)).data.applications).toEqual([]);
    const foreign = await t.gql('mutation($id: ID!) { removeApplication(clientId: $id) }', { id: app.clientId }, other.adminToken);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const config = await relyingParty(t, app);
    const flow = await signInThroughApp(t, new Browser(), config, () => signIn(t, user.userPrincipalName, user.password));
    const tokens = await redeem(config, flow.callback, flow.request);
    const removed = await t.gql(
      'mutation($id: ID!) { removeApplication(clientId: $id) }',
      { id: app.clientId },
      tenant.adminToken,
    );
    expect(removed.data.removeApplication).toBe(app.clientId);
    const leftovers = await t.server.app.db.select().from(oidcRecords).where(eq(oidcRecords.grantId, (await grantOf(tokens.access_token)) ?? ''));
    expect(leftovers).toEqual([]);
    // The client itself is gone: the token endpoint no longer knows it.
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ status: 401, cause: [{ parameters: { error: 'invalid_client' } }] });
    expect((await auditOf(t, 'application.register', app.clientId)).length).toBe(1);
    expect((await auditOf(t, 'application.remove', app.clientId)).length).toBe(1);
  });
});

/** The grant an opaque access token belongs to, read from its record. */
async function grantOf(accessToken: string) {
  const [row] = await t.server.app.db.select({ grantId: oidcRecords.grantId }).from(oidcRecords).where(eq(oidcRecords.id, accessToken));
  return row?.grantId ?? null;
}

describe('home-realm discovery', () => {
  it('tells a federated domain from the user name alone, and nothing about the user', async () => {
    const tenant = await createTenant(t);
    const added = await t.gql(
      'mutation($i: AddFederatedDomainInput!) { addFederatedDomain(input: $i) { __typename } }',
      { i: { domain: `fed-${tenant.domain}`, signInUrl: 'https://idp.fabrikam.example/sso?tenant=1' } },
      tenant.adminToken,
    );
    expect(added.data.addFederatedDomain.__typename).toBe('FederatedDomain');
    const realm = await t.gql('query($u: String!) { homeRealm(userPrincipalName: $u) { federated signInUrl } }', { u: `nobody@fed-${tenant.domain}` });
    expect(realm.data.homeRealm.federated).toBe(true);
    const url = new URL(realm.data.homeRealm.signInUrl);
    expect(url.origin + url.pathname).toBe('https://idp.fabrikam.example/sso');
    expect(url.searchParams.get('tenant')).toBe('1');
    expect(url.searchParams.get('login_hint')).toBe(`nobody@fed-${tenant.domain}`);
    const managed = await t.gql('query($u: String!) { homeRealm(userPrincipalName: $u) { federated signInUrl } }', { u: tenant.adminUserPrincipalName });
    expect(managed.data.homeRealm).toEqual({ federated: false, signInUrl: null });
  });
});

describe('provider records', () => {
  it('are forgotten by housekeeping once expired, and kept until then', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true });
    const config = await relyingParty(t, app);
    const flow = await signInThroughApp(t, new Browser(), config, () => signIn(t, user.userPrincipalName, user.password));
    await redeem(config, flow.callback, flow.request);
    const mine = async () => (await t.server.app.db.select({ model: oidcRecords.model }).from(oidcRecords).where(eq(oidcRecords.accountId, user.userId))).map((r) => r.model).sort();
    expect(await mine()).toEqual(['AccessToken', 'AuthorizationCode', 'Grant', 'RefreshToken', 'Session']);
    await t.server.runMaintenance();
    expect(await mine()).toHaveLength(5);
    // Past the refresh token's 14 days everything of this sign-in has expired; the client has no expiry.
    t.clock.advance(15 * 24 * 60 * 60);
    await t.server.runMaintenance();
    expect(await mine()).toEqual([]);
    const [registered] = await t.server.app.db.select().from(oidcRecords).where(eq(oidcRecords.id, app.clientId));
    expect(registered?.model).toBe('Client');
  });
});
