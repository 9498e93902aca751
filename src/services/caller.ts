import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether the one who asked is still waiting for the answer. An HTTP request runs inside
 * `whileCallerWaits` with a signal that aborts when its connection closes before the response was
 * sent; use cases read it without every resolver passing it down.
 */
const callers = new AsyncLocalStorage<AbortSignal>();

export function whileCallerWaits<T>(signal: AbortSignal, run: () => T): T {
  return callers.run(signal, run);
}

/**
 * Throws the signal's AbortError when the caller has gone: work done for no one (a token nobody
 * receives, an attempt whose secret nobody holds) must not be committed. Outside a request
 * (graphql-ws, housekeeping) there is no signal and nothing is thrown.
 */
export function stopIfCallerGone(): void {
  callers.getStore()?.throwIfAborted();
}
