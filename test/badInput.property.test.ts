import { randomUUID } from 'node:crypto';
import { getTableName, is, sql } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import fc from 'fast-check';
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isLeafType,
  isScalarType,
  isUnionType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tables from '../src/db/schema.js';
import { findTextProblem } from '../src/domain/plainText.js';
import { schema } from '../src/graphql/schema.js';
import { addUser, allowPhoneSignIn, beginRegistration, deviceAuthorization, registerPhone } from './authenticatorClient.js';
import { createTenant, type GraphQLResponse, SECOND_FACTOR_AMR, startTestServer, type TestServer } from './harness.js';

// Attack: generated bad input — control characters, huge strings, random Unicode, lone surrogates,
// wrong types through variables — sent to every mutation (and every query with arguments) over
// HTTP, as every kind of caller. Whatever is sent: no 5xx, no masked or unmasked internal error,
// and a call refused for its input (or refused whole) writes nothing.
//
// The operations and the shapes of their arguments are read from the schema, so an operation
// added later is covered without a word here. Runs are few per operation to keep the file near
// 20 s (FC_RUNS=<n> for more); each run of the file draws a new seed, printed by fast-check when a
// property fails: FC_SEED=<seed> replays the same choices.

const RUNS_PER_OPERATION = Number(process.env.FC_RUNS ?? 8);
const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

let t: TestServer;
let world: Awaited<ReturnType<typeof buildWorld>>;
beforeAll(async () => {
  t = await startTestServer();
  world = await buildWorld(t);
});
afterAll(() => t.stop());

/**
 * A tenant with an admin (the admin caller, with a phone: the device caller), a plain user (the
 * user caller), and a target user with a phone, a pending sign-in and a pass, a group and an
 * activation code. The target's values are offered to the generators by argument name, so calls
 * reach past "unknown id" into the use cases. The callers' own ids are not offered: a run that
 * deleted or disabled its caller would leave the later runs testing only the door.
 */
async function buildWorld(t: TestServer) {
  const tenant = await createTenant(t);
  await allowPhoneSignIn(t, tenant.tenantId);
  const caller = await addUser(t, tenant);
  const target = await addUser(t, tenant);
  const targetPhone = await registerPhone(t, target.token);
  const callerPhone = await registerPhone(t, tenant.adminToken);
  const ERR = '... on Error { code message }';
  const group = await t.gql(`mutation { createGroup(input: { name: "Pilot" }) { ... on Group { id } ${ERR} } }`, {}, tenant.adminToken);
  const pass = await t.gql(`mutation($userId: ID!) { createTemporaryAccessPass(input: { userId: $userId }) { ... on TemporaryAccessPass { pass } ${ERR} } }`, { userId: target.userId }, tenant.adminToken);
  const attempt = await t.gql(
    `mutation($upn: String!) { beginSignIn(input: { userPrincipalName: $upn, appName: "Mail" }) { ... on PhoneSignInStarted { attemptId attemptSecret } ${ERR} } }`,
    { upn: target.userPrincipalName },
  );
  const registration = await beginRegistration(t, target.token);
  const { attemptId, attemptSecret } = attempt.data.beginSignIn;
  // Which values fit an argument, by its name; the first pattern that matches wins.
  const byName: Array<[RegExp, string[]]> = [
    [/principalName/i, [target.userPrincipalName, `new@${tenant.domain}`, tenant.adminUserPrincipalName]],
    [/domain/i, [tenant.domain, `new.${tenant.domain}`]],
    [/password/i, [target.password, 'another correct horse']],
    [/^pass$/, [pass.data.createTemporaryAccessPass.pass]],
    [/secret/i, [attemptSecret]],
    [/code$/i, [registration.data.beginAuthenticatorRegistration.activationCode]],
    [/proof|response/i, [await targetPhone.credentialProof({ audience: t.server.issuer, now: t.clock.now() }), await targetPhone.deviceAssertion({ audience: t.server.issuer, now: t.clock.now() })]],
    [/url/i, ['https://idp.example.com/sign-in']],
    [/version|^ios$|^android$/i, ['17.4.1', '6.2403.1']],
    [/name/i, ['Contoso Mail', 'Pilot', "Adele's iPhone"]],
    [/id$|ids$/i, [tenant.tenantId, target.userId, group.data.createGroup.id, targetPhone.deviceId!, targetPhone.credentialId!, attemptId, randomUUID()]],
  ];
  const everything = byName.flatMap(([, values]) => values);
  const plausible = (name: string) => byName.find(([pattern]) => pattern.test(name))?.[1] ?? everything;
  const token = async (userId: string, amr = ['pwd']) => (await t.server.app.tokens.issue(t.server.app.db, { tenantId: tenant.tenantId, userId, amr })).accessToken;
  // A fresh credential per call: signOut ends its own session, and device assertions are single-use.
  const authorization: Record<Caller, () => Promise<string | undefined>> = {
    anonymous: async () => undefined,
    operator: async () => t.operatorToken,
    admin: () => token(tenant.adminId, SECOND_FACTOR_AMR),
    user: () => token(caller.userId),
    device: () => deviceAuthorization(t, callerPhone),
  };
  return { plausible, everything, authorization };
}

type Caller = 'anonymous' | 'operator' | 'admin' | 'user' | 'device';
const CALLERS: Caller[] = ['anonymous', 'operator', 'admin', 'user', 'device'];

// NUL most often: Postgres refuses it in text, so it is the one that turned into 500s.
const controlCharacter = fc
  .oneof(fc.constant(0), fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f), fc.integer({ min: 0x80, max: 0x9f }))
  .map((code) => String.fromCharCode(code));

/** Ways to spoil a text: a control character put in, replaced by any Unicode, by lone surrogates, or made huge. */
const spoiled: fc.Arbitrary<(text: string) => string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(controlCharacter, fc.nat()).map(([c, at]) => (s: string) => `${s.slice(0, at % (s.length + 1))}${c}${s.slice(at % (s.length + 1))}`) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((other) => () => other) },
  fc.string({ unit: controlCharacter, minLength: 1, maxLength: 4 }).map((other) => () => other),
  fc.constantFrom('\ud800', 'a\udc00b', '\udfff\ud800').map((other) => (s: string) => `${s}${other}`),
  fc.integer({ min: 50, max: 2000 }).map((times) => (s: string) => (s || 'x').repeat(times)),
);

/**
 * How a call's arguments are made: all plausible but one text spoiled (the best way past
 * validation into the use cases), every text spoiled or not at random, or also with values
 * missing, null or of the wrong type anywhere (which GraphQL must refuse whole).
 */
type Mode = 'oneSpoiled' | 'anySpoiled' | 'typesToo';

/** A text for the argument or field `name`: a value that fits it (or another argument), spoiled or not as the mode says. */
const text = (name: string, mode: Mode) => {
  const plausible = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...world.plausible(name)) }, fc.constantFrom(...world.everything));
  return mode === 'oneSpoiled' ? plausible : fc.oneof(plausible, fc.tuple(plausible, spoiled).map(([s, spoil]) => spoil(s)));
};

const EXTREME_DATES = ['-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'];

/** A value of the wrong type for whatever is expected. */
const wrongType = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }), fc.array(fc.integer(), { maxLength: 2 }));

/** Values for an input type, shaped by it. */
function valueOf(type: GraphQLInputType, name: string, mode: Mode): fc.Arbitrary<unknown> {
  const missing = fc.constantFrom(null, undefined);
  if (isNonNullType(type)) {
    const value = wellTyped(type.ofType, name, mode);
    return mode === 'typesToo' ? fc.oneof({ weight: 8, arbitrary: value }, missing, wrongType) : value;
  }
  const value = wellTyped(type, name, mode);
  // Optional values left out as often as given, as clients do: each one given is one more way to be refused before the use case.
  return mode === 'typesToo' ? fc.oneof({ weight: 4, arbitrary: value }, missing, wrongType) : fc.oneof(value, missing);
}

function wellTyped(type: GraphQLInputType, name: string, mode: Mode): fc.Arbitrary<unknown> {
  if (isListType(type)) return fc.array(valueOf(type.ofType, name, mode), { maxLength: 4 });
  if (isEnumType(type)) {
    const values = fc.constantFrom(...type.getValues().map((v) => v.name));
    return mode === 'typesToo' ? fc.oneof({ weight: 4, arbitrary: values }, text(name, mode)) : values;
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    return fc.record(Object.fromEntries(fields.map((field) => [field.name, valueOf(field.type, field.name, mode)])), {
      requiredKeys: fields.filter((field) => isNonNullType(field.type)).map((field) => field.name),
    });
  }
  if (!isScalarType(type)) throw new Error(`no generator for ${String(type)}`);
  switch (type.name) {
    case 'Int':
      return fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 100 }) }, fc.constantFrom(-1, 2 ** 31 - 1, -(2 ** 31)));
    case 'Float':
      return fc.double();
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      // Any date, and the ends of JavaScript's dates and year 0, which the database cannot store.
      return fc.oneof(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), fc.constantFrom(...EXTREME_DATES));
    default:
      return text(name, mode);
  }
}

/** The value with its `n`th text (counting round) spoiled; a value without texts is left as it is. */
function spoilOne(value: unknown, n: number, spoil: (text: string) => string): unknown {
  let count = 0;
  const countTexts = (v: unknown): void => {
    if (typeof v === 'string') count += 1;
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(countTexts);
  };
  countTexts(value);
  let index = count === 0 ? -1 : n % count;
  const rebuild = (v: unknown): unknown => {
    if (typeof v === 'string') return index-- === 0 ? spoil(v) : v;
    if (Array.isArray(v)) return v.map(rebuild);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([key, item]) => [key, rebuild(item)]));
    return v;
  };
  return rebuild(value);
}

/** The callers an operation is meant for, from its scope-auth options (none: anyone, signed in or not). */
function intendedCallers(field: GraphQLField<unknown, unknown>): Caller[] {
  const scopes = Object.keys((field.extensions.pothosOptions as { authScopes?: object } | undefined)?.authScopes ?? {});
  if (scopes.length === 0) return ['anonymous'];
  // securityInfo: any signed-in user (also an admin who must first register a second factor).
  const signedIn = scopes.includes('user') || scopes.includes('securityInfo');
  return CALLERS.filter((caller) => scopes.includes(caller) || ((caller === 'admin' || caller === 'user') && signedIn));
}

/** One call of an operation: its document, a caller (mostly one it is meant for) and generated variables for every argument. */
function call(kind: 'mutation' | 'query', field: GraphQLField<unknown, unknown>) {
  const args: readonly GraphQLArgument[] = field.args;
  const definitions = args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const named = getNamedType(field.type);
  const canBeError = isUnionType(named) && named.getTypes().some((member) => member.getInterfaces().some((i) => i.name === 'Error'));
  const selection = isLeafType(named) ? '' : `{ __typename ${canBeError ? '... on Error { code message }' : ''} }`;
  const document = `${kind} Probe${definitions ? `(${definitions})` : ''} { ${field.name}${args.length ? `(${args.map((arg) => `${arg.name}: $${arg.name}`).join(', ')})` : ''} ${selection} }`;
  const variables = (mode: Mode) => fc.record(Object.fromEntries(args.map((arg) => [arg.name, valueOf(arg.type, arg.name, mode)])));
  return fc.record({
    caller: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...intendedCallers(field)) }, fc.constantFrom(...CALLERS)),
    variables: fc.oneof(
      { weight: 7, arbitrary: fc.tuple(variables('oneSpoiled'), fc.nat(), spoiled).map(([values, n, spoil]) => spoilOne(values, n, spoil) as Record<string, unknown>) },
      { weight: 2, arbitrary: variables('anySpoiled') },
      variables('typesToo'),
    ),
  }).map((generated) => ({ ...generated, document }));
}

/**
 * A digest of every row of every table, in one statement: all but the single-use ids of accepted
 * device assertions, which authentication writes before any operation runs.
 */
const snapshotQuery = sql.join(
  (Object.values(tables) as unknown[])
    .filter((table): table is PgTable => is(table, PgTable) && table !== tables.usedAssertionIds)
    .map((table) => sql`select ${getTableName(table)}::text as name, md5(coalesce(string_agg(row::text, '|' order by row::text), '')) as digest from ${table} row`),
  sql` union all `,
);
async function snapshot(): Promise<Record<string, string>> {
  const result = (await t.server.app.db.execute(snapshotQuery)) as unknown as { rows?: Row[] } & Row[];
  type Row = { name: string; digest: string };
  return Object.fromEntries((result.rows ?? result).map((row) => [row.name, row.digest]));
}

const INTERNAL = /INTERNAL|Unexpected error/i;

/** What must hold of every answer: no 5xx and nothing internal shown, masked or not. */
function expectNoInternalError(answer: GraphQLResponse & { data?: Record<string, unknown> | null }) {
  const shown = JSON.stringify(answer);
  expect(answer.status, shown).toBeLessThan(500);
  for (const error of answer.errors ?? []) {
    expect(error.extensions?.code ?? '', shown).not.toMatch(INTERNAL);
    expect(error.message, shown).not.toMatch(INTERNAL);
    expect(Object.keys(error.extensions ?? {}), shown).not.toEqual(expect.arrayContaining(['stack']));
    expect(Object.keys(error.extensions ?? {}), shown).not.toEqual(expect.arrayContaining(['originalError']));
  }
}

/** Whole-operation refusals made before any use case runs: of the document or variables, of the input, of the caller. */
const REFUSED_BEFORE_USE_CASE = new Set(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN']);

/**
 * Refused before any use case ran, so nothing may have been written: a typed INVALID_INPUT, or the
 * whole operation refused as above. (A use case's own refusals, NOT_FOUND among them, may be audited.)
 */
function refusedBeforeUseCase(answer: GraphQLResponse & { data?: Record<string, unknown> | null }) {
  const result = answer.data ? Object.values(answer.data)[0] : null;
  if ((result as { __typename?: string } | null)?.__typename === 'InputValidationError') return true;
  return answer.status === 400 || (result == null && (answer.errors ?? []).every((error) => REFUSED_BEFORE_USE_CASE.has(error.extensions?.code ?? '')));
}

const operations = (kind: 'mutation' | 'query') => {
  const root = kind === 'mutation' ? schema.getMutationType()! : schema.getQueryType()!;
  return Object.values(root.getFields()).filter((field) => kind === 'mutation' || field.args.length > 0);
};

describe.each(['mutation', 'query'] as const)('generated bad input to every %s over HTTP', (kind) => {
  it.each(operations(kind).map((field) => [field.name, field] as const))('%s: no 5xx, no internal error, no partial write', async (_name, field) => {
    await fc.assert(
      fc.asyncProperty(call(kind, field), async ({ caller, variables, document }) => {
        const authorization = await world.authorization[caller]();
        const before = await snapshot();
        const answer = await t.gql(document, variables, authorization);
        expectNoInternalError(answer);
        // Text that is not plain never reaches a use case, whichever argument or field it is in.
        if (findTextProblem(variables)) expect(refusedBeforeUseCase(answer), JSON.stringify(answer)).toBe(true);
        // A 401 is authentication refusing the credential before any operation runs; refusals of a known device are audited by design.
        if (answer.status !== 401 && refusedBeforeUseCase(answer)) expect(await snapshot()).toEqual(before);
      }),
      { numRuns: RUNS_PER_OPERATION, seed: SEED },
    );
  });
});
