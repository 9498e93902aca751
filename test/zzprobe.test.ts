import { it } from 'vitest';
import { createTenant, startTestServer } from './harness.js';
import { A_PHONE, addUser, allowPhoneSignIn, beginRegistration, registerPhone, deviceAuthorization } from './authenticatorClient.js';
import { AuthenticatorKeys } from '../src/sdk/authenticator.js';

it('probe', async () => {
  const t = await startTestServer();
  const a = await createTenant(t);
  const tok = a.adminToken;
  const big = 'a'.repeat(100_000);
  const probes: [string, string, any, string?][] = [
    ['user bad id', '{ user(id: "nope") { id } }', {}],
    ['users huge search', 'query($s:String){ users(search:$s) { edges { node { id } } } }', { s: big }],
    ['users first 1000', '{ users(first: 1000) { edges { node { id } } } }', {}],
    ['users first -1', '{ users(first: -1) { edges { node { id } } } }', {}],
    ['users after garbage', '{ users(after: "garbage") { edges { node { id } } } }', {}],
    ['users first+last', '{ users(first: 1, last: 1) { edges { node { id } } } }', {}],
    ['audit after garbage', '{ auditLogs(after: "abc") { edges { node { id } } } }', {}],
    ['audit big action', 'query($s:String){ auditLogs(filter:{action:$s}) { edges { node { id } } } }', { s: big }],
    ['signInLogs bad user', '{ signInLogs(filter:{userId:"nope"}) { edges { node { id } } } }', {}],
    ['audit from garbage', '{ auditLogs(filter:{from:"garbage"}) { edges { node { id } } } }', {}],
    ['createUser huge', 'mutation($i:CreateUserInput!){ createUser(input:$i){ __typename ... on Error { code message } } }', { i: { userPrincipalName: `${big}@${a.domain}`, displayName: big } }],
    ['createUser wrong domain', 'mutation($i:CreateUserInput!){ createUser(input:$i){ __typename ... on Error { code message } } }', { i: { userPrincipalName: `x@other.com`, displayName: 'x' } }],
    ['addMembers empty', 'mutation($i:GroupMembersInput!){ addGroupMembers(input:$i){ __typename ... on Error { code message } } }', { i: { groupId: 'nope', userIds: [] } }],
    ['addMembers unknown group', 'mutation($i:GroupMembersInput!){ addGroupMembers(input:$i){ __typename ... on Error { code message } } }', { i: { groupId: '00000000-0000-4000-8000-000000000000', userIds: [a.adminId] } }],
    ['policy bad enum', 'mutation($i:UpdatePhoneSignInPolicyInput!){ updatePhoneSignInPolicy(input:$i){ __typename ... on Error { code message } } }', { i: { enabled: true, includeTargets: [{ targetType: 'NOPE' }] } }],
    ['policy ALL_USERS with id', 'mutation($i:UpdatePhoneSignInPolicyInput!){ updatePhoneSignInPolicy(input:$i){ __typename ... on Error { code message } } }', { i: { enabled: true, includeTargets: [{ targetType: 'ALL_USERS', targetId: 'x' }] } }],
    ['policy GROUP bad id', 'mutation($i:UpdatePhoneSignInPolicyInput!){ updatePhoneSignInPolicy(input:$i){ __typename ... on Error { code message } } }', { i: { enabled: true, includeTargets: [{ targetType: 'GROUP', targetId: 'x' }] } }],
    ['policy 101 targets', 'mutation($i:UpdatePhoneSignInPolicyInput!){ updatePhoneSignInPolicy(input:$i){ __typename ... on Error { code message } } }', { i: { enabled: true, includeTargets: Array.from({ length: 101 }, () => ({ targetType: 'ALL_USERS' })) } }],
    ['policy null includes', 'mutation($i:UpdatePhoneSignInPolicyInput!){ updatePhoneSignInPolicy(input:$i){ __typename ... on Error { code message } } }', { i: { enabled: true, includeTargets: null } }],
    ['settings huge os', 'mutation($i:UpdateTenantSettingsInput!){ updateTenantSettings(input:$i){ __typename ... on Error { code message } } }', { i: { minimumOsVersion: { ios: '1'.repeat(5000) } } }],
    ['settings huge app', 'mutation($i:UpdateTenantSettingsInput!){ updateTenantSettings(input:$i){ __typename ... on Error { code message } } }', { i: { minimumAppVersion: '1'.repeat(50) } }],
    ['settings numberMatching null', 'mutation($i:UpdateTenantSettingsInput!){ updateTenantSettings(input:$i){ __typename ... on Error { code message } } }', { i: { numberMatching: null } }],
    ['settings empty', 'mutation($i:UpdateTenantSettingsInput!){ updateTenantSettings(input:$i){ __typename ... on Error { code message } } }', { i: {} }],
    ['tap bad user', 'mutation($i:CreateTemporaryAccessPassInput!){ createTemporaryAccessPass(input:$i){ __typename ... on Error { code message } } }', { i: { userId: 'x' } }],
    ['tap null lifetime', 'mutation($i:CreateTemporaryAccessPassInput!){ createTemporaryAccessPass(input:$i){ __typename ... on Error { code message } } }', { i: { userId: a.adminId, lifetimeMinutes: null, isUsableOnce: null } }],
    ['tap signin huge', 'mutation($i:SignInWithTemporaryAccessPassInput!){ signInWithTemporaryAccessPass(input:$i){ __typename ... on Error { code message } } }', { i: { userPrincipalName: 'x@y.com', pass: big } }, ''],
    ['fed huge url', 'mutation($i:AddFederatedDomainInput!){ addFederatedDomain(input:$i){ __typename ... on Error { code message } } }', { i: { domain: `f.${a.domain}`, signInUrl: 'https://' + big } }],
    ['fed primary', 'mutation($d:String!){ removeFederatedDomain(domain:$d){ __typename ... on Error { code message } } }', { d: a.domain }],
    ['removeMethod bad', 'mutation{ removeAuthenticationMethod(id:"x"){ __typename ... on Error { code message } } }', {}],
    ['removeMethod unknown', 'mutation{ removeAuthenticationMethod(id:"00000000-0000-4000-8000-000000000000"){ __typename ... on Error { code message } } }', {}],
    ['activate garbage', 'mutation($i:ActivateAuthenticatorInput!){ activateAuthenticator(input:$i){ __typename ... on Error { code message } } }', { i: { activationCode: 'x', device: A_PHONE, proof: 'x' } }, ''],
    ['activate huge', 'mutation($i:ActivateAuthenticatorInput!){ activateAuthenticator(input:$i){ __typename ... on Error { code message } } }', { i: { activationCode: big, device: { ...A_PHONE, osVersion: big }, proof: big } }, ''],
    ['createTenant dup', 'mutation($i:CreateTenantInput!){ createTenant(input:$i){ __typename ... on Error { code message } } }', { i: { name: 'x', domain: a.domain, adminUserPrincipalName: `z@${a.domain}`, adminPassword: 'abcdefghijk' } }, t.operatorToken],
    ['createTenant huge name', 'mutation($i:CreateTenantInput!){ createTenant(input:$i){ __typename ... on Error { code message } } }', { i: { name: big, domain: 'q.com', adminUserPrincipalName: `z@q.com`, adminPassword: 'abcdefghijk' } }, t.operatorToken],
    ['createTenant upn uppercase', 'mutation($i:CreateTenantInput!){ createTenant(input:$i){ __typename ... on Error { code message } } }', { i: { name: 'n', domain: 'Q2.com', adminUserPrincipalName: `Z@Q2.com`, adminPassword: 'abcdefghijk' } }, t.operatorToken],
  ];
  for (const [name, q, v, auth] of probes) {
    const r = await t.gql(q, v, auth === undefined ? tok : auth || undefined);
    console.log(name, r.status, JSON.stringify(r).slice(0, 400));
  }
  for (const auth of ['Device abc', 'Device a.b.c', 'Bearer x', 'Basic x', 'Bearer ' + 'a'.repeat(10000), 'Device ' + 'a'.repeat(5000)+'.b.c']) {
    const r = await t.gql('{ viewer { id } }', {}, auth);
    console.log('auth', auth.slice(0, 20), r.status, JSON.stringify(r).slice(0, 300));
  }
  await t.stop();
}, 120000);
