import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { preparedOn } from '../db/prepared.js';
import type { JWK } from 'jose';
import { z } from 'zod';
import { devices, phoneSignInCredentials, signInAttempts, signInLogs, tenants, users } from '../db/schema.js';
import { RESPONSE_KEYS, readChallengeResponse, verifyChallengeResponse } from '../domain/signedMessages/challengeResponse.js';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import { type RiskSignal, answerSignal, describeSignal, riskLevel } from '../domain/risk.js';
import { tenantSettingsSchema } from '../domain/settings.js';
import { type AttemptKind, countsAsFailure, decide, amrFor, isStoredAnswer } from '../domain/signInAttempt.js';
import { jwkThumbprint } from '../domain/signedMessages/p256.js';
import { SignedMessageError, type SignedMessageErrorCode } from '../domain/signedMessages/refusal.js';
import type { App } from './app.js';
import { type Attempt, type AttemptView, attemptView, expireAttempts, outcomeAudit, transition } from './attempts.js';
import { type Trail, audit, auditingRefusals } from './audit.js';
import { type DeviceAuth, spendAssertionAlone } from './devices.js';
import { locateIp } from './geo.js';
import { updateSignInLog } from './signInLogs.js';
import { fraudReported, recordFailure, recordForgery, refuseIfForging } from './signInProtection.js';
import { runUseCase } from './useCase.js';

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

const credentialDevices = alias(devices, 'credential_devices');

/**
 * What answering needs, in one prepared read: the registered key the response's kid names if it is
 * this device's own and live (its device key, or its live phone sign-in credential's), and the
 * challenge it names if it is the user's, with the tenant's settings.
 */
const answerContext = preparedOn((db) =>
  db
    .select({
      device: { id: devices.id, jwk: devices.publicJwk, thumbprint: devices.keyThumbprint },
      credential: { id: phoneSignInCredentials.id, jwk: phoneSignInCredentials.publicJwk },
      credentialDeviceId: credentialDevices.id,
      attempt: signInAttempts,
      settings: tenants.settings,
      // Where the browser is and what its sign-in raised, for the browser-and-phone-apart check.
      browser: { countryCode: signInLogs.countryCode, city: signInLogs.city, latitude: signInLogs.latitude, longitude: signInLogs.longitude, accuracyKm: signInLogs.accuracyKm },
      riskSignals: signInLogs.riskSignals,
    })
    .from(users)
    .leftJoin(
      devices,
      and(eq(devices.id, sql.placeholder('kid')), eq(devices.id, sql.placeholder('deviceId')), eq(devices.userId, users.id), isNull(devices.revokedAt)),
    )
    .leftJoin(
      phoneSignInCredentials,
      and(
        eq(phoneSignInCredentials.id, sql.placeholder('kid')),
        eq(phoneSignInCredentials.deviceId, sql.placeholder('deviceId')),
        eq(phoneSignInCredentials.userId, users.id),
        isNull(phoneSignInCredentials.revokedAt),
      ),
    )
    .leftJoin(credentialDevices, and(eq(credentialDevices.id, phoneSignInCredentials.deviceId), isNull(credentialDevices.revokedAt)))
    .leftJoin(signInAttempts, and(eq(signInAttempts.id, sql.placeholder('challengeId')), eq(signInAttempts.userId, users.id)))
    .leftJoin(tenants, eq(tenants.id, signInAttempts.tenantId))
    .leftJoin(signInLogs, eq(signInLogs.attemptId, signInAttempts.id))
    .where(eq(users.id, sql.placeholder('userId')))
    .prepare('answer_context'),
);

async function signerOf(auth: DeviceAuth, kid: string, found: { device: { id: string; jwk: JWK; thumbprint: string } | null; credential: { id: string; jwk: JWK } | null; credentialDeviceId: string | null }) {
  if (kid === auth.deviceId) return found.device ? { type: 'DEVICE' as const, key: found.device } : null;
  const credential = found.credentialDeviceId ? found.credential : null;
  return credential ? { type: 'CREDENTIAL' as const, key: { id: credential.id, jwk: credential.jwk, thumbprint: await jwkThumbprint(credential.jwk) } } : null;
}

/**
 * Answers a challenge with a signed response, checked in the contract's order: structure and
 * typ; the key (kid) is this device's, live, the challenge's user's, and one that may answer
 * this kind of challenge (RESPONSE_KEYS); signature;
 * challenge id and nonce; freshness; decision. An approval from a phone (`phoneIp`) far from the
 * browser is logged, or with riskDetection.browserPhoneApart BLOCK denied (BROWSER_PHONE_APART) and
 * answered SIGN_IN_REFUSED_FOR_RISK. The state change is one compare-and-set, so of
 * concurrent answers exactly one moves the attempt; a replay (or a late answer) gets the stored
 * outcome. Null when the challenge is unknown to this device, as for an unknown id.
 *
 * Every refusal is audited (signIn.respond, FAILURE, the error's code — BAD_SIGNATURE for a forged
 * signature — or NOT_FOUND) in its own write after the failed transaction. Only a registered,
 * live device of this tenant gets here (a fresh, single-use device assertion), so these records
 * cannot be filled by anonymous noise; that is refused, and audited only when it names a
 * registered device, in devices.ts authenticateDevice.
 */
export async function respondToChallenge(app: App, auth: DeviceAuth, response: string, phoneIp: string | null = null): Promise<AttemptView | null> {
  const trail: Trail = {
    tenantId: auth.tenantId,
    actor: { type: 'DEVICE', id: auth.deviceId },
    action: 'signIn.respond',
    targetType: 'DEVICE',
    targetId: auth.deviceId,
  };
  // Over HTTP the request's assertion was counted against the device's allowance (yoga.ts
  // authenticate); an answer on the phone's socket (its assertion spent at connect) counts the same.
  if (!auth.assertion) await app.rateLimits.consume('deviceAssertion', { ip: phoneIp, account: auth.deviceId });
  // The request's device assertion is spent in the answer's transaction; every other way out spends
  // it on its own before anything is audited or answered, so a replayed request does nothing.
  const result = await auditingRefusals(app, trail, async () => {
    try {
      return await answer(app, auth, response, trail, phoneIp);
    } catch (error) {
      await spendAssertionAlone(app, auth);
      // A forgery proves nothing about the user, so it is not their failure: capped per device, and
      // counted once the assertion is spent, so that replaying one cannot count against a device.
      if (trail.reasonCode === 'BAD_SIGNATURE') recordForgery(app, auth.deviceId);
      throw error;
    }
  });
  await spendAssertionAlone(app, auth);
  if (!result) await audit(app.db, { ...trail, result: 'FAILURE', reasonCode: 'NOT_FOUND' });
  return result;
}

/** What the answer's transaction found: a view to return as it is, no such challenge, or the attempt it tried to move (and whether it did). */
type Answered = { view: AttemptView } | { unknown: true } | { attempt: Attempt; moved: Attempt | undefined; refusedFor: RiskSignal | null };

async function answer(app: App, auth: DeviceAuth, response: string, trail: Trail, phoneIp: string | null): Promise<AttemptView | null> {
  const now = app.clock.now();
  let read: ReturnType<typeof readChallengeResponse>;
  try {
    read = readChallengeResponse(response);
  } catch (error) {
    throw asDomainError(error);
  }
  // From here the refusal is about the challenge the response names (an id, not yet trusted).
  Object.assign(trail, { targetType: 'SIGN_IN_ATTEMPT', targetId: read.claims.challengeId });
  if (!uuid.safeParse(read.kid).success) throw new DomainError('CREDENTIAL_NOT_USABLE', CREDENTIAL_NOT_USABLE, 'response');

  // One transaction for the whole answer: the assertion's jti, the read of what answering needs,
  // and the writes. A refusal thrown in it rolls it back; the caller then spends the jti alone.
  const answered: Answered = await runUseCase(app, async (tx, outbox) => {
    const [found] = await answerContext(tx).execute({ kid: read.kid, deviceId: auth.deviceId, userId: auth.userId, challengeId: read.claims.challengeId });
    const signer = found ? await signerOf(auth, read.kid, found) : null;
    if (!signer) throw new DomainError('CREDENTIAL_NOT_USABLE', CREDENTIAL_NOT_USABLE, 'response');
    const attempt = found!.attempt;
    if (!attempt) return { unknown: true };
    if (!RESPONSE_KEYS[attempt.kind].includes(signer.type)) throw new DomainError('CREDENTIAL_NOT_USABLE', KEY_NOT_ACCEPTED[attempt.kind], 'response');
    const settings = tenantSettingsSchema.parse(found!.settings ?? {});

    refuseIfForging(app, auth.deviceId);
    let claims: Awaited<ReturnType<typeof verifyChallengeResponse>>;
    try {
      claims = await verifyChallengeResponse(response, signer.key, attempt, now, app.importedKeys);
    } catch (error) {
      if (error instanceof SignedMessageError && error.code === 'BAD_SIGNATURE') trail.reasonCode = 'BAD_SIGNATURE';
      if (error instanceof SignedMessageError && error.code === 'STALE' && (await isLateReplay(app, auth, response, signer.key, attempt))) return { view: attemptView(attempt) };
      throw asDomainError(error);
    }

    if (attempt.status !== 'PENDING') return { view: attemptView(attempt) };
    const outcome = decide(claims, attempt.number);
    if (outcome.kind === 'REFUSED') {
      throw new DomainError('USER_VERIFICATION_REQUIRED', 'Approving needs the PIN or biometric check on the phone first (uv was "none"): verify and sign again.', 'response');
    }

    // An approval from a phone far from the browser looks like a sign-in relayed from a look-alike page.
    const browserPlace = found!.browser?.countryCode || found!.browser?.city ? found!.browser : null;
    const apart =
      outcome.kind === 'APPROVED' && settings.riskDetection.browserPhoneApart !== 'OFF'
        ? answerSignal({ ipAddress: attempt.ipAddress, place: browserPlace, anonymousNetwork: null }, await locateIp(app, phoneIp), settings.riskDetection)
        : null;
    const signals = apart ? [...(found!.riskSignals ?? []), apart] : null;
    const risk = signals ? { level: riskLevel(signals), signals } : undefined;
    const refused = apart?.action === 'BLOCK';

    // A denial goes on to write the user row (failures, fraud) and other attempts: it locks the user
    // first, as beginSignIn does, since one lock order (user, then attempts) rules out deadlocks. An
    // approval locks only its own attempt, so it needs no user lock.
    if (outcome.kind === 'DENIED') await tx.select({ id: users.id }).from(users).where(eq(users.id, attempt.userId)).for('update');
    const change = { resolvedAt: now, respondingDeviceId: auth.deviceId, userVerification: claims.uv };
    const notExpired = gt(signInAttempts.expiresAt, now);
    const moved =
      outcome.kind === 'APPROVED' && !refused
        ? await transition(tx, attempt.id, 'APPROVED', { ...change, amr: amrFor(attempt.kind, outcome.uv) }, notExpired)
        : await transition(tx, attempt.id, 'DENIED', { ...change, failureReason: outcome.kind === 'DENIED' ? outcome.reason : 'BROWSER_PHONE_APART' }, notExpired);
    if (!moved) return { attempt, moved, refusedFor: null };
    await updateSignInLog(tx, moved.id, {
      status: moved.status === 'APPROVED' ? 'IN_PROGRESS' : 'FAILURE',
      reasonCode: moved.failureReason,
      deviceId: auth.deviceId,
      risk,
      at: now,
    }, outbox, outcomeAudit(moved, { type: 'DEVICE', id: auth.deviceId }));
    outbox.attemptChanged(moved);
    if (outcome.kind === 'DENIED' && countsAsFailure(outcome.reason)) await recordFailure(tx, moved.userId, settings, now, outbox);
    if (outcome.kind === 'DENIED' && outcome.reason === 'FRAUD_REPORTED') await fraudReported(tx, moved, settings, now, outbox);
    return { attempt, moved, refusedFor: refused ? apart : null };
  }, auth);

  if ('view' in answered) return answered.view;
  if ('unknown' in answered) return null;
  const { attempt, moved, refusedFor } = answered;
  if (moved && refusedFor) {
    throw new DomainError('SIGN_IN_REFUSED_FOR_RISK', `${describeSignal(refusedFor)} Your organisation refuses approvals from a phone this far from the browser, as a sign-in relayed from a fake page looks like this; the sign-in was denied. If it was you, sign in on a device near this phone.`, 'response');
  }
  if (moved) return attemptView(moved);
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
