import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupCodes } from '../src/db/platformSchema.js';
import { SETUP_CODE_MAX_FAILURES, issueSetupCode } from '../src/services/firstRun.js';
import { startTestServer } from './harness.js';
import { passwordSignIn, serverPerFile } from './signInFlow.js';
import { type ChildServer, startChildServer, untilReady } from './support/childServer.js';
import { BROWSER_TEST_TIMEOUT_MS, type TestBrowser, ensureWebBuilt, hasChromium, launchBrowser } from './support/browser.js';

// First run: a service started on a database without a tenant prints a one-time setup code to its
// console; /setup (createFirstTenant) redeems it once for the first tenant and its admin.
const t = serverPerFile();

const CREATE = `mutation($i: CreateFirstTenantInput!) { createFirstTenant(input: $i) { __typename
  ... on CreateTenantPayload { tenant { id name domains } admin { userPrincipalName isAdmin } } ... on Error { code message } ... on DomainError { field } } }`;
const input = (setupCode: string, domain = 'contoso.example') => ({
  setupCode,
  name: 'Contoso',
  domain,
  adminUserPrincipalName: `admin@${domain}`,
  adminPassword: 'a long first password',
});
const create = (setupCode: string, domain?: string) => t.gql(CREATE, { i: input(setupCode, domain) });
const CODE_FORMAT = /^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/;

describe('first-run setup code', () => {
  // Attack: guessing the setup code of a freshly started service to take it over.
  it('burns the code after too many wrong tries, keeping only its hash', async () => {
    const code = (await issueSetupCode(t.server.app))!;
    expect(code).toMatch(CODE_FORMAT);
    const [row] = await t.server.app.db.select().from(setupCodes);
    expect(row!.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.codeHash).not.toContain(code.replace(/-/g, '').toLowerCase());
    for (let i = 1; i < SETUP_CODE_MAX_FAILURES; i++) {
      const wrong = (await create('AAAA-BBBB')).data.createFirstTenant;
      expect(wrong).toMatchObject({ code: 'SETUP_CODE_INVALID', field: 'setupCode' });
      expect(wrong.message).toMatch(/wrong/);
    }
    const last = (await create('AAAA-BBBB')).data.createFirstTenant;
    expect(last.message).toMatch(/no longer works. Restart the service/);
    const right = (await create(code)).data.createFirstTenant;
    expect(right).toMatchObject({ code: 'SETUP_CODE_INVALID' });
    expect(right.message).toMatch(/Restart the service to print a new one/);
    expect((await t.gql('{ setupRequired }')).data.setupRequired).toBe(true);
  });

  it('creates the first tenant once, with the code typed loosely; then setup is closed', async () => {
    const code = (await issueSetupCode(t.server.app))!;
    // A code re-issued (a restart) replaces the one before.
    const newer = (await issueSetupCode(t.server.app))!;
    expect((await create(code)).data.createFirstTenant.code).toBe('SETUP_CODE_INVALID');
    // A creation that fails (the admin outside the domain) leaves the code usable.
    const outside = await t.gql(CREATE, { i: { ...input(newer), adminUserPrincipalName: 'admin@elsewhere.example' } });
    expect(outside.data.createFirstTenant).toMatchObject({ code: 'INVALID_INPUT', field: 'adminUserPrincipalName' });
    // Two requests with the right code at once: one tenant.
    const loose = newer.toLowerCase().replace(/-/g, ' ');
    const [a, b] = await Promise.all([create(loose), create(newer, 'fabrikam.example')]);
    const outcomes = [a.data.createFirstTenant, b.data.createFirstTenant];
    const made = outcomes.filter((o) => o.__typename === 'CreateTenantPayload');
    expect(made).toHaveLength(1);
    expect(made[0].admin.isAdmin).toBe(true);
    expect(outcomes.find((o) => o.__typename !== 'CreateTenantPayload').code).toMatch(/SETUP_CODE_INVALID|ALREADY_SET_UP/);
    expect((await t.gql('{ setupRequired }')).data.setupRequired).toBe(false);
    expect(await t.server.app.db.select().from(setupCodes).where(eq(setupCodes.id, 'first-run'))).toEqual([]);
    expect(await issueSetupCode(t.server.app)).toBeNull();
    expect((await create(newer)).data.createFirstTenant).toMatchObject({ code: 'ALREADY_SET_UP' });
    // The admin signs in with the password chosen (a session that may only register the app).
    const admin = made[0].admin.userPrincipalName;
    const session = (await passwordSignIn(t, admin, 'a long first password')).data.signInWithPassword;
    expect(session.__typename).toBe('SignInSuccess');
  });

  it('is rate-limited per network', async () => {
    const limited = await startTestServer({ RATE_LIMIT_ACTIVATION_PER_IP: '2' });
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push((await limited.gql(CREATE, { i: input('WRONG') })).data.createFirstTenant.code);
      expect(answers).toEqual(['SETUP_CODE_INVALID', 'SETUP_CODE_INVALID', 'RATE_LIMITED']);
    } finally {
      await limited.stop();
    }
  });
});

describe.skipIf(!hasChromium || process.env.DATABASE_URL)('npm start on a new database, then /setup in Chromium', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  let server: ChildServer | undefined;
  let browser: TestBrowser;
  beforeAll(async () => {
    [browser] = await Promise.all([launchBrowser(), ensureWebBuilt()]);
    server = await startChildServer(['--import', 'tsx', 'src/main.ts'], { DATA_DIR: 'memory://' });
    await untilReady(server);
  }, 180_000);
  afterAll(async () => {
    server?.kill();
    await browser?.close();
  });

  it('prints a setup code that the page turns into an organisation whose admin then signs in', async () => {
    await server!.printed('Setup code: ');
    const code = /Setup code: (\S+)/.exec(server!.output())![1]!;
    expect(code).toMatch(CODE_FORMAT);
    // Through the console only: the structured log lines carry no code.
    expect(server!.output().split('\n').filter((line) => line.startsWith('{') && line.includes(code))).toEqual([]);
    // The page's origin must be the service's own (PUBLIC_URL defaults to http://localhost:<port>).
    const origin = server!.url.replace('127.0.0.1', 'localhost');
    const { page, problems, blocked, screenshot } = await browser.page(origin);
    await page.goto(`${origin}/setup`);
    await page.getByRole('textbox', { name: 'Setup code' }).fill('WRONG-CODE');
    await page.getByRole('textbox', { name: 'Organisation name' }).fill('Contoso');
    await page.getByRole('textbox', { name: 'Domain' }).fill('contoso.example');
    expect(await page.getByRole('textbox', { name: 'Admin user name' }).inputValue()).toBe('admin@contoso.example');
    await page.getByRole('textbox', { name: 'Admin password' }).fill('a long first password');
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await page.getByRole('alert').filter({ hasText: /setup code is wrong/i }).waitFor();
    expect(await page.getByRole('textbox', { name: 'Setup code' }).getAttribute('aria-invalid')).toBe('true');
    await page.getByRole('textbox', { name: 'Setup code' }).fill(code);
    await screenshot('setup');
    await page.getByRole('textbox', { name: 'Setup code' }).press('Enter');
    await page.getByRole('status').filter({ hasText: /Organisation Contoso created/ }).waitFor();
    await screenshot('setup-done');
    await page.getByRole('link', { name: 'Go to sign-in' }).click();
    await page.getByRole('button', { name: 'Use your password instead' }).click();
    await page.getByRole('textbox', { name: 'User name' }).fill('admin@contoso.example');
    await page.getByRole('textbox', { name: 'Password' }).fill('a long first password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    // An admin without the app is told to add it.
    await page.getByText(/requires an authenticator app/).waitFor();
    await screenshot('sign-in-admin-registration-required');
    // The page says setup is closed once done.
    await page.goto(`${origin}/setup`);
    await page.getByRole('alert').filter({ hasText: /already set up/ }).waitFor();
    expect(problems).toEqual([]);
    expect(blocked).toEqual([]);
  }, 180_000);
});
