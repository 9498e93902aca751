import { isIP } from 'node:net';

const MAPPED_IPV4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** One spelling per address: IPv6 compressed and lower case, IPv4-mapped IPv6 as plain IPv4; null if not an IP. */
export function canonicalIp(address: string): string | null {
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6) return null;
  const compressed = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const mapped = MAPPED_IPV4.exec(compressed);
  if (!mapped) return compressed;
  const word = (hex: string) => Number.parseInt(hex, 16);
  const [high, low] = [word(mapped[1]!), word(mapped[2]!)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** An X-Forwarded-For entry: an address, optionally with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`). */
function forwardedAddress(entry: string): string | null {
  const hop = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return canonicalIp(bracketed?.[1] ?? withPort?.[1] ?? hop);
}

/**
 * The caller's IP address. X-Forwarded-For is believed only when the socket peer is a trusted
 * proxy, and then only as far as the chain of trusted proxies reaches: the rightmost hop that is
 * not a trusted proxy. An entry that is not an address ends the walk there, since what stands to
 * its left was written by the client.
 */
export function clientIp(socketAddress: string | undefined, forwardedFor: string | null, trustedProxies: readonly string[]): string | null {
  if (!socketAddress) return null;
  const trusted = new Set(trustedProxies.map((proxy) => canonicalIp(proxy) ?? proxy));
  let address = canonicalIp(socketAddress) ?? socketAddress;
  if (!forwardedFor) return address;
  const hops = forwardedFor.split(',');
  while (hops.length > 0 && trusted.has(address)) {
    const hop = forwardedAddress(hops.pop()!);
    if (hop === null) break;
    address = hop;
  }
  return address;
}
