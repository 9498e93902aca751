import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, startChildServer, untilReady } from './support/childServer.js';

// `npm run build` then `node dist/main.js`, as the Docker image runs it: compiled by tsc with
// tsconfig.build.json into a directory laid out like the image (package.json, node_modules,
// drizzle/ beside dist/), so the migrations are found from the compiled code.
const root = resolve(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'phone-sign-in-build-'));
// tsc of the whole service took 20 s of CPU; on a loaded 2-core machine, over a minute and a half.
const BUILD_MS = 240_000;

describe.skipIf(process.env.DATABASE_URL)('the production build', () => {
  let server: ChildServer | undefined;
  beforeAll(async () => {
    await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(out, 'dist')]);
    copyFileSync(join(root, 'package.json'), join(out, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
    symlinkSync(join(root, 'drizzle'), join(out, 'drizzle'));
  }, BUILD_MS);
  afterAll(() => {
    server?.kill();
    rmSync(out, { recursive: true, force: true });
  });

  it('runs with node alone: migrates, serves GraphQL with its typed errors, stops on SIGTERM', async () => {
    server = await startChildServer([join(out, 'dist/main.js')], { DATA_DIR: 'memory://' });
    await untilReady(server);
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' });
    // One copy of graphql in the compiled service: an authentication error keeps its code, not a masked 500.
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-token' },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('publishes the authenticator SDK as "./sdk", with its type declarations', async () => {
    const script = "import('phone-sign-in/sdk').then((sdk) => console.log(JSON.stringify(sdk.parseActivationUrl('phonesignin://activate?endpoint=https%3A%2F%2Fid.example%2Fgraphql&code=c'))))";
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: out });
    expect(JSON.parse(stdout)).toEqual({ endpoint: 'https://id.example/graphql', code: 'c' });
    expect(existsSync(join(out, 'dist/sdk/index.d.ts'))).toBe(true);
  });
});
