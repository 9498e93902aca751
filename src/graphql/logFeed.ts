import { FEED_REPLAY_MAX, type AuditLogRow, type SignInLogRow, watchAuditLogs, watchSignInLogs } from '../services/logFeed.js';
import { builder } from './builder.js';
import { AuditLogFilter, AuditLogRef, SignInLogFilter, SignInLogRef, parseAuditLogFilter, parseSignInLogFilter } from './logs.js';

const replay = (query: string) =>
  `With "after" (a feedCursor), the records written after it come first, oldest first (at most ${FEED_REPLAY_MAX}; further behind it fails with CURSOR_TOO_OLD: page the ${query} query instead), then live ones; without it, from now. To show a page and then follow it, subscribe without "after" first, then read the page: nothing falls between. Each record carries its feedCursor: a console that reconnects resumes from the last one it saw and misses nothing. A sign-in that changes (IN_PROGRESS to SUCCESS) comes again with its new status.`;
const afterArg = (query: string) => ({
  type: 'String' as const,
  required: false,
  description: `Resume after this feedCursor (of a record from this subscription or the ${query} query); leave out to follow from now.`,
});

builder.subscriptionFields((t) => ({
  signInLogs: t.withAuth({ admin: true }).field({
    type: SignInLogRef,
    description: `Admin: your tenant's sign-ins as they are written, filtered like the signInLogs query. ${replay('signInLogs')}`,
    args: {
      filter: t.arg({ type: SignInLogFilter, required: false, description: 'Only matching records, as in the signInLogs query.' }),
      after: t.arg(afterArg('signInLogs')),
    },
    subscribe: (_root, args, { app, auth }) => watchSignInLogs(app, auth.tenantId, parseSignInLogFilter(args.filter), args.after),
    resolve: (row: SignInLogRow) => row,
  }),
  auditLogs: t.withAuth({ admin: true }).field({
    type: AuditLogRef,
    description: `Admin: your tenant's audit records as they are written, filtered like the auditLogs query. ${replay('auditLogs')}`,
    args: {
      filter: t.arg({ type: AuditLogFilter, required: false, description: 'Only matching records, as in the auditLogs query.' }),
      after: t.arg(afterArg('auditLogs')),
    },
    subscribe: (_root, args, { app, auth }) => watchAuditLogs(app, auth.tenantId, parseAuditLogFilter(args.filter), args.after),
    resolve: (row: AuditLogRow) => row,
  }),
}));
