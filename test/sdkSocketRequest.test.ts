import type { AddressInfo } from 'node:net';
import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SocketRequestFailed, socketRequest } from '../src/sdk/graphql.js';

/**
 * A graphql-transport-ws peer that acknowledges the connection and then, for each subscribe,
 * does what `onSubscribe` says: nothing (a socket gone quiet) or close it abruptly (a network change).
 */
async function peer(onSubscribe: (socket: WebSocket) => void) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      if (message.type === 'subscribe') onSubscribe(socket);
    });
  });
  const client = createClient({ url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, webSocketImpl: WebSocket, retryAttempts: Number.POSITIVE_INFINITY, lazy: false });
  await new Promise<void>((resolve) => client.on('connected', () => resolve()));
  const stop = async () => {
    await client.dispose();
    for (const socket of server.clients) socket.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  stops.push(stop);
  return client;
}
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

// The SDK answers on its feed's connection and falls back to HTTP when that connection fails: these
// are the failures it must see as such, rather than wait for graphql-ws to reconnect and resend.
describe('an operation on the feed\'s connection', () => {
  it('gives up on a connection that never answers, after its timeout', async () => {
    const client = await peer(() => {});
    const started = performance.now();
    await expect(socketRequest(client, 'mutation { x }', {}, 300)).rejects.toBeInstanceOf(SocketRequestFailed);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('gives up when the connection drops before the answer, without waiting for a reconnect or its timeout', async () => {
    const client = await peer((socket) => socket.terminate());
    const started = performance.now();
    await expect(socketRequest(client, 'mutation { x }', {}, 60_000)).rejects.toBeInstanceOf(SocketRequestFailed);
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});
