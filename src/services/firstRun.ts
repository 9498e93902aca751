import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { setupCodes } from '../db/platformSchema.js';
import { tenants } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import type { App } from './app.js';
import { type CreateTenantInput, insertTenant, tenantAdminPasswordHash } from './tenants.js';
import { runUseCase } from './useCase.js';

/**
 * First run: a node that starts on a database without a tenant prints a one-time setup code to
 * its console (as Jenkins and Grafana do); /setup redeems it once to create the first tenant and
 * its admin. OPERATOR_TOKEN stays the way for automation.
 */

const ROW_ID = 'first-run';
/** Crockford's base32: no I, L, O or U, so a code read off a terminal is typed back right. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 28 characters of 5 bits: 140 bits, beyond guessing even without the throttle. */
const CODE_LENGTH = 28;
/** Wrong codes tolerated before the code is burned (a restart prints a new one). */
export const SETUP_CODE_MAX_FAILURES = 10;

const hashOf = (code: string) => createHash('sha256').update(normalise(code)).digest();

/** Upper case, without spaces or dashes, with the letters people confuse for digits read as those digits. */
function normalise(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

const wrongCode = () => new DomainError('SETUP_CODE_INVALID', 'That setup code is wrong. Copy it from the line the service printed to its console when it started.', 'setupCode');
const alreadySetUp = () => new DomainError('ALREADY_SET_UP', 'This service is already set up. Sign in on the sign-in page instead.');

/** Whether the database has no tenant yet, so /setup is still open. */
export async function setupRequired(app: App): Promise<boolean> {
  const [row] = await app.db.select({ id: tenants.id }).from(tenants).limit(1);
  return !row;
}

/**
 * A new setup code when no tenant exists (null otherwise); it replaces any earlier one, so the
 * code printed last, by whichever node, is the one that works. Only its hash is stored.
 */
export async function issueSetupCode(app: App): Promise<string | null> {
  if (!(await setupRequired(app))) return null;
  const code = Array.from({ length: CODE_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const codeHash = hashOf(code).toString('hex');
  await app.db
    .insert(setupCodes)
    .values({ id: ROW_ID, codeHash, createdAt: app.clock.now() })
    .onConflictDoUpdate({ target: setupCodes.id, set: { codeHash, failedAttempts: 0, createdAt: app.clock.now() } });
  return code.match(/.{4}/g)!.join('-');
}

/**
 * Creates the first tenant and its admin, given the setup code: compared in constant time,
 * counted when wrong, and spent in the same transaction that creates the tenant (a creation that
 * fails leaves it usable).
 */
export async function createFirstTenant(app: App, input: CreateTenantInput & { setupCode: string }) {
  const given = hashOf(input.setupCode);
  const [row] = await app.db.select().from(setupCodes).where(eq(setupCodes.id, ROW_ID));
  if (!row) throw (await setupRequired(app)) ? new DomainError('SETUP_CODE_INVALID', 'No setup code is active. Restart the service to print a new one.', 'setupCode') : alreadySetUp();
  if (!timingSafeEqual(Buffer.from(row.codeHash, 'hex'), given)) {
    const [counted] = await app.db
      .update(setupCodes)
      .set({ failedAttempts: sql`${setupCodes.failedAttempts} + 1` })
      .where(eq(setupCodes.id, ROW_ID))
      .returning({ failedAttempts: setupCodes.failedAttempts });
    if (counted && counted.failedAttempts >= SETUP_CODE_MAX_FAILURES) {
      await app.db.delete(setupCodes).where(eq(setupCodes.id, ROW_ID));
      throw new DomainError('SETUP_CODE_INVALID', 'Too many wrong setup codes: this code no longer works. Restart the service to print a new one.', 'setupCode');
    }
    throw wrongCode();
  }
  const passwordHash = await tenantAdminPasswordHash(input);
  return runUseCase(app, async (tx) => {
    // Spent by compare-and-delete: of two requests with the right code, one creates the tenant.
    const [spent] = await tx.delete(setupCodes).where(eq(setupCodes.codeHash, row.codeHash)).returning({ id: setupCodes.id });
    if (!spent) throw wrongCode();
    const [existing] = await tx.select({ id: tenants.id }).from(tenants).limit(1);
    if (existing) throw alreadySetUp();
    return insertTenant(tx, { type: 'ANONYMOUS' }, input, passwordHash);
  });
}
