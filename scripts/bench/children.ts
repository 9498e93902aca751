/** Starting the benchmark's child processes (the service, the raw ws floor) and asking them for stats. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildStats } from './childStats.js';

export interface Child {
  url: string;
  pid: number;
  stats(options?: { gc?: boolean; snapshot?: string }): Promise<ChildStats>;
  /** Starts V8's CPU profiler in the child, or stops it and writes the profile (.cpuprofile JSON) to `file`. */
  profile(action: 'start' | 'stop', file?: string): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
let nextRequest = 0;

/** Runs `script` (a file beside this one) under tsx with --expose-gc and waits for its `ready`. */
export async function startChild(script: string, env: NodeJS.ProcessEnv): Promise<Child> {
  const entry = fileURLToPath(new URL(script, import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', entry], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message.url!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code} before it was ready`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url,
    pid: child.pid!,
    stats: (options = {}) =>
      new Promise<ChildStats>((resolve) => {
        const id = nextRequest++;
        const onMessage = (message: { type?: string; id?: number; stats?: ChildStats }) => {
          if (message?.type !== 'stats' || message.id !== id) return;
          child.off('message', onMessage);
          resolve(message.stats!);
        };
        child.on('message', onMessage);
        child.send({ type: 'stats', id, gc: options.gc ?? false, snapshot: options.snapshot });
      }),
    profile: (action, file) =>
      new Promise<void>((resolve) => {
        const id = nextRequest++;
        const onMessage = (message: { type?: string; id?: number }) => {
          if (message?.type !== 'profiled' || message.id !== id) return;
          child.off('message', onMessage);
          resolve();
        };
        child.on('message', onMessage);
        child.send({ type: 'profile', id, action, file });
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
