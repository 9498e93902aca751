import { describe, expect, it } from 'vitest';
import { clientIp } from './clientIp.js';

const PROXY = '10.0.0.1';

describe('client IP from the socket', () => {
  it('is the socket address, with IPv4-mapped IPv6 written as IPv4', () => {
    expect(clientIp('81.2.69.160', null, [])).toBe('81.2.69.160');
    expect(clientIp('::ffff:81.2.69.160', null, [])).toBe('81.2.69.160');
    expect(clientIp('2a02:d8::7', null, [])).toBe('2a02:d8::7');
    expect(clientIp('::1', null, [])).toBe('::1');
    expect(clientIp(undefined, '81.2.69.160', [PROXY])).toBeNull();
  });

  // Attack: a client connecting directly claims another address in X-Forwarded-For.
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientIp('203.0.113.9', '81.2.69.160', [])).toBe('203.0.113.9');
    expect(clientIp('203.0.113.9', '81.2.69.160', [PROXY])).toBe('203.0.113.9');
  });
});

describe('client IP behind trusted proxies', () => {
  it('believes the hop a trusted proxy added, whether the proxy connects over IPv4 or IPv4-mapped IPv6', () => {
    expect(clientIp(PROXY, '81.2.69.160', [PROXY])).toBe('81.2.69.160');
    expect(clientIp(`::ffff:${PROXY}`, ' 81.2.69.160 ', [PROXY])).toBe('81.2.69.160');
    expect(clientIp(PROXY, '::ffff:81.2.69.160', [PROXY])).toBe('81.2.69.160');
    expect(clientIp(PROXY, '2a02:d8::7', [PROXY])).toBe('2a02:d8::7');
    expect(clientIp('::1', '81.2.69.160', ['::1'])).toBe('81.2.69.160');
  });

  it('keeps the socket address when a trusted proxy sends no header', () => {
    expect(clientIp(PROXY, null, [PROXY])).toBe(PROXY);
    expect(clientIp(PROXY, '', [PROXY])).toBe(PROXY);
  });

  // Attack: the client sends its own X-Forwarded-For; the proxy appends the real address after it.
  it('takes the rightmost untrusted hop, never a spoofed entry to its left', () => {
    expect(clientIp(PROXY, '1.2.3.4, 81.2.69.160', [PROXY])).toBe('81.2.69.160');
    expect(clientIp(PROXY, '1.2.3.4,81.2.69.160', [PROXY])).toBe('81.2.69.160');
  });

  it('walks back through a chain of trusted proxies, and no further', () => {
    const trusted = [PROXY, '10.0.0.2'];
    expect(clientIp(PROXY, '1.2.3.4, 81.2.69.160, 10.0.0.2', trusted)).toBe('81.2.69.160');
    // Every hop trusted: the farthest trusted proxy is the best there is.
    expect(clientIp(PROXY, '10.0.0.2', trusted)).toBe('10.0.0.2');
  });

  it('drops entries that are not IP addresses to the left of the client', () => {
    expect(clientIp(PROXY, 'unknown, , not-an-ip, 81.2.69.160', [PROXY])).toBe('81.2.69.160');
    expect(clientIp(PROXY, 'garbage', [PROXY])).toBe(PROXY);
    expect(clientIp(PROXY, ' , ', [PROXY])).toBe(PROXY);
  });

  // Attack: behind a proxy that appends "ip:port", a garbled rightmost entry must not let the client's own entries through.
  it('stops at an entry that is not an address, and reads addresses with ports', () => {
    expect(clientIp(PROXY, '1.2.3.4, 81.2.69.160:5555', [PROXY])).toBe('81.2.69.160');
    expect(clientIp(PROXY, '1.2.3.4, [2a02:d8::7]:443', [PROXY])).toBe('2a02:d8::7');
    expect(clientIp(PROXY, '1.2.3.4, unknown', [PROXY])).toBe(PROXY);
    expect(clientIp(PROXY, '1.2.3.4, 81.2.69.160, garbage', [PROXY])).toBe(PROXY);
  });

  it('matches trusted proxies however their address is written', () => {
    expect(clientIp('::ffff:10.0.0.1', '81.2.69.160', ['::ffff:10.0.0.1'])).toBe('81.2.69.160');
    expect(clientIp('2001:db8:0:0:0:0:0:1', '81.2.69.160', ['2001:DB8::1'])).toBe('81.2.69.160');
    expect(clientIp('::ffff:5102:45a0', null, [])).toBe('81.2.69.160');
  });
});

