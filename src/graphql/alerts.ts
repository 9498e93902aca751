import { SECURITY_ALERT_KINDS, type SecurityAlertView, watchSecurityAlerts } from '../services/securityAlerts.js';
import { builder } from './builder.js';

const SecurityAlertKindEnum = builder.enumType('SecurityAlertKind', {
  description: 'What raised a security alert.',
  values: {
    FRAUD_REPORTED: {
      value: 'FRAUD_REPORTED',
      description: "A user reported a sign-in request as not theirs: their risk is now HIGH and pushes to them are paused. Check the user's sign-ins.",
    },
    LOCKED_OUT: {
      value: 'LOCKED_OUT',
      description: "A user's phone sign-in was locked after repeated failures (wrong numbers, declines, bad signatures).",
    },
  } satisfies Record<(typeof SECURITY_ALERT_KINDS)[number], { value: string; description: string }>,
});

const SecurityAlertRef = builder.objectRef<SecurityAlertView>('SecurityAlert').implement({
  description: 'A security event in your tenant that an admin should look at. Also kept in the audit log (action "securityAlert.<kind>", same id).',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Alert id; the id of its audit log record.' }),
    kind: t.field({ type: SecurityAlertKindEnum, description: 'What happened.', resolve: (a) => a.kind }),
    userId: t.exposeID('userId', { description: 'The user concerned.' }),
    attemptId: t.exposeID('attemptId', { nullable: true, description: 'The sign-in attempt concerned, if one.' }),
    details: t.field({
      type: 'JSON',
      description: 'Context: userPrincipalName, and appName, ipAddress, location, deviceId (fraud) or lock (PHONE_SIGN_IN or PASSWORD), failedSignIns, lockedUntil (lockout).',
      resolve: (a) => a.details,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
  }),
});

builder.subscriptionField('securityAlerts', (t) =>
  t.withAuth({ admin: true }).field({
    type: SecurityAlertRef,
    description: "Admin: security alerts of your tenant as they happen (fraud reports, lockouts). Past alerts are in auditLogs.",
    subscribe: (_root, _args, { app, auth }) => watchSecurityAlerts(app, auth.tenantId),
    resolve: (alert: SecurityAlertView) => alert,
  }),
);
