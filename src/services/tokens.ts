import { randomBytes } from 'node:crypto';
import { type SQL, and, desc, eq, isNull, sql } from 'drizzle-orm';
import {
  type CryptoKey,
  type JWK,
  type JWTPayload,
  SignJWT,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose';
import { type Database, type Executor, rowsOf } from '../db/client.js';
import { signingKeys } from '../db/platformSchema.js';
import { sessions } from '../db/schema.js';
import { addSeconds, type Clock } from '../domain/clock.js';

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  tid: string;
  sid: string;
  amr: string[];
  exp: number;
}

/** Whom a token is issued to, and how they signed in. */
export interface Subject {
  tenantId: string;
  userId: string;
  amr: string[];
}

export interface IssuedToken {
  accessToken: string;
  expiresAt: Date;
  sessionId: string;
  /** The session may only register a second factor (an admin signed in with a password alone). */
  registrationRequired?: boolean;
}

export class InvalidTokenError extends Error {}

/** The credential is not an access token of this service at all (garbage, a forged or foreign JWT), as opposed to one that has ended. */
export class NotAnAccessTokenError extends InvalidTokenError {}

const ALG = 'ES256';
/** Arbitrary constant naming the advisory lock held while the first signing key is made. */
const SIGNING_KEY_LOCK = 7_261_001;
/** A token signed by a key this node has not seen makes it re-read the keys, at most this often. */
const KEY_RELOAD_MIN_INTERVAL_MS = 10_000;
/** RFC 9068 requires a unique `jti`; 128 random bits make collisions negligible. */
const JTI_BYTES = 16;

const safeKid = (token: string): string | undefined => {
  try {
    const { kid } = decodeProtectedHeader(token);
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Issues and verifies the service's access tokens. The ES256 key is made on first start and kept
 * in the database, so every node (and every restart) signs and verifies with the same keys.
 */
export class TokenService {
  private signing?: { kid: string; key: CryptoKey };
  private verifying = new Map<string, CryptoKey>();
  private publicJwks: JWK[] = [];
  private privateJwkList: JWK[] = [];
  private loadedAt = 0;

  constructor(
    private readonly db: Database,
    readonly issuer: string,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Loads the signing keys, creating the first one if the database has none. Several nodes may
   * start at once on one database: an advisory lock lets exactly one of them make the key.
   */
  async init(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`);
      const [existing] = await tx.select({ kid: signingKeys.kid }).from(signingKeys).limit(1);
      if (existing) return;
      const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
      const publicJwk = { ...(await exportJWK(publicKey)), alg: ALG, use: 'sig' };
      const kid = await calculateJwkThumbprint(publicJwk);
      await tx.insert(signingKeys).values({ kid, privateJwk: await exportJWK(privateKey), publicJwk: { ...publicJwk, kid } });
    });
    await this.load();
  }

  /** Reads every key: the newest signs, all verify (so keys can be rotated by adding one). */
  private async load(): Promise<void> {
    const rows = await this.db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt));
    const newest = rows[0]!;
    this.signing = { kid: newest.kid, key: (await importJWK(newest.privateJwk, ALG)) as CryptoKey };
    for (const row of rows) this.verifying.set(row.kid, (await importJWK(row.publicJwk, ALG)) as CryptoKey);
    this.publicJwks = rows.map((r) => r.publicJwk);
    this.privateJwkList = rows.map((r) => ({ ...r.privateJwk, kid: r.kid, alg: ALG, use: 'sig' }));
    this.loadedAt = Date.now();
  }

  /** The JWK set served at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    return { keys: this.publicJwks };
  }

  /**
   * The signing keys with their private parts, newest first: the OpenID Connect provider signs ID
   * tokens with them, so one JWK set verifies both its tokens and this service's access tokens.
   */
  privateJwks(): JWK[] {
    return this.privateJwkList;
  }

  /** Opens a session and signs an access token for it, inside the caller's transaction. */
  async issue(tx: Executor, subject: Subject): Promise<IssuedToken> {
    const { now, expiresAt } = this.lifetime();
    const [session] = await tx
      .insert(sessions)
      .values({ tenantId: subject.tenantId, userId: subject.userId, amr: subject.amr, expiresAt, createdAt: now })
      .returning({ id: sessions.id });
    return this.sign(subject, session!.id, now, expiresAt);
  }

  /**
   * As issue, but the session opens only if `provided` — a data-modifying statement with RETURNING,
   * run in the same statement (the user update that also finds the account enabled, say) — returns
   * a row. Null, with nothing written by the insert, when it returns none.
   */
  async issueIf(tx: Executor, subject: Subject, provided: SQL): Promise<IssuedToken | null> {
    const { now, expiresAt } = this.lifetime();
    const [session] = rowsOf<{ id: string }>(
      await tx.execute(sql`with provided as (${provided}) insert into ${sessions} (tenant_id, user_id, amr, created_at, expires_at)
        select ${subject.tenantId}::uuid, ${subject.userId}::uuid, ${JSON.stringify(subject.amr)}::jsonb, ${now.toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz
        from provided limit 1 returning id`),
    );
    return session ? this.sign(subject, session.id, now, expiresAt) : null;
  }

  private lifetime() {
    const now = this.clock.now();
    return { now, expiresAt: addSeconds(now, this.ttlSeconds) };
  }

  private async sign(subject: Subject, sessionId: string, now: Date, expiresAt: Date): Promise<IssuedToken> {
    if (!this.signing) throw new Error('TokenService.init() was not called');
    // RFC 9068 requires client_id. The only client today is this service's own first-party sign-in
    // (there is no client registration or authorization endpoint yet), so the client is the issuer.
    // aud is the issuer too: these tokens are for this API alone.
    const accessToken = await new SignJWT({ tid: subject.tenantId, sid: sessionId, amr: subject.amr, client_id: this.issuer })
      .setProtectedHeader({ alg: ALG, typ: 'at+jwt', kid: this.signing.kid })
      .setIssuer(this.issuer)
      .setAudience(this.issuer)
      .setJti(randomBytes(JTI_BYTES).toString('base64url'))
      .setSubject(subject.userId)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.signing.key);
    return { accessToken, expiresAt, sessionId };
  }

  /** Verifies signature, issuer, audience, expiry and that the session is still open. */
  async verify(token: string): Promise<AccessTokenClaims> {
    let payload: JWTPayload;
    const kid = safeKid(token);
    if (kid && !this.verifying.has(kid) && Date.now() - this.loadedAt > KEY_RELOAD_MIN_INTERVAL_MS) await this.load();
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid ? this.verifying.get(header.kid) : undefined;
          if (!key) throw new NotAnAccessTokenError(`unknown signing key "${String(header.kid)}"`);
          return key;
        },
        { issuer: this.issuer, audience: this.issuer, algorithms: [ALG], typ: 'at+jwt', currentDate: this.clock.now() },
      ));
    } catch (error) {
      // jose checks the signature before the claims, so an expired token is one this service signed.
      if (error instanceof joseErrors.JWTExpired) throw new InvalidTokenError('the access token has expired');
      if (error instanceof joseErrors.JOSEError || error instanceof InvalidTokenError) throw new NotAnAccessTokenError('the access token is not valid');
      throw error;
    }
    const { sub, tid, sid, amr, exp } = payload;
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof sid !== 'string' || !Array.isArray(amr) || typeof exp !== 'number') {
      throw new NotAnAccessTokenError('the access token lacks sub, tid, sid, amr or exp');
    }
    const [session] = await this.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.id, sid), eq(sessions.userId, sub), isNull(sessions.revokedAt)));
    if (!session) throw new InvalidTokenError('the session of this access token has ended');
    return payload as AccessTokenClaims;
  }

  /** Ends a session: every token issued for it is refused from now on. */
  async revoke(sessionId: string, tx: Executor = this.db): Promise<void> {
    await tx.update(sessions).set({ revokedAt: this.clock.now() }).where(eq(sessions.id, sessionId));
  }
}
