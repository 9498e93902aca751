import { type DefaultConnectionArguments, type ResolveCursorConnectionArgs, resolveCursorConnection } from '@pothos/plugin-relay';
import { z } from 'zod';
import type { auditLogs, signInLogs } from '../db/schema.js';
import { SIGN_IN_LOG_REASON_DESCRIPTIONS, SIGN_IN_LOG_STATUS_DESCRIPTIONS, SIGN_IN_METHOD_DESCRIPTIONS } from '../domain/signInAttempt.js';
import { type IdPage, listAuditLogs, listSignInLogs, logDevices, logUsers } from '../services/logs.js';
import { feedCursorOf } from '../services/logFeed.js';
import { builder } from './builder.js';
import { PAGE_SIZE, uuidSchema } from './common.js';
import { badUserInput, parseQueryArgument, withPagingErrors } from './errors.js';
import { loadByTenant, type TenantKey, tenantKeyOptions } from './loaders.js';
import { RiskSignalRef, SignInRiskLevelEnum } from './risk.js';
import { UserRef } from './users.js';

type AuditLogRow = typeof auditLogs.$inferSelect;
type SignInLogRow = typeof signInLogs.$inferSelect;

const ActorTypeEnum = builder.enumType('AuditActorType', {
  description: 'Who made a change.',
  values: {
    OPERATOR: { description: 'The service operator.' },
    USER: { description: 'A signed-in user (actorId is their id).' },
    DEVICE: { description: 'An authenticator device (actorId is its id).' },
    ANONYMOUS: { description: 'Someone not signed in, e.g. a failed sign-in.' },
    SYSTEM: { description: 'The service itself, e.g. an expiry.' },
  } as const,
});

const ResultEnum = builder.enumType('AuditResult', {
  description: 'Whether the action took effect.',
  values: { SUCCESS: { description: 'It did.' }, FAILURE: { description: 'It was refused; see reasonCode.' } } as const,
});

const FEED_CURSOR_DESCRIPTION = (subscription: string) =>
  `This version of the record's place in the live ${subscription} subscription: pass it as "after" to resume there. A record that changes later moves on and gets a new one.`;

export const AuditLogRef = builder.objectRef<AuditLogRow>('AuditLog').implement({
  description: 'One change or security event in a tenant: who, when, what, before and after. Never holds secrets.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Increasing record number; also the cursor.' }),
    feedCursor: t.string({ description: FEED_CURSOR_DESCRIPTION('auditLogs'), resolve: feedCursorOf }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
    actorType: t.field({ type: ActorTypeEnum, description: 'Who did it.', resolve: (r) => r.actorType }),
    actorId: t.exposeString('actorId', { nullable: true, description: 'Id of the user or device who did it, if any.' }),
    action: t.exposeString('action', { description: 'What was done, e.g. "user.create", "policy.update", "settings.update", "signIn.password".' }),
    targetType: t.exposeString('targetType', { nullable: true, description: 'Kind of thing acted on, e.g. USER, GROUP, TENANT, DOMAIN, PHONE_SIGN_IN_POLICY.' }),
    targetId: t.exposeString('targetId', { nullable: true, description: 'Id (or domain name) of the thing acted on.' }),
    result: t.field({ type: ResultEnum, description: 'Whether it took effect.', resolve: (r) => r.result }),
    reasonCode: t.exposeString('reasonCode', { nullable: true, description: 'Stable reason code of a failure or of a system change.' }),
    before: t.field({ type: 'JSON', nullable: true, description: 'The state before the change, if there was one.', resolve: (r) => r.before }),
    after: t.field({ type: 'JSON', nullable: true, description: 'The state after the change, if there is one.', resolve: (r) => r.after }),
  }),
});

const SignInDeviceRef = builder.objectRef<{ id: string; displayName: string; platform: string }>('SignInLogDevice').implement({
  description: 'The authenticator device involved in a sign-in.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Device id.' }),
    displayName: t.exposeString('displayName', { description: 'Name the user gave the device.' }),
    platform: t.exposeString('platform', { description: 'IOS or ANDROID.' }),
  }),
});

/** The row a log names, in the log's own tenant; null when it names none. */
const keyOf = (tenantId: string, id: string | null): TenantKey | null => (id ? { tenantId, id } : null);

const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((row) => [row.id, row]));

/** "A — what A means; B — …": every value of a sign-in log field, from the domain's own list. */
const describeValues = (descriptions: Record<string, string>) =>
  Object.entries(descriptions)
    .map(([value, meaning]) => `${value} — ${meaning}`)
    .join('; ');
const namesOf = (descriptions: Record<string, string>) => Object.keys(descriptions).join(', ');

export const SignInLogRef = builder.objectRef<SignInLogRow>('SignInLog').implement({
  description: 'One sign-in, phone or otherwise, with its real outcome (which the browser is not always told).',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Increasing record number; also the cursor.' }),
    feedCursor: t.string({ description: FEED_CURSOR_DESCRIPTION('signInLogs'), resolve: feedCursorOf }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the sign-in started.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its status last changed.' }),
    userId: t.exposeID('userId', { nullable: true, description: 'The user, if known.' }),
    userPrincipalName: t.exposeString('userPrincipalName', { description: 'The name that was entered.' }),
    // Batched, like device below: a page of logs reads its users in one query.
    user: t.loadable({
      type: UserRef,
      nullable: true,
      description: 'The user, if they still exist.',
      load: loadByTenant(async ({ app }, tenantId, ids) => byId(await logUsers(app, tenantId, ids)), null),
      loaderOptions: tenantKeyOptions,
      resolve: (r) => keyOf(r.tenantId, r.userId),
    }),
    appName: t.exposeString('appName', { nullable: true, description: 'The application signed in to.' }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, description: "The browser's IP address." }),
    location: t.exposeString('location', { nullable: true, description: 'Approximate location of that address.' }),
    countryCode: t.exposeString('countryCode', { nullable: true, description: 'ISO 3166-1 alpha-2 country of that address, where the IP-location data knows it.' }),
    city: t.exposeString('city', { nullable: true, description: 'City of that address, where the IP-location data has cities (a city-level GEOIP_DATABASE).' }),
    riskLevel: t.field({
      type: SignInRiskLevelEnum,
      nullable: true,
      description: 'How unusual the sign-in looked, from riskSignals. Null where it was not assessed: password and Temporary Access Pass sign-ins, and requests refused before a push would have gone out.',
      resolve: (r) => r.riskLevel,
    }),
    riskSignals: t.field({
      type: [RiskSignalRef],
      nullable: true,
      description: 'The risk signals the sign-in raised, each with its evidence and what the tenant setting did (WARN or BLOCK); empty when assessed and none was raised, null where not assessed (see riskLevel).',
      resolve: (r) => r.riskSignals,
    }),
    deviceId: t.exposeID('deviceId', { nullable: true, description: 'The authenticator device that answered, if any.' }),
    device: t.loadable({
      type: SignInDeviceRef,
      nullable: true,
      description: 'That device, if it still exists.',
      load: loadByTenant(async ({ app }, tenantId, ids) => byId(await logDevices(app, tenantId, ids)), null),
      loaderOptions: tenantKeyOptions,
      resolve: (r) => keyOf(r.tenantId, r.deviceId),
    }),
    method: t.exposeString('method', { description: `How the user signed in, one of: ${describeValues(SIGN_IN_METHOD_DESCRIPTIONS)}.` }),
    numberStyle: t.exposeString('numberStyle', { nullable: true, description: 'TYPED or CHOICE, for number-matching sign-ins.' }),
    status: t.exposeString('status', { description: `Where the sign-in stands, one of: ${describeValues(SIGN_IN_LOG_STATUS_DESCRIPTIONS)}.` }),
    reasonCode: t.exposeString('reasonCode', {
      nullable: true,
      description: `Stable reason of a FAILURE or INTERRUPTED sign-in (the real one, even where the browser was told less); null otherwise. One of: ${describeValues(SIGN_IN_LOG_REASON_DESCRIPTIONS)}. Codes may be added, never renamed.`,
    }),
  }),
});

const CURSOR = /^\d{1,18}$/;
const parseCursor = (cursor: string | undefined, name: string) => {
  if (cursor === undefined) return undefined;
  if (!CURSOR.test(cursor)) throw badUserInput(`"${name}" is not a cursor of this connection. Use a cursor it returned.`);
  return Number(cursor);
};

/** Newest-first pages over rows numbered by id, whose ids are their cursors. */
const idPage = <T extends { id: number }>(args: DefaultConnectionArguments, fetch: (page: IdPage) => Promise<T[]>) =>
  withPagingErrors(() =>
    resolveCursorConnection(
      { args, toCursor: (row: T) => String(row.id), defaultSize: PAGE_SIZE.default, maxSize: PAGE_SIZE.max },
      ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
        fetch({ before: parseCursor(before, 'before'), after: parseCursor(after, 'after'), limit, inverted }),
    ),
  );

const shortText = z.string().max(256, 'At most 256 characters.').nullish();
/** Checked in the resolvers, so a bad filter is a BAD_USER_INPUT error like a bad cursor. */
const auditLogFilterSchema = z.looseObject({ action: shortText, actorId: shortText, targetType: shortText, targetId: shortText }).nullish();
const signInLogFilterSchema = z
  .looseObject({ userId: uuidSchema.nullish(), status: shortText, reasonCode: shortText, method: shortText })
  .nullish();

export const AuditLogFilter = builder.inputType('AuditLogFilter', {
  description: 'Narrows the audit log; every field given must match.',
  fields: (t) => ({
    action: t.string({ required: false, description: 'Exact action, e.g. "user.create".' }),
    actorId: t.string({ required: false, description: 'Id of the user or device who acted.' }),
    targetType: t.string({ required: false, description: 'Kind of target, e.g. USER.' }),
    targetId: t.string({ required: false, description: 'Id of the target.' }),
    result: t.field({ type: ResultEnum, required: false, description: 'SUCCESS or FAILURE.' }),
    from: t.field({ type: 'DateTime', required: false, description: 'Records at or after this time.' }),
    to: t.field({ type: 'DateTime', required: false, description: 'Records before this time.' }),
  }),
});

export const SignInLogFilter = builder.inputType('SignInLogFilter', {
  description: 'Narrows the sign-in log; every field given must match.',
  fields: (t) => ({
    userId: t.id({ required: false, description: 'The user id.' }),
    status: t.string({ required: false, description: `Exact status, one of ${namesOf(SIGN_IN_LOG_STATUS_DESCRIPTIONS)} (see SignInLog.status).` }),
    reasonCode: t.string({ required: false, description: `Exact reason code, one of ${namesOf(SIGN_IN_LOG_REASON_DESCRIPTIONS)} (see SignInLog.reasonCode).` }),
    method: t.string({ required: false, description: `Exact method, one of ${namesOf(SIGN_IN_METHOD_DESCRIPTIONS)} (see SignInLog.method).` }),
    from: t.field({ type: 'DateTime', required: false, description: 'Sign-ins started at or after this time.' }),
    to: t.field({ type: 'DateTime', required: false, description: 'Sign-ins started before this time.' }),
  }),
});

/** The query's filter, checked as the query checks it (BAD_USER_INPUT), for the query and the live feed. */
export const parseAuditLogFilter = (filter: unknown) => ({ ...parseQueryArgument(auditLogFilterSchema, filter, 'filter') });
export const parseSignInLogFilter = (filter: { userId?: string | number | null } | null | undefined) => ({
  ...parseQueryArgument(signInLogFilterSchema, filter && { ...filter, userId: filter.userId == null ? null : String(filter.userId) }, 'filter'),
});

builder.queryFields((t) => ({
  auditLogs: t.withAuth({ admin: true }).connection({
    type: AuditLogRef,
    description: "Admin: your tenant's audit log, newest first (at most 100 a page).",
    args: { filter: t.arg({ type: AuditLogFilter, required: false, description: 'Only matching records.' }) },
    resolve: (_root, args, { app, auth }) => {
      const filter = parseAuditLogFilter(args.filter);
      return idPage(args, (page) => listAuditLogs(app, auth.tenantId, filter, page));
    },
  }),
  signInLogs: t.withAuth({ admin: true }).connection({
    type: SignInLogRef,
    description: "Admin: your tenant's sign-in log, newest first (at most 100 a page).",
    args: { filter: t.arg({ type: SignInLogFilter, required: false, description: 'Only matching records.' }) },
    resolve: (_root, args, { app, auth }) => {
      const filter = parseSignInLogFilter(args.filter);
      return idPage(args, (page) => listSignInLogs(app, auth.tenantId, filter, page));
    },
  }),
}));
