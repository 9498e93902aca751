/**
 * The floor of live delivery: `count` raw `ws` connections to rawWsChild.ts, the server's heap per
 * connection after GC, and targeted pushes (POST → one chosen socket) at a fixed arrival rate,
 * timed from the request leaving to the message arriving.
 */
import WebSocket from 'ws';
import { startChild } from './children.js';
import { nextSourceAddress } from './sockets.js';
import { inPool, percentile, progress, sleep } from './util.js';

const CONNECT_CONCURRENCY = 200;

export async function rawWsFloor(o: { count: number; pushes: number; pushesPerSecond: number }) {
  const child = await startChild('rawWsChild.ts', { ...process.env });
  const sockets: WebSocket[] = [];
  try {
    await sleep(500);
    const before = await child.stats({ gc: true });
    const arrived = new Map<number, (at: number) => void>();
    await inPool(
      Array.from({ length: o.count }, (_, i) => i),
      CONNECT_CONCURRENCY,
      (i) =>
        new Promise<void>((resolve, reject) => {
          const socket = new WebSocket(`${child.url.replace(/^http/, 'ws')}/?id=${i}`, { localAddress: nextSourceAddress() });
          socket.on('message', () => arrived.get(i)?.(performance.now()));
          socket.once('open', () => resolve());
          socket.once('error', reject);
          sockets[i] = socket;
        }),
    );
    progress(`raw ws floor: ${o.count} connections open`);
    await sleep(1000);
    const after = await child.stats({ gc: true });
    const kibPerConnection = (after.heapUsedAfterGc - before.heapUsedAfterGc) / 1024 / o.count;

    const latencies: number[] = [];
    const intervalMs = 1000 / o.pushesPerSecond;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: o.pushes }, async (_, n) => {
        await sleep(start + n * intervalMs - performance.now());
        // A prime stride: distinct targets for the first `count` pushes, spread over the sockets.
        const target = (n * 7919 + 13) % o.count;
        const sent = performance.now();
        const arrival = new Promise<number>((resolve) => arrived.set(target, resolve));
        const response = await fetch(`${child.url}/push?to=${target}`, { method: 'POST' });
        if (response.status !== 204) throw new Error(`raw push answered ${response.status}`);
        latencies.push((await arrival) - sent);
        arrived.delete(target);
      }),
    );
    return { kibPerConnection, pushP50Ms: percentile(latencies, 0.5), pushP99Ms: percentile(latencies, 0.99), pushes: latencies.length };
  } finally {
    for (const socket of sockets) socket?.terminate();
    await child.stop();
  }
}
