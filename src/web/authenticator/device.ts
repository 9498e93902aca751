import type { DeviceDescription } from '../../sdk/index.js';

/**
 * How this browser describes itself at activation. The contract knows phones only (IOS or
 * ANDROID): an iPhone or iPad reports iOS with its version, an Android phone Android; any other
 * browser reports ANDROID with its browser's major version, and says what it is in its name.
 */

export const APP_VERSION = '1.0.0';

function browserName(ua: string) {
  if (/Edg\//.test(ua)) return 'Edge';
  if (/Firefox\//.test(ua)) return 'Firefox';
  if (/Chrome\//.test(ua)) return 'Chrome';
  if (/Safari\//.test(ua)) return 'Safari';
  return 'Browser';
}

function systemName(ua: string) {
  if (/iPhone|iPad/.test(ua)) return 'iOS';
  if (/Android/.test(ua)) return 'Android';
  if (/Mac OS X/.test(ua)) return 'macOS';
  if (/Windows/.test(ua)) return 'Windows';
  if (/Linux/.test(ua)) return 'Linux';
  return 'an unknown system';
}

export const defaultDeviceName = (ua = navigator.userAgent) => `Web authenticator (${browserName(ua)} on ${systemName(ua)})`;

export function describeDevice(displayName: string, ua = navigator.userAgent): DeviceDescription {
  const ios = /(?:iPhone|iPad).*? OS (\d+)_(\d+)/.exec(ua);
  if (ios) return { displayName, platform: 'IOS', osVersion: `${ios[1]}.${ios[2]}`, appVersion: APP_VERSION };
  const android = /Android (\d+(?:\.\d+){0,3})/.exec(ua);
  const browser = /(?:Chrome|Firefox|Version)\/(\d+)/.exec(ua);
  return { displayName, platform: 'ANDROID', osVersion: android?.[1] ?? browser?.[1] ?? '1', appVersion: APP_VERSION };
}
