import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';
import type { UserAccessChange } from '../realtime/events.js';
import type { App } from '../services/app.js';
import type { UserAuth } from '../services/auth.js';

/**
 * How often the node looks for sockets whose access token has expired. One timer for the node,
 * not one per socket; a socket outlives its token by at most this much.
 */
const EXPIRY_CHECK_INTERVAL_MS = 1000;

const CLOSE: Record<UserAccessChange | 'SIGNED_OUT' | 'EXPIRED', { code: number; reason: string }> = {
  SIGNED_OUT: { code: CloseCode.Unauthorized, reason: 'Unauthorized: this session was signed out. Sign in again.' },
  EXPIRED: { code: CloseCode.Unauthorized, reason: 'Unauthorized: the access token has expired. Sign in again.' },
  DISABLED: { code: CloseCode.Unauthorized, reason: 'Unauthorized: this account was disabled.' },
  DELETED: { code: CloseCode.Unauthorized, reason: 'Unauthorized: this account was deleted.' },
  DEMOTED: { code: CloseCode.Forbidden, reason: 'Forbidden: the admin role was removed. Connect again for what you may still see.' },
};

/**
 * The sockets signed in with an access token on this node. Who a socket is was decided once, at
 * connection_init, so they are closed when that stops being true: the session signed out, the
 * user disabled, deleted or demoted (events from any node), or the token expired (a timer here).
 */
export class UserSockets {
  private readonly byUser = new Map<string, Map<WebSocket, UserAuth>>();
  /** Sockets by the second their token expires, and those seconds in order (few: tokens share a lifetime). */
  private readonly byExpiry = new Map<number, Map<WebSocket, UserAuth>>();
  private readonly expirySeconds: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly listeners: Array<AsyncIterator<unknown>>;

  constructor(private readonly app: App) {
    this.timer = setInterval(() => this.closeExpired(), EXPIRY_CHECK_INTERVAL_MS);
    this.timer.unref();
    const signedOut = app.events.subscribe('sessionRevoked');
    const changed = app.events.subscribe('userAccessChanged');
    this.listeners = [signedOut, changed];
    void (async () => {
      for await (const { userId, sessionId } of signedOut) this.close(userId, 'SIGNED_OUT', (auth) => auth.sessionId === sessionId);
    })();
    void (async () => {
      for await (const { userId, change } of changed) this.close(userId, change, (auth) => change !== 'DEMOTED' || auth.isAdmin);
    })();
  }

  add(auth: UserAuth, socket: WebSocket) {
    const sockets = this.byUser.get(auth.userId) ?? new Map<WebSocket, UserAuth>();
    sockets.set(socket, auth);
    this.byUser.set(auth.userId, sockets);
    const second = expirySecond(auth);
    const due = this.byExpiry.get(second);
    if (due) return void due.set(socket, auth);
    this.byExpiry.set(second, new Map([[socket, auth]]));
    this.expirySeconds.splice(sortedIndex(this.expirySeconds, second), 0, second);
  }

  remove(auth: UserAuth, socket: WebSocket) {
    const sockets = this.byUser.get(auth.userId);
    sockets?.delete(socket);
    if (sockets?.size === 0) this.byUser.delete(auth.userId);
    // The second's entry in expirySeconds goes when the timer reaches it.
    this.byExpiry.get(expirySecond(auth))?.delete(socket);
  }

  async stop() {
    clearInterval(this.timer);
    await Promise.all(this.listeners.map((events) => events.return?.()));
  }

  private close(userId: string, why: keyof typeof CLOSE, affected: (auth: UserAuth) => boolean) {
    for (const [socket, auth] of this.byUser.get(userId) ?? []) {
      if (!affected(auth)) continue;
      this.remove(auth, socket);
      socket.close(CLOSE[why].code, CLOSE[why].reason);
    }
  }

  private closeExpired() {
    const now = Math.floor(this.app.clock.now().getTime() / 1000);
    while (this.expirySeconds.length > 0 && this.expirySeconds[0]! <= now) {
      const second = this.expirySeconds.shift()!;
      for (const [socket, auth] of this.byExpiry.get(second) ?? []) {
        this.remove(auth, socket);
        socket.close(CLOSE.EXPIRED.code, CLOSE.EXPIRED.reason);
      }
      this.byExpiry.delete(second);
    }
  }
}

const expirySecond = (auth: UserAuth) => Math.floor(auth.expiresAt.getTime() / 1000);

/** Where `value` goes in the ascending `values`; inserts are mostly at the end, as tokens share a lifetime. */
function sortedIndex(values: number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
