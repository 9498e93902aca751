import { and, asc, eq, exists, gt, inArray, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { devices, phoneSignInCredentials, signInAttempts, users } from '../db/schema.js';
import { RESPONSE_KEYS, type ResponseKey, readChallengeResponse, verifyChallengeResponse } from '../domain/signedMessages/challengeResponse.js';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import type { TenantSettings } from '../domain/settings.js';
import { type AttemptKind, countsAsFailure, decide, amrFor, isStoredAnswer } from '../domain/signInAttempt.js';
import { jwkThumbprint } from '../domain/signedMessages/p256.js';
import { SignedMessageError, type SignedMessageErrorCode } from '../domain/signedMessages/refusal.js';
import type { App } from './app.js';
import { type Attempt, type AttemptView, attemptView, auditOutcome, expireAttempts, transition } from './attempts.js';
import { type Trail, audit, auditingRefusals } from './audit.js';
import type { DeviceAuth } from './devices.js';
import { liveCredentials } from './phoneSignInCredential.js';
import { loadTenantSettings } from './policy.js';
import { updateSignInLog } from './signInLogs.js';
import { fraudReported, recordFailure, recordForgery, refuseIfForging } from './signInProtection.js';
import { runUseCase } from './useCase.js';

/** A challenge as an authenticator sees it: never the number itself, unless as one of several choices. */
export interface ChallengeView {
  id: string;
  kind: AttemptKind;
  nonce: string;
  userPrincipalName: string;
  appName: string | null;
  location: string | null;
  ipAddress: string | null;
  expiresAt: Date;
  numberChoices: string[] | null;
  /** When the attempt began: the start of its push latency (not shown to the phone). */
  createdAt: Date;
}

function challengeView(attempt: Attempt, userPrincipalName: string, settings: TenantSettings): ChallengeView {
  return {
    id: attempt.id,
    kind: attempt.kind,
    nonce: attempt.nonce,
    userPrincipalName,
    appName: settings.showApplicationName ? attempt.appName : null,
    // The IP address says where as much as the place does, so the location setting governs both.
    location: settings.showGeographicLocation ? attempt.location : null,
    ipAddress: settings.showGeographicLocation ? attempt.ipAddress : null,
    expiresAt: attempt.expiresAt,
    numberChoices: attempt.numberStyle === 'CHOICE' ? attempt.numberChoices : null,
    createdAt: attempt.createdAt,
  };
}

/**
 * The kinds of challenge each of these devices may see and answer now (RESPONSE_KEYS): push MFA
 * while it is registered to its user and not revoked, passwordless sign-in only while it also
 * holds a live phone sign-in credential (as liveCredentials defines it). Re-read on every
 * delivery, for all of a node's devices in one query: a removal takes effect at once.
 */
async function visibleKinds(db: Executor, deviceIds: string[]): Promise<Map<string, { userId: string; kinds: AttemptKind[] }>> {
  const rows = await db
    .select({
      id: devices.id,
      userId: devices.userId,
      hasCredential: exists(
        db
          .select({ id: phoneSignInCredentials.id })
          .from(phoneSignInCredentials)
          .where(and(eq(phoneSignInCredentials.deviceId, devices.id), eq(phoneSignInCredentials.userId, devices.userId), isNull(phoneSignInCredentials.revokedAt))),
      ).mapWith(Boolean),
    })
    .from(devices)
    .where(and(inArray(devices.id, deviceIds), isNull(devices.revokedAt)));
  return new Map(
    rows.map((device) => {
      const keys: ResponseKey[] = device.hasCredential ? ['DEVICE', 'CREDENTIAL'] : ['DEVICE'];
      const kinds = (Object.keys(RESPONSE_KEYS) as AttemptKind[]).filter((kind) => RESPONSE_KEYS[kind].some((key) => keys.includes(key)));
      return [device.id, { userId: device.userId, kinds }];
    }),
  );
}

/**
 * Pending, unexpired challenges of several users, for each of the devices given (each sees what
 * visibleKinds allows): three statements whatever the number of users and devices.
 */
export async function pendingForDevices(app: App, userIds: string[], devicesOf: (userId: string) => DeviceAuth[]): Promise<Map<string, Map<DeviceAuth, ChallengeView[]>>> {
  const result = new Map<string, Map<DeviceAuth, ChallengeView[]>>();
  const auths = userIds.flatMap(devicesOf);
  if (auths.length === 0) return result;
  const visible = await visibleKinds(app.db, [...new Set(auths.map((a) => a.deviceId))]);
  const seen = (auth: DeviceAuth) => (visible.get(auth.deviceId)?.userId === auth.userId ? visible.get(auth.deviceId)!.kinds : []);
  const watched = userIds.filter((userId) => devicesOf(userId).some((auth) => seen(auth).length > 0));
  if (watched.length === 0) return result;
  const rows = await app.db
    .select({ attempt: signInAttempts, userPrincipalName: users.userPrincipalName, tenantId: users.tenantId })
    .from(signInAttempts)
    .innerJoin(users, eq(users.id, signInAttempts.userId))
    .where(and(inArray(signInAttempts.userId, watched), eq(signInAttempts.status, 'PENDING'), gt(signInAttempts.expiresAt, app.clock.now())))
    .orderBy(asc(signInAttempts.createdAt));
  const settings = new Map<string, TenantSettings>();
  for (const tenantId of new Set(rows.map((r) => r.tenantId))) settings.set(tenantId, await loadTenantSettings(app.db, tenantId));
  for (const userId of watched) {
    const mine = rows.filter((r) => r.attempt.userId === userId);
    const forDevice = new Map<DeviceAuth, ChallengeView[]>();
    for (const auth of devicesOf(userId)) {
      const kinds = seen(auth);
      forDevice.set(auth, mine.filter((r) => kinds.includes(r.attempt.kind)).map((r) => challengeView(r.attempt, r.userPrincipalName, settings.get(r.tenantId)!)));
    }
    result.set(userId, forDevice);
  }
  return result;
}

/** For apps that poll: every challenge waiting for this device's user. */
export async function pendingChallenges(app: App, auth: DeviceAuth): Promise<ChallengeView[]> {
  return (await pendingForDevices(app, [auth.userId], () => [auth])).get(auth.userId)?.get(auth) ?? [];
}

/**
 * Every pending challenge from the database, then each new one as it is pushed (or found again
 * after the event transport was away), re-checked each time (visibleKinds). A challenge is sent
 * once per subscription; a new subscription sends the pending ones again. Events carry only a user
 * id, which is not trusted: every delivery is a fresh read of what this device may see, one read
 * per node for all of that user's local devices (the hub in live.ts).
 */
export function watchChallenges(app: App, auth: DeviceAuth): AsyncIterable<ChallengeView> {
  return app.live.challenges.subscribe(auth.userId, auth);
}

const RESPONSE_ERRORS: Record<SignedMessageErrorCode, ErrorCode> = {
  MALFORMED: 'INVALID_CHALLENGE_RESPONSE',
  WRONG_TYPE: 'INVALID_CHALLENGE_RESPONSE',
  UNSUPPORTED_ALGORITHM: 'INVALID_CHALLENGE_RESPONSE',
  WRONG_KEY_REFERENCE: 'INVALID_CHALLENGE_RESPONSE',
  WRONG_AUDIENCE: 'INVALID_CHALLENGE_RESPONSE',
  WRONG_CLAIM: 'INVALID_CHALLENGE_RESPONSE',
  WEAK_JTI: 'INVALID_CHALLENGE_RESPONSE',
  LIFETIME_TOO_LONG: 'INVALID_CHALLENGE_RESPONSE',
  STALE: 'CHALLENGE_RESPONSE_STALE',
  NOT_YET_VALID: 'CHALLENGE_RESPONSE_STALE',
  EXPIRED: 'CHALLENGE_RESPONSE_STALE',
  INVALID_KEY: 'INVALID_SIGNATURE',
  UNKNOWN_KEY: 'INVALID_SIGNATURE',
  BAD_SIGNATURE: 'INVALID_SIGNATURE',
};

const asDomainError = (error: unknown) =>
  error instanceof SignedMessageError ? new DomainError(RESPONSE_ERRORS[error.code], error.message, 'response') : error;

const uuid = z.uuid();
const CREDENTIAL_NOT_USABLE =
  'The response is not signed by a live phone sign-in credential of this device: enable phone sign-in in the app again.';
const KEY_NOT_ACCEPTED: Record<AttemptKind, string> = {
  PHONE_SIGN_IN:
    'A PHONE_SIGN_IN challenge must be answered with the phone sign-in credential key (kid = credentialId), not the device key: enable phone sign-in in the app.',
  PUSH_MFA: 'A PUSH_MFA challenge must be answered with this device\'s key (kid = deviceId) or its phone sign-in credential key (kid = credentialId).',
};

/** The registered key a response's kid names, if it is this device's own and live: its device key, or its credential key. */
async function responseKey(db: Executor, auth: DeviceAuth, kid: string) {
  if (!uuid.safeParse(kid).success) return null;
  if (kid === auth.deviceId) {
    const [device] = await db
      .select({ id: devices.id, jwk: devices.publicJwk, thumbprint: devices.keyThumbprint })
      .from(devices)
      .where(and(eq(devices.id, kid), eq(devices.userId, auth.userId), isNull(devices.revokedAt)));
    return device ? { type: 'DEVICE' as const, key: device } : null;
  }
  const [credential] = await liveCredentials(db, { userId: auth.userId, deviceId: auth.deviceId, credentialId: kid });
  return credential ? { type: 'CREDENTIAL' as const, key: { id: credential.id, jwk: credential.jwk, thumbprint: await jwkThumbprint(credential.jwk) } } : null;
}

/**
 * Answers a challenge with a signed response, checked in the contract's order: structure and
 * typ; the key (kid) is this device's, live, the challenge's user's, and one that may answer
 * this kind of challenge (RESPONSE_KEYS); signature;
 * challenge id and nonce; freshness; decision. The state change is one compare-and-set, so of
 * concurrent answers exactly one moves the attempt; a replay (or a late answer) gets the stored
 * outcome. Null when the challenge is unknown to this device, as for an unknown id.
 *
 * Every refusal is audited (signIn.respond, FAILURE, the error's code — BAD_SIGNATURE for a forged
 * signature — or NOT_FOUND) in its own write after the failed transaction. Only a registered,
 * live device of this tenant gets here (a fresh, single-use device assertion), so these records
 * cannot be filled by anonymous noise; that is refused, and audited only when it names a
 * registered device, in devices.ts authenticateDevice.
 */
export async function respondToChallenge(app: App, auth: DeviceAuth, response: string): Promise<AttemptView | null> {
  const trail: Trail = {
    tenantId: auth.tenantId,
    actor: { type: 'DEVICE', id: auth.deviceId },
    action: 'signIn.respond',
    targetType: 'DEVICE',
    targetId: auth.deviceId,
  };
  const result = await auditingRefusals(app, trail, () => answer(app, auth, response, trail));
  if (!result) await audit(app.db, { ...trail, result: 'FAILURE', reasonCode: 'NOT_FOUND' });
  return result;
}

async function answer(app: App, auth: DeviceAuth, response: string, trail: Trail): Promise<AttemptView | null> {
  const now = app.clock.now();
  let read: ReturnType<typeof readChallengeResponse>;
  try {
    read = readChallengeResponse(response);
  } catch (error) {
    throw asDomainError(error);
  }
  // From here the refusal is about the challenge the response names (an id, not yet trusted).
  Object.assign(trail, { targetType: 'SIGN_IN_ATTEMPT', targetId: read.claims.challengeId });

  const signer = await responseKey(app.db, auth, read.kid);
  if (!signer) throw new DomainError('CREDENTIAL_NOT_USABLE', CREDENTIAL_NOT_USABLE, 'response');
  const [attempt] = await app.db
    .select()
    .from(signInAttempts)
    .where(and(eq(signInAttempts.id, read.claims.challengeId), eq(signInAttempts.userId, auth.userId)));
  if (!attempt) return null;
  if (!RESPONSE_KEYS[attempt.kind].includes(signer.type)) throw new DomainError('CREDENTIAL_NOT_USABLE', KEY_NOT_ACCEPTED[attempt.kind], 'response');
  const settings = await loadTenantSettings(app.db, attempt.tenantId);

  refuseIfForging(app, auth.deviceId);
  let claims: Awaited<ReturnType<typeof verifyChallengeResponse>>;
  try {
    claims = await verifyChallengeResponse(response, signer.key, attempt, now, app.importedKeys);
  } catch (error) {
    if (error instanceof SignedMessageError && error.code === 'BAD_SIGNATURE') {
      // Proves nothing about the user, so it is not their failure: audited and capped per device.
      trail.reasonCode = 'BAD_SIGNATURE';
      recordForgery(app, auth.deviceId);
    }
    if (error instanceof SignedMessageError && error.code === 'STALE' && (await isLateReplay(app, auth, response, signer.key, attempt))) return attemptView(attempt);
    throw asDomainError(error);
  }

  if (attempt.status !== 'PENDING') return attemptView(attempt);
  const outcome = decide(claims, attempt.number);
  if (outcome.kind === 'REFUSED') {
    throw new DomainError('USER_VERIFICATION_REQUIRED', 'Approving needs the PIN or biometric check on the phone first (uv was "none"): verify and sign again.', 'response');
  }

  const result = await runUseCase(app, async (tx, outbox) => {
    // The user row first, as beginSignIn does: one lock order (user, then attempts) rules out deadlocks.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, attempt.userId)).for('update');
    const answered = { resolvedAt: now, respondingDeviceId: auth.deviceId, userVerification: claims.uv };
    const notExpired = gt(signInAttempts.expiresAt, now);
    const moved =
      outcome.kind === 'APPROVED'
        ? await transition(tx, attempt.id, 'APPROVED', { ...answered, amr: amrFor(attempt.kind, outcome.uv) }, notExpired)
        : await transition(tx, attempt.id, 'DENIED', { ...answered, failureReason: outcome.reason }, notExpired);
    if (!moved) return null;
    await updateSignInLog(tx, moved.id, {
      status: moved.status === 'APPROVED' ? 'IN_PROGRESS' : 'FAILURE',
      reasonCode: moved.failureReason,
      deviceId: auth.deviceId,
      at: now,
    }, outbox);
    await auditOutcome(tx, moved, { type: 'DEVICE', id: auth.deviceId });
    outbox.attemptChanged(moved.id, moved.status);
    if (outcome.kind === 'DENIED' && countsAsFailure(outcome.reason)) await recordFailure(tx, moved.userId, settings, now, outbox);
    if (outcome.kind === 'DENIED' && outcome.reason === 'FRAUD_REPORTED') await fraudReported(tx, moved, settings, now, outbox);
    return moved;
  });
  if (result) return attemptView(result);
  // Another answer won the race, or the challenge expired just now: report what is stored.
  if (attempt.expiresAt <= now) await expireAttempts(app, attempt.id);
  const [current] = await app.db.select().from(signInAttempts).where(eq(signInAttempts.id, attempt.id));
  // Deleted meanwhile (with its user, say): unknown now, as for an unknown id.
  return current ? attemptView(current) : null;
}

/**
 * Whether a response too old to answer with is a replay of the answer that resolved the attempt
 * (domain isStoredAnswer): from the device that answered, and fresh when it answered.
 */
async function isLateReplay(app: App, auth: DeviceAuth, response: string, key: Parameters<typeof verifyChallengeResponse>[1], attempt: Attempt): Promise<boolean> {
  if (!attempt.resolvedAt || attempt.respondingDeviceId !== auth.deviceId) return false;
  try {
    return isStoredAnswer(await verifyChallengeResponse(response, key, attempt, attempt.resolvedAt, app.importedKeys), attempt);
  } catch (error) {
    if (error instanceof SignedMessageError) return false;
    throw error;
  }
}
