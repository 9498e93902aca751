import { liveClient } from '../shared/api.js';
import { ATTEMPT_FIELDS, type AttemptState, type Waiting, attemptState } from './operations.js';

/** How often the page asks for the attempt when the WebSocket is unavailable. */
export const POLL_INTERVAL_MS = 2000;

export interface Watcher {
  /** Asks the service once now (the countdown reached zero, the tab came back). */
  check(): void;
  stop(): void;
}

/**
 * Follows an attempt until it leaves PENDING: live over graphql-ws, and by polling the query of
 * the same name when the socket fails or closes early. `onChange` sees each status once.
 */
export function watchAttempt(w: Waiting, o: { onChange(state: AttemptState): void; onFallback(): void }): Watcher {
  let stopped = false;
  let last: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const seen = (state: AttemptState) => {
    if (stopped || state.status === last) return;
    last = state.status;
    o.onChange(state);
  };
  const check = () => {
    if (!stopped) attemptState(w).then(seen, () => {});
  };
  const poll = () => {
    if (stopped || timer) return;
    o.onFallback();
    const tick = () => {
      check();
      if (!stopped) timer = setTimeout(tick, POLL_INTERVAL_MS);
    };
    tick();
  };
  const unsubscribe = liveClient().subscribe<{ signInAttempt: AttemptState }>(
    { query: `subscription($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { ${ATTEMPT_FIELDS} } }`, variables: { id: w.attemptId, s: w.attemptSecret } },
    {
      next: (result) => (result.data ? seen(result.data.signInAttempt) : poll()),
      error: poll,
      // The stream ends after a final status; ending before one means the socket gave up.
      complete: () => (last === undefined || last === 'PENDING' ? poll() : undefined),
    },
  );
  return {
    check,
    stop() {
      stopped = true;
      clearTimeout(timer);
      unsubscribe();
    },
  };
}
