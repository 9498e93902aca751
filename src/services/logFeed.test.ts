import { describe, expect, it } from 'vitest';
import { type AuditLogRow, type SignInLogRow, auditLogMatcher, feedCursorOf, signInLogMatcher } from './logFeed.js';

// The live feeds filter rows already read, so they must agree with the queries' SQL (logs.ts):
// every field given must match exactly, `from` is inclusive and `to` exclusive.
const at = new Date('2026-01-01T12:00:00Z');
const signIn = { id: 7, feedTx: '900', userId: 'u1', status: 'FAILURE', reasonCode: 'INVALID_PASSWORD', method: 'PASSWORD', createdAt: at } as SignInLogRow;
const audit = { id: 8, feedTx: '901', action: 'user.create', actorId: 'a1', targetType: 'USER', targetId: 'u1', result: 'SUCCESS', createdAt: at } as AuditLogRow;

describe('the live feeds’ filters', () => {
  it.each([
    [{}, true],
    [{ userId: 'u1', status: 'FAILURE', reasonCode: 'INVALID_PASSWORD', method: 'PASSWORD' }, true],
    [{ userId: 'u2' }, false],
    [{ status: 'SUCCESS' }, false],
    [{ reasonCode: 'FRAUD_REPORTED' }, false],
    [{ method: 'PHONE_SIGN_IN' }, false],
    [{ userId: null, status: undefined }, true],
    [{ from: at }, true],
    [{ from: new Date(at.getTime() + 1) }, false],
    [{ to: at }, false],
    [{ to: new Date(at.getTime() + 1) }, true],
  ])('sign-in log filter %j matches: %s', (filter, matches) => {
    expect(signInLogMatcher(filter)(signIn)).toBe(matches);
  });

  it.each([
    [{ action: 'user.create', actorId: 'a1', targetType: 'USER', targetId: 'u1', result: 'SUCCESS' as const }, true],
    [{ action: 'user.update' }, false],
    [{ result: 'FAILURE' as const }, false],
    [{ targetId: 'u2' }, false],
    [{ from: at, to: new Date(at.getTime() + 1000) }, true],
  ])('audit log filter %j matches: %s', (filter, matches) => {
    expect(auditLogMatcher(filter)(audit)).toBe(matches);
  });

  it('names a row’s place by its transaction and id', () => {
    expect(feedCursorOf(signIn)).toBe('900.7');
  });
});
