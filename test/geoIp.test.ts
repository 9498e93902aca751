import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import maxmind, { Reader } from 'maxmind';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { createTenant, type TestServer, startTestServer } from './harness.js';
import { onlyChallenge, phoneUser, setSettings, signInLogsOf } from './signInFlow.js';
import { buildMmdb, double, type MmdbEntry } from './support/mmdb.js';

const LONDON = {
  city: { geoname_id: 2643743, names: { en: 'London' } },
  country: { geoname_id: 2635167, iso_code: 'GB', names: { en: 'United Kingdom' } },
  location: { accuracy_radius: 10, latitude: double(51.5142), longitude: double(-0.0931) },
  subdivisions: [{ iso_code: 'ENG', names: { en: 'England' } }],
};
const SWEDEN = { country: { geoname_id: 2661886, iso_code: 'SE', names: { en: 'Sweden' } } };
const ENTRIES: MmdbEntry[] = [
  { network: '81.2.69.0/24', data: LONDON },
  // Inside the London /24: the longer prefix wins.
  { network: '81.2.69.192/28', data: { city: { names: { en: 'Croydon' } }, country: LONDON.country } },
  { network: '2a02:d8::/32', data: SWEDEN },
];

const dir = mkdtempSync(join(tmpdir(), 'geoip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const writeDatabase = (bytes: Buffer | string) => {
  const path = join(dir, `db-${++files}.mmdb`);
  writeFileSync(path, bytes);
  return path;
};

describe('the test MaxMind DB writer, read back by the maxmind package', () => {
  const bytes = buildMmdb(ENTRIES, { buildEpoch: 1_700_000_000, description: { en: 'Geo test' } });

  it('writes metadata a reader accepts', () => {
    expect(new Reader(bytes).metadata).toMatchObject({
      binaryFormatMajorVersion: 2,
      binaryFormatMinorVersion: 0,
      buildEpoch: new Date(1_700_000_000_000),
      databaseType: 'GeoLite2-City',
      description: { en: 'Geo test' },
      ipVersion: 6,
      languages: ['en'],
      recordSize: 24,
      nodeByteSize: 6,
    });
  });

  it('finds IPv4 networks under ::/96 and IPv6 networks, and nothing outside them', async () => {
    const db = await maxmind.open(writeDatabase(bytes));
    expect(db.get('81.2.69.160')).toEqual({ ...LONDON, location: { accuracy_radius: 10, latitude: 51.5142, longitude: -0.0931 } });
    expect(db.getWithPrefixLength('81.2.69.0')).toEqual([expect.objectContaining({ city: LONDON.city }), 25]);
    expect(db.getWithPrefixLength('81.2.69.200')).toEqual([{ city: { names: { en: 'Croydon' } }, country: LONDON.country }, 28]);
    expect(db.get('::81.2.69.160')).toMatchObject({ city: { names: { en: 'London' } } });
    expect(db.getWithPrefixLength('2a02:d8:1234::1')).toEqual([SWEDEN, 32]);
    for (const outside of ['81.2.68.255', '81.2.70.0', '1.2.3.4', '127.0.0.1', '2a02:d9::1', '::1']) expect(db.get(outside)).toBeNull();
  });

  it('encodes every size class of field and the other types it offers', () => {
    const data = { short: 'x'.repeat(28), medium: 'é'.repeat(200), long: 'y'.repeat(70_000), counts: [0, 65_535, 65_536, 4_294_967_295], big: 2n ** 64n - 1n, flags: [true, false] };
    expect(new Reader(buildMmdb([{ network: '2001:db8::/126', data }])).get('2001:db8::3')).toEqual(data);
  });

  it('keeps whole-number doubles as doubles and stores each record once', () => {
    const db = new Reader(buildMmdb([{ network: '10.0.0.0/8', data: { location: { latitude: double(51), longitude: 0.5 } } }]));
    expect(db.get('10.1.2.3')).toEqual({ location: { latitude: 51, longitude: 0.5 } });
    const once = buildMmdb([{ network: '10.0.0.0/8', data: SWEDEN }]);
    const twice = buildMmdb([{ network: '10.0.0.0/8', data: SWEDEN }, { network: '11.0.0.0/8', data: SWEDEN }]);
    const dataBytes = (b: Buffer) => b.length - new Reader(b).metadata.searchTreeSize;
    expect(dataBytes(twice)).toBe(dataBytes(once));
  });
});

const BEGIN = `mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename ... on PhoneSignInStarted { attemptId } ... on PasswordRequired { reason } } }`;
const SIGN_INS = `query($filter: SignInLogFilter) { signInLogs(filter: $filter) { edges { node { method ipAddress location } } } }`;

/** beginSignIn from a browser behind whatever sends `X-Forwarded-For`; the phone's view of the challenge. */
async function beginFrom(t: TestServer, forwardedFor: string | undefined, tenant?: Awaited<ReturnType<typeof createTenant>>) {
  const { user, phone, tenant: d } = await phoneUser(t, tenant);
  const begun = await t.gql(BEGIN, { i: { userPrincipalName: user.userPrincipalName, appName: 'Contoso Mail' } }, undefined, forwardedFor ? { 'x-forwarded-for': forwardedFor } : {});
  expect(begun.data?.beginSignIn?.__typename).toBe('PhoneSignInStarted');
  const challenge = await onlyChallenge(t, phone);
  // The user's other rows are set-up password sign-ins from the test itself.
  const [log, ...more] = (await signInLogsOf(t, { userId: user.userId })).filter((row) => row.method === 'PHONE_SIGN_IN');
  expect(more).toEqual([]);
  return { challenge, log, user, tenant: d };
}

describe('sign-in location behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ GEOIP_DATABASE: writeDatabase(buildMmdb(ENTRIES)), TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(() => t.stop());

  it('places the forwarded client address on the phone and in the sign-in log', async () => {
    const { challenge, log, user, tenant } = await beginFrom(t, '81.2.69.160');
    expect(challenge).toMatchObject({ ipAddress: '81.2.69.160', location: 'London, England, United Kingdom', appName: 'Contoso Mail' });
    expect(log).toMatchObject({ method: 'PHONE_SIGN_IN', ipAddress: '81.2.69.160', location: 'London, England, United Kingdom' });
    const admin = await t.gql(SIGN_INS, { filter: { userId: user.userId, method: 'PHONE_SIGN_IN' } }, tenant.adminToken);
    expect(admin.data.signInLogs.edges.map((e: any) => e.node)).toEqual([{ method: 'PHONE_SIGN_IN', ipAddress: '81.2.69.160', location: 'London, England, United Kingdom' }]);
  });

  // Attack: the browser sends its own X-Forwarded-For naming another address; the proxy appends
  // the real one. Only the hop the trusted proxy added is believed.
  it('takes the rightmost untrusted hop, not a spoofed entry on the left', async () => {
    const { challenge, log } = await beginFrom(t, '1.2.3.4, 81.2.69.160');
    expect(challenge).toMatchObject({ ipAddress: '81.2.69.160', location: 'London, England, United Kingdom' });
    expect(log).toMatchObject({ ipAddress: '81.2.69.160' });
  });

  it('places IPv6 and IPv4-mapped IPv6 clients, and says "unknown" for an address the database lacks', async () => {
    expect((await beginFrom(t, '2a02:d8::7')).challenge).toMatchObject({ ipAddress: '2a02:d8::7', location: 'Sweden' });
    expect((await beginFrom(t, '::ffff:81.2.69.200')).challenge).toMatchObject({ ipAddress: '81.2.69.200', location: 'Croydon, United Kingdom' });
    const { challenge, log } = await beginFrom(t, '8.8.8.8');
    expect(challenge).toMatchObject({ ipAddress: '8.8.8.8', location: 'unknown' });
    expect(log).toMatchObject({ ipAddress: '8.8.8.8', location: 'unknown' });
  });

  it('shows neither place nor address on the phone when the tenant turns the location off; the log keeps both', async () => {
    const tenant = await createTenant(t);
    await setSettings(t, tenant.tenantId, { showGeographicLocation: false });
    const { challenge, log } = await beginFrom(t, '81.2.69.160', tenant);
    expect(challenge).toMatchObject({ location: null, ipAddress: null, appName: 'Contoso Mail' });
    expect(log).toMatchObject({ ipAddress: '81.2.69.160', location: 'London, England, United Kingdom' });
  });
});

describe('sign-in location without a trusted proxy', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ GEOIP_DATABASE: writeDatabase(buildMmdb(ENTRIES)) });
  });
  afterAll(() => t.stop());

  // Attack: a browser connecting directly claims to be somewhere else with X-Forwarded-For.
  it('ignores X-Forwarded-For and uses the socket address', async () => {
    const { challenge, log } = await beginFrom(t, '81.2.69.160');
    expect(challenge).toMatchObject({ ipAddress: '127.0.0.1', location: 'unknown' });
    expect(log).toMatchObject({ ipAddress: '127.0.0.1', location: 'unknown' });
  });
});

describe('GEOIP_DATABASE at start-up', () => {
  // The check runs before the port opens and the database is touched, so startServer alone shows it.
  const startWith = (path: string) =>
    startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: 'memory://', LOG_LEVEL: 'silent', GEOIP_DATABASE: path }));
  const refusal = async (path: string) => {
    const error = await startWith(path).then(
      async (server) => {
        await server.stop();
        throw new Error(`started with GEOIP_DATABASE=${path}`);
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(1);
    return (error as ConfigError).problems[0]!;
  };
  const good = buildMmdb(ENTRIES);
  const treeSize = new Reader(good).metadata.searchTreeSize;

  it('refuses a file that does not exist', async () => {
    const path = join(dir, 'missing.mmdb');
    expect(await refusal(path)).toBe(`GEOIP_DATABASE must name a MaxMind DB (.mmdb) file; "${path}" does not exist.`);
  });

  it('refuses a directory', async () => {
    const path = join(dir, 'a-directory');
    mkdirSync(path);
    expect(await refusal(path)).toMatch(/^GEOIP_DATABASE .* is a directory\.$/);
  });

  it('refuses files that are not a MaxMind DB', async () => {
    for (const bytes of ['', 'city,country\nLondon,GB\n', Buffer.alloc(4096), good.subarray(0, treeSize)]) {
      expect(await refusal(writeDatabase(bytes))).toMatch(/^GEOIP_DATABASE must name a MaxMind DB \(\.mmdb\) file; ".*" is not one \(.+\)\.$/);
    }
  });

  it('refuses a file whose search tree does not end where its metadata says', async () => {
    // The metadata survives at the end; the start of the file (part of the tree) is gone.
    expect(await refusal(writeDatabase(good.subarray(60)))).toMatch(/is damaged \(no data section after the search tree\)\.$/);
  });

  it('starts with a good file', async () => {
    const server = await startWith(writeDatabase(good));
    try {
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
