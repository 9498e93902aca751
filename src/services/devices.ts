import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import { decodeProtectedHeader } from 'jose';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { preparedOn } from '../db/prepared.js';
import { devices, usedAssertionIds, users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { readDeviceAssertion, verifyDeviceAssertion } from '../domain/signedMessages/deviceAssertion.js';
import { SignedMessageError } from '../domain/signedMessages/refusal.js';
import type { App } from './app.js';
import { InvalidTokenError } from './tokens.js';

/** lastUsedAt is a hint for people, not a counter: write it at most once a minute per device. */
const LAST_USED_RESOLUTION_S = 60;

const deviceIdSchema = z.uuid();

/** A device that proved itself with a fresh device assertion: one kind of caller (see auth.ts Auth). */
export interface DeviceAuth {
  kind: 'device';
  deviceId: string;
  userId: string;
  tenantId: string;
  /**
   * An HTTP request's assertion, verified but not yet spent (see spendAssertion); absent once spent
   * where it was verified (graphql-ws connection_init).
   */
  assertion?: UnspentAssertion;
}

/**
 * The single-use part of a verified device assertion, spent once per request: in the first use
 * case's transaction (runUseCase), so the request's writes and its jti commit together or not at
 * all, or on its own before the request does anything else (yoga.ts). `touch`: lastUsedAt is due.
 */
export interface UnspentAssertion {
  jti: string;
  expiresAt: Date;
  touch: Date | null;
  state: 'unspent' | 'spent' | 'replayed';
}

export const ASSERTION_REPLAYED = 'this device assertion was already used (its jti was seen before); sign a new one for each request';

/** Thrown by spendAssertion for an assertion spent before (by a concurrent request, say): the request is refused whole. */
export class AssertionReplayedError extends InvalidTokenError {
  constructor() {
    super(ASSERTION_REPLAYED);
  }
}

/**
 * Inserts the request's jti on `db` (a transaction, or the database itself); throws
 * AssertionReplayedError when it was seen before. Returns whether this call inserted it: the caller
 * marks it spent once that write has committed. Concurrent requests with one assertion: the insert
 * of the second waits for the first's transaction, then finds the jti and refuses.
 */
export async function spendAssertion(db: Executor, auth: DeviceAuth): Promise<boolean> {
  const assertion = auth.assertion;
  if (!assertion || assertion.state === 'spent') return false;
  if (assertion.state === 'replayed' || !(await acceptOnce(db, `device:${auth.deviceId}`, assertion.jti, assertion.expiresAt))) {
    assertion.state = 'replayed';
    throw new AssertionReplayedError();
  }
  return true;
}

/** lastUsedAt, when spending the assertion found it due: written last in the use case's transaction, after its row locks. */
export async function touchDevice(db: Executor, auth: DeviceAuth): Promise<void> {
  if (auth.assertion?.touch) await db.update(devices).set({ lastUsedAt: auth.assertion.touch }).where(eq(devices.id, auth.deviceId));
}

/** Spends the request's assertion on its own (autocommit), when no use case did: before any other work, or after it when that wrote nothing. */
export async function spendAssertionAlone(app: App, auth: DeviceAuth): Promise<void> {
  if (!(await spendAssertion(app.db, auth))) return;
  await touchDevice(app.db, auth);
  auth.assertion!.state = 'spent';
}

/** The refusal of a replayed assertion found after authentication (see spendAssertion), audited as authenticateDevice audits it. */
export async function auditReplayedAssertion(app: App, auth: DeviceAuth): Promise<void> {
  await app.refusalAudit.record({ tenantId: auth.tenantId, actor: { type: 'DEVICE', id: auth.deviceId }, action: 'device.authenticate', targetType: 'DEVICE', targetId: auth.deviceId, result: 'FAILURE', reasonCode: 'ASSERTION_REPLAYED' });
}

/** The user's registered devices that are not revoked: where push MFA goes, and whose connections close when the user loses access. */
export async function liveDeviceIds(db: Executor, userId: string): Promise<string[]> {
  const rows = await db.select({ id: devices.id }).from(devices).where(and(eq(devices.userId, userId), isNull(devices.revokedAt)));
  return rows.map((device) => device.id);
}

/**
 * Remembers a single-use id until `expiresAt`; false when it was seen before. `scope` keeps one
 * kind of message (or one device) from spending another's ids.
 */
export async function acceptOnce(db: Executor, scope: string, jti: string, expiresAt: Date): Promise<boolean> {
  const inserted = await db
    .insert(usedAssertionIds)
    .values({ jti: `${scope}:${jti}`, expiresAt })
    .onConflictDoNothing()
    .returning({ jti: usedAssertionIds.jti });
  return inserted.length === 1;
}

/** Forgets single-use ids whose messages have expired (and so can no longer be replayed). */
export async function forgetExpiredAssertionIds(app: App): Promise<void> {
  await app.db.delete(usedAssertionIds).where(lt(usedAssertionIds.expiresAt, app.clock.now()));
}

/** The device a device assertion names, with what authenticating it needs: one prepared read per request. */
const assertingDevice = preparedOn((db) =>
  db
    .select({
      id: devices.id,
      userId: devices.userId,
      tenantId: devices.tenantId,
      jwk: devices.publicJwk,
      thumbprint: devices.keyThumbprint,
      revokedAt: devices.revokedAt,
      lastUsedAt: devices.lastUsedAt,
      userDisabled: users.disabled,
    })
    .from(devices)
    .innerJoin(users, eq(users.id, devices.userId))
    .where(eq(devices.id, sql.placeholder('deviceId')))
    .prepare('asserting_device'),
);

/** The registered device a message's header kid names, read without trusting anything else in it. */
async function deviceNamedBy(db: Executor, jws: string): Promise<{ id: string; tenantId: string } | undefined> {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch {
    return undefined;
  }
  if (typeof kid !== 'string' || !deviceIdSchema.safeParse(kid).success) return undefined;
  const [device] = await db.select({ id: devices.id, tenantId: devices.tenantId }).from(devices).where(eq(devices.id, kid));
  return device;
}

/**
 * Verifies a device assertion (`Authorization: Device <assertion>`, over HTTP or in graphql-ws
 * connection_init) and names the device speaking: signed by the registered device key, for this
 * issuer, fresh, accepted once, from a device that is neither removed nor owned by a disabled user.
 * `spend: 'later'` leaves its jti to be spent by the request (UnspentAssertion), which must do so
 * before it answers.
 */
export async function authenticateDevice(app: App, assertion: string, spend: 'now' | 'later' = 'now'): Promise<DeviceAuth> {
  let known: { id: string; tenantId: string } | undefined;
  const refuse = async (reasonCode: string, message: string): Promise<never> => {
    // Refusals are audited once the assertion names a registered device: in a well-formed ES256
    // header, or as the kid of a message of another type (a response or proof sent in its place).
    // Anonymous noise (garbage, unknown kid, other algorithms) is not, so it cannot fill the audit log;
    // nor can a device reconnecting in a loop: its refusals are one row a minute, with a count.
    if (known) {
      await app.refusalAudit.record({ tenantId: known.tenantId, actor: { type: 'DEVICE', id: known.id }, action: 'device.authenticate', targetType: 'DEVICE', targetId: known.id, result: 'FAILURE', reasonCode });
    }
    throw new InvalidTokenError(message);
  };
  try {
    const { deviceId } = readDeviceAssertion(assertion);
    // Checked before the query: a kid that is not a uuid cannot name a device (and would be a SQL error).
    if (!deviceIdSchema.safeParse(deviceId).success) return await refuse('UNKNOWN_DEVICE', 'the device assertion names no registered device ("kid" must be a device id)');
    const [device] = await assertingDevice(app.db).execute({ deviceId });
    if (!device) return await refuse('UNKNOWN_DEVICE', 'the device assertion names no registered device');
    known = device;
    const now = app.clock.now();
    const verified = await verifyDeviceAssertion(assertion, { id: device.id, thumbprint: device.thumbprint, jwk: device.jwk }, { audience: app.issuer, now, keys: app.importedKeys });
    // Told only after the signature verifies, so only the device itself learns it was removed.
    if (device.revokedAt) return await refuse('DEVICE_REVOKED', 'this device was removed from the account; add it again from Security info');
    if (device.userDisabled) return await refuse('ACCOUNT_DISABLED', 'the account of this device is disabled');
    // Decided here from the row already read, so most requests write only their jti.
    const touch = !device.lastUsedAt || device.lastUsedAt < addSeconds(now, -LAST_USED_RESOLUTION_S) ? now : null;
    const auth: DeviceAuth = {
      kind: 'device',
      deviceId: device.id,
      userId: device.userId,
      tenantId: device.tenantId,
      assertion: { jti: verified.jti, expiresAt: new Date(verified.expiresAt * 1000), touch, state: 'unspent' },
    };
    if (spend === 'later') return auth;
    try {
      await spendAssertionAlone(app, auth);
    } catch (error) {
      if (error instanceof AssertionReplayedError) return await refuse('ASSERTION_REPLAYED', ASSERTION_REPLAYED);
      throw error;
    }
    // Spent where it was verified: the connection holds no more of it.
    delete auth.assertion;
    return auth;
  } catch (error) {
    if (error instanceof SignedMessageError) {
      if (error.code === 'WRONG_TYPE') known = await deviceNamedBy(app.db, assertion);
      return await refuse(`ASSERTION_${error.code}`, `the device assertion was refused (${error.code}): ${error.message.replace(/\.$/, '')}`);
    }
    throw error;
  }
}
