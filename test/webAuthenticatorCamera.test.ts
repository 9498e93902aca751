import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, beginRegistration } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import { serverPerFile } from './signInFlow.js';
import { type TestBrowser, ensureWebBuilt, hasChromium, launchBrowser } from './support/browser.js';

/**
 * The web authenticator reads the activation QR code from the camera. Chromium's fake camera
 * plays a video file: here one frame holding the QR code of a real activation link.
 */
const t = serverPerFile();
const SIDE = 640;
const VIDEO = join(tmpdir(), `activation-qr-${process.pid}.y4m`);

/** A YUV4MPEG2 video of one grey-scale frame showing `text` as a QR code (Chromium loops it). */
function qrVideo(text: string): string {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const quiet = 4;
  const scale = Math.floor(SIDE / (modules.size + 2 * quiet));
  const offset = Math.floor((SIDE - modules.size * scale) / 2);
  const luma = Buffer.alloc(SIDE * SIDE, 255);
  for (let y = 0; y < modules.size * scale; y++) {
    for (let x = 0; x < modules.size * scale; x++) {
      if (modules.get(Math.floor(y / scale), Math.floor(x / scale))) luma[(offset + y) * SIDE + offset + x] = 0;
    }
  }
  const chroma = Buffer.alloc((SIDE / 2) * (SIDE / 2) * 2, 128);
  writeFileSync(VIDEO, Buffer.concat([Buffer.from(`YUV4MPEG2 W${SIDE} H${SIDE} F10:1 Ip A1:1 C420jpeg\nFRAME\n`), luma, chroma]));
  return VIDEO;
}

describe.skipIf(!hasChromium)('scanning the activation QR code with the camera', () => {
  let browser: TestBrowser | undefined;
  beforeAll(() => ensureWebBuilt(), 180_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(VIDEO, { force: true });
  });

  it('activates the web authenticator from the QR code the camera sees', async () => {
    t.clock.run();
    const user = await addUser(t, await createTenant(t));
    const activationUrl = (await beginRegistration(t, user.token)).data.beginAuthenticatorRegistration.activationUrl as string;
    browser = await launchBrowser({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${qrVideo(activationUrl)}`] });
    const { page, context, problems, blocked } = await browser.page(t.url);
    await context.grantPermissions(['camera'], { origin: t.url });
    await page.goto(`${t.url}/authenticator`);
    await page.getByRole('button', { name: 'Scan QR code' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), { timeout: 30_000 }).toMatch(/^Activated/);
    await page.getByRole('button', { name: 'Enable phone sign-in' }).waitFor();
    const methods = await t.gql('{ viewer { authenticationMethods { displayName } } }', {}, user.token);
    expect(methods.data.viewer.authenticationMethods).toEqual([{ displayName: 'Web authenticator (Chrome on Linux)' }]);
    expect(problems).toEqual([]);
    expect(blocked).toEqual([]);
  }, 120_000);
});
