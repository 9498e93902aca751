import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RiskSettings } from '../src/domain/risk.js';
import type { AuthenticatorKeys } from '../src/sdk/authenticator.js';
import { deviceAuthorization } from './authenticatorClient.js';
import { createTenant, type TestServer, startTestServer } from './harness.js';
import { type Challenge, phoneUser, setPolicy, signResponse, userRow } from './signInFlow.js';
import { buildMmdb, double, type MmdbEntry } from './support/mmdb.js';

// Attack: a look-alike page relays the victim's user name to the real sign-in page from the
// attacker's own machine, far from the victim, and the victim approves the push it causes. The
// server compares where the sign-in comes from with where the user signed in before, and where the
// phone answers from with where the browser is, and warns on the phone or holds the sign-in back
// as the tenant set each signal.

const city = (name: string, code: string, country: string, latitude: number, longitude: number, accuracy = 20) => ({
  city: { names: { en: name } },
  country: { iso_code: code, names: { en: country } },
  location: { accuracy_radius: accuracy, latitude: double(latitude), longitude: double(longitude) },
});
const ENTRIES: MmdbEntry[] = [
  { network: '81.2.69.0/24', data: city('London', 'GB', 'United Kingdom', 51.5142, -0.0931) },
  { network: '81.2.70.0/24', data: city('Manchester', 'GB', 'United Kingdom', 53.4808, -2.2426) },
  { network: '1.128.0.0/16', data: city('Sydney', 'AU', 'Australia', -33.8688, 151.2093) },
  // A hosting provider's network in London: an anonymising network where the data marks it.
  { network: '185.220.101.0/24', data: { ...city('London', 'GB', 'United Kingdom', 51.5142, -0.0931), traits: { is_hosting_provider: true } } },
];
const LONDON = '81.2.69.160';
const LONDON_AGAIN = '81.2.69.161';
const MANCHESTER = '81.2.70.9';
const SYDNEY = '1.128.0.7';
const LONDON_HOSTING = '185.220.101.4';

const dir = mkdtempSync(join(tmpdir(), 'risk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BEGIN = `mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename ... on PhoneSignInStarted { attemptId attemptSecret number } ... on PasswordRequired { reason } } }`;
const PENDING = `{ pendingPhoneSignInChallenges { id nonce location riskWarning } }`;
const RESPOND = `mutation($i: RespondToPhoneSignInChallengeInput!) { respondToPhoneSignInChallenge(input: $i) { __typename ... on SignInAttempt { status failureReason } ... on Error { code message } } }`;
const COMPLETE = `mutation($i: SignInAttemptKeyInput!) { completeSignIn(input: $i) { __typename } }`;
const LOGS = `query($f: SignInLogFilter) { signInLogs(filter: $f, first: 20) { edges { node { id method status reasonCode ipAddress location countryCode city riskLevel riskSignals { type action description place comparedPlace distanceKm speedKmh minutesSince days ipAddress detail } } } } }`;
const SETTINGS = `mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) { __typename ... on InputValidationError { issues { path } } ... on TenantSettings { riskDetection { impossibleTravel unfamiliarLocation familiarDays newIpAddress anonymousNetwork browserPhoneApart browserPhoneApartKm } } ... on Error { code message } } }`;

type Tenant = Awaited<ReturnType<typeof createTenant>>;
type User = Awaited<ReturnType<typeof phoneUser>>;
const from = (ip: string | undefined): Record<string, string> => (ip ? { 'x-forwarded-for': ip } : {});

async function begin(t: TestServer, u: User, browserIp: string) {
  const result = await t.gql(BEGIN, { i: { userPrincipalName: u.user.userPrincipalName, appName: 'Contoso Mail' } }, undefined, from(browserIp));
  return result.data.beginSignIn;
}

async function pendingChallenges(t: TestServer, phone: AuthenticatorKeys): Promise<Challenge[]> {
  return (await t.gql(PENDING, {}, await deviceAuthorization(t, phone))).data.pendingPhoneSignInChallenges;
}

/** The phone approves with the right number, from `phoneIp` (or from the test's own address). */
async function approve(t: TestServer, u: User, challenge: Challenge, number: string, phoneIp?: string) {
  const response = await signResponse(t, u.phone, challenge, { number });
  return (await t.gql(RESPOND, { i: { response } }, await deviceAuthorization(t, u.phone), from(phoneIp))).data.respondToPhoneSignInChallenge;
}

/** A whole phone sign-in from `browserIp`, approved by a phone at `phoneIp`, redeemed: history for the next one. */
async function signInFrom(t: TestServer, u: User, browserIp: string, phoneIp?: string) {
  const started = await begin(t, u, browserIp);
  expect(started.__typename).toBe('PhoneSignInStarted');
  const [challenge] = await pendingChallenges(t, u.phone);
  expect(await approve(t, u, challenge!, started.number, phoneIp)).toMatchObject({ status: 'APPROVED' });
  expect((await t.gql(COMPLETE, { i: { attemptId: started.attemptId, attemptSecret: started.attemptSecret } })).data.completeSignIn.__typename).toBe('SignInSuccess');
  return challenge!;
}

/** The user's phone sign-ins in the admin's sign-in log, newest first. */
async function phoneLogs(t: TestServer, u: User) {
  const result = await t.gql(LOGS, { f: { userId: u.user.userId, method: 'PHONE_SIGN_IN' } }, u.tenant.adminToken);
  expect(result.errors).toBeUndefined();
  return result.data.signInLogs.edges.map((e: any) => e.node);
}

async function setRisk(t: TestServer, tenant: Tenant, change: Partial<RiskSettings>) {
  const result = await t.gql(SETTINGS, { i: { riskDetection: change } }, tenant.adminToken);
  expect(result.data.updateTenantSettings.riskDetection).toMatchObject(change);
}

const ALL_OFF: Partial<RiskSettings> = { impossibleTravel: 'OFF', unfamiliarLocation: 'OFF', newIpAddress: 'OFF', anonymousNetwork: 'OFF', browserPhoneApart: 'OFF' };

const RISKY_USERS = '{ riskyUsers(first: 20) { edges { node { user { id riskLevel riskState riskDetail } riskySignIns { id } } } } }';

describe('risk signals with a city-level MaxMind database (TRUSTED_PROXIES=127.0.0.1)', () => {
  let t: TestServer;
  beforeAll(async () => {
    const path = join(dir, 'city.mmdb');
    writeFileSync(path, buildMmdb(ENTRIES));
    t = await startTestServer({ GEOIP_DATABASE: path, TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(() => t.stop());

  it('has the documented defaults: travel, place and address warn; the others are off', async () => {
    const tenant = await createTenant(t);
    const result = await t.gql(`{ tenant { settings { riskDetection { impossibleTravel unfamiliarLocation familiarDays newIpAddress anonymousNetwork browserPhoneApart browserPhoneApartKm } } } }`, {}, tenant.adminToken);
    expect(result.data.tenant.settings.riskDetection).toEqual({
      impossibleTravel: 'WARN',
      unfamiliarLocation: 'WARN',
      familiarDays: 30,
      newIpAddress: 'WARN',
      anonymousNetwork: 'OFF',
      browserPhoneApart: 'OFF',
      browserPhoneApartKm: 500,
    });
    for (const [input, field] of [[{ familiarDays: 0 }, 'familiarDays'], [{ browserPhoneApartKm: 20_001 }, 'browserPhoneApartKm']] as const) {
      const refused = (await t.gql(SETTINGS, { i: { riskDetection: input } }, tenant.adminToken)).data.updateTenantSettings;
      expect(refused).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT', issues: [{ path: ['input', 'riskDetection', field] }] });
    }
  });

  it('warns on the phone about a sign-in from Sydney 2 minutes after one from London, with the evidence in the log', async () => {
    const u = await phoneUser(t);
    await signInFrom(t, u, LONDON);
    t.clock.advance(120);
    const started = await begin(t, u, SYDNEY);
    expect(started.__typename).toBe('PhoneSignInStarted');
    const [challenge] = await pendingChallenges(t, u.phone);
    expect(challenge!.location).toBe('Sydney, Australia');
    expect(challenge!.riskWarning).toBe(
      'This sign-in is from Sydney, Australia, 17,000 km from your last sign-in (London, United Kingdom) 2 minutes before it. ' +
        'This sign-in is from Sydney, Australia, where you have not signed in during the last 30 days. ' +
        'This sign-in comes from an address (1.128.0.7) you have not signed in from during the last 30 days.',
    );
    const [sydney, london] = await phoneLogs(t, u);
    expect(london).toMatchObject({ status: 'SUCCESS', countryCode: 'GB', city: 'London' });
    expect(sydney).toMatchObject({ status: 'IN_PROGRESS', ipAddress: SYDNEY, countryCode: 'AU', city: 'Sydney', riskLevel: 'HIGH' });
    const [travel, place, address] = sydney.riskSignals;
    expect(travel).toMatchObject({ type: 'IMPOSSIBLE_TRAVEL', action: 'WARN', place: 'Sydney, Australia', comparedPlace: 'London, United Kingdom', minutesSince: 2, ipAddress: SYDNEY });
    expect(travel.distanceKm).toBeGreaterThan(16_900);
    expect(travel.distanceKm).toBeLessThan(17_100);
    // (16,990 - 2 × 20 km of accuracy) / (2 min) ≈ 508,000 km/h.
    expect(travel.speedKmh).toBeGreaterThan(500_000);
    expect(place).toMatchObject({ type: 'UNFAMILIAR_LOCATION', action: 'WARN', detail: 'COUNTRY', days: 30 });
    expect(address).toMatchObject({ type: 'NEW_IP_ADDRESS', action: 'WARN', ipAddress: SYDNEY, days: 30 });
    // Answering from the browser's own place raises nothing more, and the sign-in goes through.
    expect(await approve(t, u, challenge!, started.number, SYDNEY)).toMatchObject({ status: 'APPROVED' });
    // The HIGH sign-in raised the user's own risk: the admin finds them among the risky users, with it as the reason.
    const risky = await t.gql(RISKY_USERS, {}, u.tenant.adminToken);
    const listed = risky.data.riskyUsers.edges.map((e: any) => e.node).find((node: any) => node.user.id === u.user.userId);
    expect(listed.user).toMatchObject({ riskLevel: 'HIGH', riskState: 'AT_RISK', riskDetail: 'RISKY_SIGN_IN' });
    expect(listed.riskySignIns.map((log: any) => log.id)).toEqual([sydney.id]);
  });

  it('raises nothing when every signal is off', async () => {
    const u = await phoneUser(t);
    await setRisk(t, u.tenant, ALL_OFF);
    await signInFrom(t, u, LONDON);
    expect((await begin(t, u, SYDNEY)).__typename).toBe('PhoneSignInStarted');
    expect((await pendingChallenges(t, u.phone))[0]!.riskWarning).toBeNull();
    expect((await phoneLogs(t, u))[0]).toMatchObject({ riskLevel: 'NONE', riskSignals: [] });
  });

  /** After a London sign-in, `setting` alone set to BLOCK, a sign-in from `ip` is held back by `type`. */
  async function heldBack(setting: Partial<RiskSettings>, ip: string, type: string) {
    const u = await phoneUser(t);
    await signInFrom(t, u, LONDON);
    await setRisk(t, u.tenant, { ...ALL_OFF, ...setting });
    t.clock.advance(60);
    // The browser is told what anyone without phone sign-in is told, nothing more.
    expect(await begin(t, u, ip)).toEqual({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });
    expect(await pendingChallenges(t, u.phone)).toEqual([]);
    const [log] = await phoneLogs(t, u);
    expect(log).toMatchObject({ status: 'INTERRUPTED', reasonCode: 'RISK_HELD_BACK', ipAddress: ip });
    expect(log.riskSignals.map((s: any) => [s.type, s.action])).toEqual([[type, 'BLOCK']]);
    // The user is told in their security info, with the same sentence.
    const viewer = await t.gql(`{ viewer { suppressedSignInRequests { reason ipAddress detail } } }`, {}, u.user.token);
    expect(viewer.data.viewer.suppressedSignInRequests).toEqual([{ reason: 'RISK_HELD_BACK', ipAddress: ip, detail: log.riskSignals[0].description }]);
    return log;
  }

  it('holds back impossible travel set to BLOCK', async () => {
    const log = await heldBack({ impossibleTravel: 'BLOCK' }, SYDNEY, 'IMPOSSIBLE_TRAVEL');
    expect(log.riskLevel).toBe('HIGH');
    expect(log.riskSignals[0]).toMatchObject({ place: 'Sydney, Australia', comparedPlace: 'London, United Kingdom', minutesSince: 1 });
    expect(log.riskSignals[0].description).toBe('This sign-in is from Sydney, Australia, 17,000 km from your last sign-in (London, United Kingdom) 1 minute before it.');
  });

  it('holds back an unfamiliar city set to BLOCK', async () => {
    const log = await heldBack({ unfamiliarLocation: 'BLOCK' }, MANCHESTER, 'UNFAMILIAR_LOCATION');
    expect(log).toMatchObject({ riskLevel: 'LOW', city: 'Manchester' });
    expect(log.riskSignals[0]).toMatchObject({ detail: 'CITY', place: 'Manchester, United Kingdom', days: 30 });
  });

  it('holds back a new address set to BLOCK', async () => {
    const log = await heldBack({ newIpAddress: 'BLOCK' }, LONDON_AGAIN, 'NEW_IP_ADDRESS');
    expect(log.riskSignals[0]).toMatchObject({ ipAddress: LONDON_AGAIN, place: 'London, United Kingdom' });
  });

  it('holds back an anonymising network set to BLOCK, and warns about it with WARN', async () => {
    const log = await heldBack({ anonymousNetwork: 'BLOCK' }, LONDON_HOSTING, 'ANONYMOUS_NETWORK');
    expect(log).toMatchObject({ riskLevel: 'MEDIUM' });
    expect(log.riskSignals[0]).toMatchObject({ detail: 'HOSTING_PROVIDER' });

    const u = await phoneUser(t);
    await setRisk(t, u.tenant, { ...ALL_OFF, anonymousNetwork: 'WARN' });
    expect((await begin(t, u, LONDON_HOSTING)).__typename).toBe('PhoneSignInStarted');
    expect((await pendingChallenges(t, u.phone))[0]!.riskWarning).toBe(
      'This sign-in comes through a network that hides where it really is (a hosting provider, proxy, VPN or Tor).',
    );
  });

  it('logs a phone answering far from the browser with WARN, and lets the approval through', async () => {
    const u = await phoneUser(t);
    await setRisk(t, u.tenant, { ...ALL_OFF, browserPhoneApart: 'WARN' });
    await signInFrom(t, u, LONDON, SYDNEY);
    const [log] = await phoneLogs(t, u);
    expect(log).toMatchObject({ status: 'SUCCESS', riskLevel: 'HIGH' });
    expect(log.riskSignals).toEqual([
      expect.objectContaining({ type: 'BROWSER_PHONE_APART', action: 'WARN', place: 'London, United Kingdom', comparedPlace: 'Sydney, Australia', ipAddress: SYDNEY }),
    ]);
    expect(log.riskSignals[0].distanceKm).toBeGreaterThan(16_900);
  });

  it('refuses an approval from a phone far from the browser with BLOCK, and lets a near one through', async () => {
    const u = await phoneUser(t);
    await setRisk(t, u.tenant, { ...ALL_OFF, browserPhoneApart: 'BLOCK', browserPhoneApartKm: 100 });
    // Manchester is 260 km from London: farther than 100 km even after both accuracy radii.
    const started = await begin(t, u, LONDON);
    const [challenge] = await pendingChallenges(t, u.phone);
    const refused = await approve(t, u, challenge!, started.number, MANCHESTER);
    expect(refused).toMatchObject({ __typename: 'DomainError', code: 'SIGN_IN_REFUSED_FOR_RISK' });
    expect(refused.message).toMatch(/^The browser \(London, United Kingdom\) is 260 km from this phone \(Manchester, United Kingdom\)\. .*If it was you, sign in on a device near this phone\.$/);
    const attempt = await t.gql(`query($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { status failureReason } }`, { id: started.attemptId, s: started.attemptSecret });
    expect(attempt.data.signInAttempt).toEqual({ status: 'DENIED', failureReason: 'BROWSER_PHONE_APART' });
    const [log] = await phoneLogs(t, u);
    expect(log).toMatchObject({ status: 'FAILURE', reasonCode: 'BROWSER_PHONE_APART', riskLevel: 'HIGH' });
    expect(log.riskSignals).toEqual([expect.objectContaining({ type: 'BROWSER_PHONE_APART', action: 'BLOCK', comparedPlace: 'Manchester, United Kingdom', ipAddress: MANCHESTER })]);
    // Not the user's failure: it does not count towards their lockout.
    expect((await userRow(t, u.user.userId)).failedSignIns).toBe(0);
    // The same answer again gets the stored outcome.
    expect(await approve(t, u, challenge!, started.number, MANCHESTER)).toMatchObject({ status: 'DENIED', failureReason: 'BROWSER_PHONE_APART' });

    await signInFrom(t, u, LONDON, LONDON_AGAIN);
    expect((await phoneLogs(t, u))[0]).toMatchObject({ status: 'SUCCESS', riskSignals: [] });
  });

  // A password relayed from a look-alike page: the push MFA it causes is assessed like a phone sign-in's push.
  it('warns on the push MFA after a password from Sydney, with BLOCK holds it back (MFA_UNAVAILABLE, reason untold) with the evidence in the log, and only warns of a new place', async () => {
    const u = await phoneUser(t);
    await signInFrom(t, u, LONDON);
    await setPolicy(t, u.tenant, 'PUSH', [u.user.userId]);
    t.clock.advance(120);
    const password = (ip: string) =>
      t.gql(`mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { __typename ... on MfaRequired { number } ... on Error { code message } } }`, { i: { userPrincipalName: u.user.userPrincipalName, password: u.user.password } }, undefined, from(ip));
    const mfa = (await password(SYDNEY)).data.signInWithPassword;
    expect(mfa.__typename).toBe('MfaRequired');
    const [challenge] = await pendingChallenges(t, u.phone);
    expect(challenge!.riskWarning).toMatch(/^This sign-in is from Sydney, Australia, 17,000 km from your last sign-in \(London, United Kingdom\) 2 minutes before it\./);
    const mfaLogs = async () => (await t.gql(LOGS, { f: { userId: u.user.userId, method: 'PUSH_MFA' } }, u.tenant.adminToken)).data.signInLogs.edges.map((e: any) => e.node);
    expect((await mfaLogs())[0]).toMatchObject({ status: 'IN_PROGRESS', riskLevel: 'HIGH', city: 'Sydney' });
    expect(await approve(t, u, challenge!, mfa.number)).toMatchObject({ status: 'APPROVED' });

    await setRisk(t, u.tenant, { ...ALL_OFF, impossibleTravel: 'BLOCK' });
    t.clock.advance(120);
    const held = (await password(SYDNEY)).data.signInWithPassword;
    // Whoever holds the password is not told why: it may be the relaying attacker.
    expect(held).toEqual({ __typename: 'DomainError', code: 'MFA_UNAVAILABLE', message: 'Your phone cannot be asked to approve this sign-in. If you need to sign in now, ask your administrator.' });
    expect(await pendingChallenges(t, u.phone)).toEqual([]);
    const [log] = await mfaLogs();
    expect(log).toMatchObject({ status: 'FAILURE', reasonCode: 'RISK_HELD_BACK', ipAddress: SYDNEY, riskLevel: 'HIGH' });
    expect(log.riskSignals.map((signal: any) => [signal.type, signal.action])).toEqual([['IMPOSSIBLE_TRAVEL', 'BLOCK']]);

    // A new place or address set to BLOCK only warns after the password: else a user whose phone
    // sign-in it held back could never sign in from there, and the place never become familiar.
    await setRisk(t, u.tenant, { ...ALL_OFF, unfamiliarLocation: 'BLOCK', newIpAddress: 'BLOCK' });
    expect((await password(MANCHESTER)).data.signInWithPassword.__typename).toBe('MfaRequired');
    expect((await pendingChallenges(t, u.phone))[0]!.riskWarning).toMatch(/^This sign-in is from Manchester, United Kingdom, where you have not signed in during the last 30 days\./);
    expect((await mfaLogs())[0].riskSignals.map((signal: any) => [signal.type, signal.action])).toEqual([['UNFAMILIAR_LOCATION', 'WARN'], ['NEW_IP_ADDRESS', 'WARN']]);
  });
});

describe('IP location out of the box (no GEOIP_DATABASE)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(() => t.stop());

  it('places a public address in its country, and warns of a new country', async () => {
    const u = await phoneUser(t);
    const challenge = await signInFrom(t, u, LONDON);
    expect(challenge.location).toBe('United Kingdom');
    expect((await phoneLogs(t, u))[0]).toMatchObject({ location: 'United Kingdom', countryCode: 'GB', city: null });
    t.clock.advance(3600);
    // An address of Telstra, in Australia by the bundled data.
    expect((await begin(t, u, '139.130.4.5')).__typename).toBe('PhoneSignInStarted');
    const [next] = await pendingChallenges(t, u.phone);
    expect(next).toMatchObject({ location: 'Australia' });
    expect(next!.riskWarning).toMatch(/^This sign-in is from Australia, where you have not signed in during the last 30 days\./);
  });
});
