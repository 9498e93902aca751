import type { Executor } from '../db/client.js';
import type { LogKind, UserAccessChange } from '../realtime/events.js';
import type { AttemptStatus, SignInLogStatus, SignInMethod } from '../domain/signInAttempt.js';
import type { App } from './app.js';
import { type Attempt, type AttemptView, attemptView } from './attempts.js';
import { stopIfCallerGone } from './caller.js';
import { type DeviceAuth, spendAssertion, touchDevice } from './devices.js';
import type { ChallengeView } from './pendingChallenges.js';
import type { SignInsEnded } from './signInLogs.js';

/** A challenge as its use case wrote it, and the devices that may see it: what this node pushes to its own sockets without a read. */
export interface LocalPush {
  view: ChallengeView;
  deviceIds: string[];
}

/** Events a use case causes, and the sign-ins it ended (for the metrics), held until its transaction has committed. */
export class Outbox implements SignInsEnded {
  private readonly attempts = new Map<string, AttemptView>();
  private readonly begun: Array<{ view: AttemptView; secretHash: string }> = [];
  private readonly challenges: Array<{ userId: string; challengeId: string; local?: LocalPush }> = [];
  private readonly alerts: Array<{ tenantId: string; alertId: string }> = [];
  private readonly revokedDevices: string[] = [];
  private readonly revokedSessions: Array<{ userId: string; sessionId: string }> = [];
  private readonly accessChanges: Array<{ userId: string; change: UserAccessChange }> = [];
  private readonly endedSignIns: Array<[SignInMethod, SignInLogStatus]> = [];
  private readonly writtenLogs = new Set<string>();

  /** The attempt as it now is (the row the transition returned): its browser is told this. */
  attemptChanged(attempt: Attempt) {
    this.attempts.set(attempt.id, attemptView(attempt));
  }
  /** A new attempt: its browser, if it follows it on this node, gets its first view without a read. */
  attemptBegun(view: AttemptView, secretHash: string) {
    this.begun.push({ view, secretHash });
  }
  /** A new challenge for the user's authenticators; with `local`, those connected to this node get it without a read. */
  challenge(userId: string, challengeId: string, local?: LocalPush) {
    this.challenges.push({ userId, challengeId, local });
  }
  alert(tenantId: string, alertId: string) {
    this.alerts.push({ tenantId, alertId });
  }
  /** The device lost access: its open connections are closed. */
  deviceRevoked(deviceId: string) {
    this.revokedDevices.push(deviceId);
  }
  /** The session ended: sockets signed in with it are closed. */
  sessionRevoked(userId: string, sessionId: string) {
    this.revokedSessions.push({ userId, sessionId });
  }
  /** The user lost access (or the admin role): their sockets are closed. */
  userAccessChanged(userId: string, change: UserAccessChange) {
    this.accessChanges.push({ userId, change });
  }
  signInEnded(method: SignInMethod, status: SignInLogStatus) {
    this.endedSignIns.push([method, status]);
  }
  /** A log row of the tenant was written: one event per tenant and log, however many rows. */
  logWritten(tenantId: string, log: LogKind) {
    this.writtenLogs.add(`${log} ${tenantId}`);
  }
  publish(app: App) {
    for (const [attemptId, view] of this.attempts) {
      app.events.publish('signInAttemptChanged', { attemptId, status: view.status, kind: view.kind, failureReason: view.failureReason, expiresAt: view.expiresAt.toISOString() });
    }
    for (const { view, secretHash } of this.begun) app.live.begunHere(view, secretHash);
    for (const { userId, challengeId, local } of this.challenges) {
      if (local) app.live.pushedHere(userId, local.view, local.deviceIds);
      app.events.publish('userChallenge', { userId, challengeId });
    }
    for (const alert of this.alerts) app.events.publish('securityAlert', alert);
    for (const deviceId of this.revokedDevices) app.events.publish('deviceRevoked', { deviceId });
    for (const revoked of this.revokedSessions) app.events.publish('sessionRevoked', revoked);
    for (const changed of this.accessChanges) app.events.publish('userAccessChanged', changed);
    for (const [method, status] of this.endedSignIns) app.metrics.signInEnded(method, status);
    for (const written of this.writtenLogs) {
      const [log, tenantId] = written.split(' ') as [LogKind, string];
      app.events.publish('logWritten', { tenantId, log });
    }
  }
}

/**
 * Who hears of a log write made through an executor: a use case's transaction tells its outbox
 * (published after commit), the database itself (an autocommitted write) publishes at once. The
 * log writers (audit.ts, signInLogs.ts) call logWritten, so no call site has to remember it.
 */
const logListeners = new WeakMap<object, (tenantId: string, log: LogKind) => void>();

/** Autocommitted log writes on this app's database are published as they happen. */
export function announceLogWrites(app: App) {
  logListeners.set(app.db, (tenantId, log) => app.events.publish('logWritten', { tenantId, log }));
}

/** A log row was written through `executor` (after the write, for an autocommitted one). */
export function logWritten(executor: Executor, tenantId: string | null, log: LogKind) {
  if (tenantId) logListeners.get(executor)?.(tenantId, log);
}

/**
 * The one way to run a use case: `work` gets a transaction and an outbox, and the outbox's events
 * go out only once the transaction has committed. A rollback (a throw from `work`) publishes
 * nothing, so no one is told of a change that did not happen. Nor is work committed for an HTTP
 * caller that has gone (see caller.ts).
 *
 * `device`: the calling device, whose request's assertion (if not spent yet) is spent first thing
 * in the same transaction, so the use case commits only with its jti, and a replay changes nothing.
 */
export async function runUseCase<T>(app: App, work: (tx: Executor, outbox: Outbox) => Promise<T>, device?: DeviceAuth): Promise<T> {
  stopIfCallerGone();
  const outbox = new Outbox();
  let spent = false;
  const result = await app.db.transaction(async (tx) => {
    if (device) spent = await spendAssertion(tx, device);
    logListeners.set(tx, (tenantId, log) => outbox.logWritten(tenantId, log));
    const value = await work(tx, outbox);
    // Last, after the use case's own row locks (users, then attempts), in the order other writers take them.
    if (spent) await touchDevice(tx, device!);
    // The caller left while this waited or ran (a slow or returning database): roll back.
    stopIfCallerGone();
    return value;
  });
  if (spent) device!.assertion!.state = 'spent';
  outbox.publish(app);
  return result;
}
