/** The IPC side of the benchmark's child processes: answers `stats` and `profile` requests from the benchmark. */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';

export interface ChildStats {
  /** process.cpuUsage() user + system, in microseconds since the process started. */
  cpuMicros: number;
  /** V8 heap in use after two full collections, in bytes. */
  heapUsedAfterGc: number;
  rss: number;
  statements: number;
  transactions: number;
}

declare const gc: (() => void) | undefined;

export function childStatsHandler(extra: () => { statements: number; transactions: number } = () => ({ statements: 0, transactions: 0 })) {
  if (typeof gc !== 'function') throw new Error('Start the benchmark child with --expose-gc: its heap is measured after a full GC.');
  // The benchmark gone (killed, crashed): so is its child, rather than an orphan holding sockets.
  process.once('disconnect', () => process.exit(0));
  let profiler: Session | undefined;
  process.on('message', async (message: { type?: string; id?: number; gc?: boolean; snapshot?: string; action?: 'start' | 'stop'; file?: string }) => {
    if (message?.type === 'profile') {
      // V8's sampling profiler over a window the benchmark chooses (the sign-ins, not set-up).
      if (message.action === 'start') {
        profiler = new Session();
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.start');
      } else if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        writeFileSync(message.file!, JSON.stringify(profile));
        profiler.disconnect();
        profiler = undefined;
      }
      process.send?.({ type: 'profiled', id: message.id });
      return;
    }
    if (message?.type !== 'stats') return;
    if (message.gc) {
      // Two passes: the first may only queue finalisers that free more on the second.
      gc!();
      gc!();
    }
    const cpu = process.cpuUsage();
    const heapUsedAfterGc = process.memoryUsage().heapUsed;
    // For scripts/measureLive.ts --snapshot: a heap snapshot beside the figure, named by the caller.
    const dir = process.env.BENCH_SNAPSHOT_DIR;
    if (dir && message.snapshot) writeHeapSnapshot(`${dir}/${message.snapshot}.heapsnapshot`);
    const stats: ChildStats = { cpuMicros: cpu.user + cpu.system, heapUsedAfterGc, rss: process.memoryUsage().rss, ...extra() };
    process.send?.({ type: 'stats', id: message.id, stats });
  });
}
