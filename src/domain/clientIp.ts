import { isIP } from 'node:net';

const normalise = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

/**
 * The caller's IP address. X-Forwarded-For is believed only when the socket peer is a trusted
 * proxy, and then only as far as the chain of trusted proxies reaches (rightmost untrusted hop).
 */
export function clientIp(socketAddress: string | undefined, forwardedFor: string | null, trustedProxies: readonly string[]): string | null {
  if (!socketAddress) return null;
  let address = normalise(socketAddress);
  if (!forwardedFor || !trustedProxies.includes(address)) return address;
  const hops = forwardedFor.split(',').map((hop) => normalise(hop.trim())).filter((hop) => isIP(hop) !== 0);
  while (hops.length > 0 && trustedProxies.includes(address)) address = hops.pop()!;
  return address;
}
