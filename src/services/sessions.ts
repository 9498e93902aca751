import { eq } from 'drizzle-orm';
import { users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import type { App } from './app.js';
import { audit } from './audit.js';
import { verifyPassword } from './passwords.js';

const WRONG_CREDENTIALS = 'The user name or password is incorrect. Check both and try again.';

/** Password sign-in. An unknown user and a wrong password are answered alike, in like time. */
export async function signInWithPassword(app: App, input: { userPrincipalName: string; password: string }) {
  const [user] = await app.db.select().from(users).where(eq(users.userPrincipalName, input.userPrincipalName));
  const valid = await verifyPassword(user?.passwordHash ?? null, input.password);
  if (!user || !valid || user.disabled) {
    if (user) {
      await audit(app.db, {
        tenantId: user.tenantId,
        actor: { type: 'ANONYMOUS' },
        action: 'signIn.password',
        targetType: 'USER',
        targetId: user.id,
        result: 'FAILURE',
        reasonCode: valid ? 'USER_DISABLED' : 'INVALID_PASSWORD',
      });
    }
    throw new DomainError('INVALID_CREDENTIALS', WRONG_CREDENTIALS);
  }
  return app.db.transaction(async (tx) => {
    const token = await app.tokens.issue(tx, { tenantId: user.tenantId, userId: user.id, amr: ['pwd'] });
    await audit(tx, { tenantId: user.tenantId, actor: { type: 'USER', id: user.id }, action: 'signIn.password', targetType: 'USER', targetId: user.id });
    return token;
  });
}
