import { describe, expect, it } from 'vitest';
import { defaultDeviceName, describeDevice } from './device.js';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

// What the web authenticator reports at activation must pass the service's version rules (dotted numbers).
describe('describeDevice', () => {
  it('reports an iPhone as iOS with its version, an Android phone as Android with its version', () => {
    expect(describeDevice('Mine', IPHONE)).toEqual({ displayName: 'Mine', platform: 'IOS', osVersion: '17.4', appVersion: '1.0.0' });
    expect(describeDevice('Mine', ANDROID)).toMatchObject({ platform: 'ANDROID', osVersion: '14' });
  });

  it('reports any other browser as ANDROID with the browser major version, and names it for what it is', () => {
    expect(describeDevice('Mine', LINUX)).toMatchObject({ platform: 'ANDROID', osVersion: '140' });
    expect(defaultDeviceName(LINUX)).toBe('Web authenticator (Chrome on Linux)');
    expect(defaultDeviceName(IPHONE)).toBe('Web authenticator (Safari on iOS)');
    expect(describeDevice('Mine', 'curl/8.0').osVersion).toBe('1');
  });
});
