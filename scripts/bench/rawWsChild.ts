/**
 * The floor of a targeted push: a trivial `ws` server, in its own process like the service. Each
 * socket connects with `?id=N`; `POST /push?to=N` writes one small message to that socket. Run
 * with --expose-gc (heap per connection after GC, through childStats.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { childStatsHandler } from './childStats.js';

const sockets = new Map<string, WebSocket>();
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://raw');
  const socket = req.method === 'POST' && url.pathname === '/push' ? sockets.get(url.searchParams.get('to') ?? '') : undefined;
  req.resume();
  if (!socket) {
    res.writeHead(404).end();
    return;
  }
  socket.send('{"type":"next","payload":{"data":{"push":true}}}');
  res.writeHead(204).end();
});
const wss = new WebSocketServer({ server });
wss.on('connection', (socket, req) => {
  const id = new URL(req.url ?? '/', 'http://raw').searchParams.get('id') ?? '';
  sockets.set(id, socket);
  socket.on('close', () => sockets.delete(id));
});
server.listen(0, '127.0.0.1', () => {
  childStatsHandler();
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
process.once('SIGTERM', () => process.exit(0));
