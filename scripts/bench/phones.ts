/**
 * The authenticators: every phone of every user connected over graphql-ws with the
 * `phoneSignInChallenges` subscription and a fresh ES256 device assertion, answering on that
 * connection, as the SDK's AuthenticatorApp.listen does, but from several source addresses (sockets.ts).
 */
import { type Client, createClient } from 'graphql-ws';
import type { AuthenticatorApp, PhoneSignInChallenge } from '../../src/sdk/index.js';
import type { BenchUser } from './setup.js';
import { nextSourceAddress, webSocketFrom } from './sockets.js';
import { inPool } from './util.js';

const CONNECT_CONCURRENCY = 32;
const CHALLENGE_FIELDS = 'id kind nonce userPrincipalName appName location ipAddress expiresAt numberChoices';

export type OnChallenge = (challenge: PhoneSignInChallenge, phone: AuthenticatorApp, arrivedAt: number) => void;

/**
 * Connects every phone; resolves once each connection is acknowledged and its subscription sent,
 * or at `deadline` (performance.now()) with those connected by then: a slow service must not
 * stretch the run past its time. `ready` are the users whose phones all connected.
 */
export async function connectPhones(wsUrl: string, users: BenchUser[], onChallenge: OnChallenge, deadline: number, onProgress: (connected: number) => void): Promise<{ clients: Client[]; ready: BenchUser[] }> {
  const phones = users.flatMap((user) => user.phones);
  const clients: Client[] = [];
  const connected = new Set<AuthenticatorApp>();
  let failures = 0;
  await inPool(phones, CONNECT_CONCURRENCY, async (phone) => {
    if (performance.now() > deadline) return;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: webSocketFrom(nextSourceAddress()),
      connectionParams: { authorization: await phone.authorization() },
      retryAttempts: 0,
      lazy: false,
    });
    const acknowledged = new Promise<void>((resolve, reject) => {
      client.on('connected', () => resolve());
      client.on('closed', (event) => reject(new Error(`a phone's socket closed while connecting: ${(event as { code?: number }).code}`)));
    });
    client.subscribe<{ phoneSignInChallenges: PhoneSignInChallenge }>(
      { query: `subscription { phoneSignInChallenges { ${CHALLENGE_FIELDS} } }` },
      {
        next: (event) => event.data && onChallenge(event.data.phoneSignInChallenges, phone, performance.now()),
        error: () => failures++,
        complete: () => {},
      },
    );
    await acknowledged;
    // As the SDK's feed does while live: the phone answers on this connection.
    phone.liveSocket = client;
    connected.add(phone);
    clients.push(client);
    if (clients.length % 500 === 0) onProgress(clients.length);
  });
  if (failures) throw new Error(`${failures} phone subscriptions failed`);
  return { clients, ready: users.filter((user) => user.phones.every((phone) => connected.has(phone))) };
}
