/**
 * Client sockets of the benchmark. One address pair has about 28,000 ephemeral ports
 * (net.ipv4.ip_local_port_range), and each browser of a sign-in opens a socket that lingers in
 * TIME_WAIT for a minute after it closes, so client sockets are spread over several loopback
 * source addresses (127.0.0.2 …), all of which Linux routes to the server on 127.0.0.1.
 */
import { type ClientRequestArgs } from 'node:http';
import WebSocket from 'ws';

export const SOURCE_ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);

const classes = new Map<string, typeof WebSocket>();
let next = 0;

/** A `ws` WebSocket class (for graphql-ws's webSocketImpl) whose sockets leave from `localAddress`. */
export function webSocketFrom(localAddress: string): typeof WebSocket {
  const known = classes.get(localAddress);
  if (known) return known;
  const cls = class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions | ClientRequestArgs) {
      super(address, protocols, { ...options, localAddress });
    }
  } as unknown as typeof WebSocket;
  classes.set(localAddress, cls);
  return cls;
}

/** The next source address, round robin. */
export const nextSourceAddress = () => SOURCE_ADDRESSES[next++ % SOURCE_ADDRESSES.length]!;
