import { type SQL, and, asc, eq, exists, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { preparedOn } from '../db/prepared.js';
import { devices, phoneSignInCredentials, signInAttempts, tenants, users } from '../db/schema.js';
import { RESPONSE_KEYS, type ResponseKey } from '../domain/signedMessages/challengeResponse.js';
import { type TenantSettings, tenantSettingsSchema } from '../domain/settings.js';
import type { AttemptKind } from '../domain/signInAttempt.js';
import type { App } from './app.js';
import type { Attempt } from './attempts.js';
import type { DeviceAuth } from './devices.js';

// What a phone is shown: the challenges pending for its user that it may answer, read for the
// polling query and for the live hub. Answering them is challenges.ts.

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
  /** What looks unusual about the sign-in, for the app to show above the number (domain/risk.ts riskWarning). */
  riskWarning: string | null;
  /** When the attempt began: the start of its push latency (not shown to the phone). */
  createdAt: Date;
}

/** What an authenticator is shown of an attempt, as the tenant's settings allow (from a stored row, or from a new one as it is written). */
export function challengeView(
  attempt: Pick<Attempt, 'id' | 'kind' | 'nonce' | 'appName' | 'location' | 'ipAddress' | 'expiresAt' | 'numberStyle' | 'numberChoices' | 'riskWarning' | 'createdAt'>,
  userPrincipalName: string,
  settings: TenantSettings,
): ChallengeView {
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
    // Shown whatever showGeographicLocation says: it is the warning the tenant asked for.
    riskWarning: attempt.riskWarning,
    createdAt: attempt.createdAt,
  };
}

/** The kinds of challenge a device may see and answer (RESPONSE_KEYS), given whether it holds a live phone sign-in credential. */
const visibleKinds = (hasCredential: boolean): AttemptKind[] => {
  const keys: ResponseKey[] = hasCredential ? ['DEVICE', 'CREDENTIAL'] : ['DEVICE'];
  return (Object.keys(RESPONSE_KEYS) as AttemptKind[]).filter((kind) => RESPONSE_KEYS[kind].some((key) => keys.includes(key)));
};

/** Pending, unexpired challenges of the users `which` names, once for each live device of their user (of those `onDevices` allows). */
function pendingQuery(db: Database, which: SQL | undefined, now: Date | SQL, onDevices?: SQL) {
  return db
    .select({
      attempt: signInAttempts,
      userPrincipalName: users.userPrincipalName,
      settings: tenants.settings,
      deviceId: devices.id,
      hasCredential: exists(
        db
          .select({ id: phoneSignInCredentials.id })
          .from(phoneSignInCredentials)
          .where(and(eq(phoneSignInCredentials.deviceId, devices.id), eq(phoneSignInCredentials.userId, devices.userId), isNull(phoneSignInCredentials.revokedAt))),
      ).mapWith(Boolean),
    })
    .from(signInAttempts)
    .innerJoin(users, eq(users.id, signInAttempts.userId))
    .innerJoin(tenants, eq(tenants.id, signInAttempts.tenantId))
    .innerJoin(devices, and(onDevices, eq(devices.userId, signInAttempts.userId), isNull(devices.revokedAt)))
    .where(and(which, eq(signInAttempts.status, 'PENDING'), gt(signInAttempts.expiresAt, now)))
    .orderBy(asc(signInAttempts.createdAt));
}

const pendingOfOneUser = preparedOn((db) =>
  pendingQuery(db, eq(signInAttempts.userId, sql.placeholder('userId')), sql`${sql.placeholder('now')}::timestamptz`).prepare('pending_of_one_user'),
);

/**
 * Pending, unexpired challenges of several users, for each of the devices given: a device sees its
 * user's challenges while it is registered to that user and not revoked, and passwordless ones only
 * while it also holds a live phone sign-in credential (visibleKinds). One statement whatever the
 * number of users and devices, re-read on every delivery, so a removal takes effect at once.
 */
export async function pendingForDevices(app: App, userIds: string[], devicesOf: (userId: string) => DeviceAuth[]): Promise<Map<string, Map<DeviceAuth, ChallengeView[]>>> {
  const result = new Map<string, Map<DeviceAuth, ChallengeView[]>>();
  const deviceIds = [...new Set(userIds.flatMap(devicesOf).map((auth) => auth.deviceId))];
  if (deviceIds.length === 0) return result;
  // A push concerns one user (the prepared read); a catch-up reads many at once. Rows of the user's
  // devices not connected here are read too, and left out below.
  const now = app.clock.now();
  const rows =
    userIds.length === 1
      ? await pendingOfOneUser(app.db).execute({ userId: userIds[0], now: now.toISOString() })
      : await pendingQuery(app.db, inArray(signInAttempts.userId, userIds), now, inArray(devices.id, deviceIds));
  const settings = new Map<string, TenantSettings>();
  const settingsOf = (row: (typeof rows)[number]) => {
    const known = settings.get(row.attempt.tenantId) ?? tenantSettingsSchema.parse(row.settings ?? {});
    settings.set(row.attempt.tenantId, known);
    return known;
  };
  const byDevice = new Map<string, typeof rows>();
  for (const row of rows) byDevice.set(row.deviceId, [...(byDevice.get(row.deviceId) ?? []), row]);
  for (const userId of userIds) {
    const forDevice = new Map<DeviceAuth, ChallengeView[]>();
    for (const auth of devicesOf(userId)) {
      const mine = (byDevice.get(auth.deviceId) ?? []).filter((row) => row.attempt.userId === auth.userId);
      const kinds = mine.length > 0 ? visibleKinds(mine[0]!.hasCredential) : [];
      forDevice.set(auth, mine.filter((row) => kinds.includes(row.attempt.kind)).map((row) => challengeView(row.attempt, row.userPrincipalName, settingsOf(row))));
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
