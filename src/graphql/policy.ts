import { z } from 'zod';
import type { AuthenticationMode, EffectivePolicy, PolicyTarget } from '../domain/policy.js';
import { allowsPhoneSignIn, allowsPushMfa } from '../domain/policy.js';
import {
  getPhoneSignInPolicy,
  loadEffectivePolicies,
  type PhoneSignInPolicyState,
  policyRemedy,
  setLegacyPhoneSignInPolicy,
  updatePhoneSignInPolicy,
} from '../services/policy.js';
import { builder } from './builder.js';
import { callerOf, REFUSED_ELSEWHERE, selfOrTenantAdmin, uuidSchema } from './common.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';
import { loadByTenant, ownKey, tenantKeyOptions } from './loaders.js';
import { UserRef } from './users.js';

/** Most targets in one list: enough for any real policy, small enough to check cheaply on every save. */
const MAX_POLICY_TARGETS = 100;

const TargetTypeEnum = builder.enumType('PolicyTargetType', {
  description: 'Who a policy target names.',
  values: {
    ALL_USERS: { description: 'Every user of the tenant; targetId must be null.' },
    GROUP: { description: 'The members of one group; targetId is the group id.' },
    USER: { description: 'One user; targetId is the user id.' },
  } as const,
});

export const AuthenticationModeEnum = builder.enumType('AuthenticationMode', {
  description: 'How a targeted user may use the Authenticator app.',
  values: {
    ANY: { description: 'Both push approvals after a password and passwordless phone sign-in.' },
    PUSH: { description: 'Push approvals after a password only (MFA), no passwordless sign-in.' },
    DEVICE_BASED_PUSH: { description: 'Passwordless phone sign-in only.' },
  } as const,
});

const PolicySourceEnum = builder.enumType('PhoneSignInPolicySource', {
  description: 'What decided an effective policy.',
  values: {
    POLICY: { description: 'The saved passwordless phone sign-in policy.' },
    LEGACY: { description: 'The legacy directory-wide switch (no policy has been saved yet).' },
  } as const,
});

const DenialReasonEnum = builder.enumType('PhoneSignInDenialReason', {
  description: 'Why a user may not use phone sign-in.',
  values: {
    USER_DISABLED: { description: 'The account is disabled.' },
    POLICY_DISABLED: { description: 'The saved policy is turned off.' },
    NOT_TARGETED: { description: 'The saved policy does not include the user.' },
    EXCLUDED: { description: 'The saved policy excludes the user (exclusion wins over inclusion).' },
    LEGACY_DISABLED: { description: 'No policy is saved and the legacy switch is off.' },
  } as const,
});

const PolicyTargetRef = builder.objectRef<PolicyTarget>('PhoneSignInPolicyTarget').implement({
  description: 'One include or exclude entry of the policy.',
  fields: (t) => ({
    targetType: t.field({ type: TargetTypeEnum, description: 'ALL_USERS, GROUP or USER.', resolve: (p) => p.targetType }),
    targetId: t.exposeID('targetId', { nullable: true, description: 'The group or user id; null for ALL_USERS.' }),
    authenticationMode: t.field({
      type: AuthenticationModeEnum,
      description: 'The mode granted (meaningless on exclude targets).',
      resolve: (p) => p.authenticationMode,
    }),
  }),
});

const PolicyStateRef = builder.objectRef<PhoneSignInPolicyState>('PhoneSignInPolicy').implement({
  description:
    'The passwordless phone sign-in policy of a tenant. Until a policy is saved the legacy switch decides for everyone; the first save supersedes it for good.',
  fields: (t) => ({
    isSaved: t.boolean({ description: 'Whether a policy has ever been saved (and so supersedes the legacy switch).', resolve: (s) => s.saved !== null }),
    enabled: t.boolean({ description: 'Whether the saved policy is on; false when none is saved.', resolve: (s) => s.saved?.enabled ?? false }),
    includeTargets: t.field({ type: [PolicyTargetRef], description: 'Who is included, each with a mode; several matches grant the union of their modes.', resolve: (s) => s.saved?.includeTargets ?? [] }),
    excludeTargets: t.field({ type: [PolicyTargetRef], description: 'Who is excluded; exclusion wins over inclusion.', resolve: (s) => s.saved?.excludeTargets ?? [] }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, description: 'When the policy was last saved.', resolve: (s) => s.saved?.updatedAt ?? null }),
    legacyPhoneSignInEnabled: t.exposeBoolean('legacyEnabled', { description: 'The legacy directory-wide switch.' }),
    legacySuperseded: t.boolean({ description: 'True once a policy is saved: the legacy switch then no longer applies.', resolve: (s) => s.saved !== null }),
  }),
});

const EffectivePolicyRef = builder.objectRef<EffectivePolicy>('EffectivePhoneSignInPolicy').implement({
  description: 'What the policy means for one user, with what they can do about a refusal.',
  fields: (t) => ({
    allowed: t.exposeBoolean('allowed', { description: 'Whether any policy grants the user the Authenticator app.' }),
    mode: t.field({ type: AuthenticationModeEnum, nullable: true, description: 'The granted mode, when allowed.', resolve: (p) => (p.allowed ? p.mode : null) }),
    source: t.field({ type: PolicySourceEnum, nullable: true, description: 'What granted it, when allowed.', resolve: (p) => (p.allowed ? p.source : null) }),
    phoneSignInAllowed: t.boolean({ description: 'Whether passwordless phone sign-in is allowed (mode ANY or DEVICE_BASED_PUSH).', resolve: allowsPhoneSignIn }),
    pushMfaAllowed: t.boolean({ description: 'Whether push approval after a password is allowed (mode ANY or PUSH).', resolve: allowsPushMfa }),
    reason: t.field({ type: DenialReasonEnum, nullable: true, description: 'Why not, when not allowed.', resolve: (p) => (p.allowed ? null : p.reason) }),
    remedy: t.string({ nullable: true, description: 'A sentence telling the user what to do when phone sign-in is not allowed.', resolve: (p) => policyRemedy(p) }),
  }),
});

const USER_GONE: EffectivePolicy = { allowed: false, reason: 'USER_DISABLED' };

builder.objectField(UserRef, 'phoneSignInPolicy', (t) =>
  // Batched: a page of users reads their policies in three queries. A user deleted meanwhile is
  // answered as loadEffectivePolicy answers an unknown one.
  t.loadable({
    type: EffectivePolicyRef,
    nullable: true,
    description: `The effective passwordless phone sign-in policy of this user, readable by the user and by admins of their tenant.${REFUSED_ELSEWHERE}`,
    authScopes: selfOrTenantAdmin,
    load: loadByTenant(({ app }, tenantId, userIds) => loadEffectivePolicies(app.db, tenantId, userIds), USER_GONE),
    loaderOptions: tenantKeyOptions,
    resolve: ownKey,
  }),
);

const PolicyTargetInput = builder.inputType('PhoneSignInPolicyTargetInput', {
  description: 'One include or exclude entry.',
  fields: (t) => ({
    targetType: t.field({ type: TargetTypeEnum, description: 'ALL_USERS, GROUP or USER.' }),
    targetId: t.id({ required: false, description: 'Group or user id of your tenant; required for GROUP and USER, null for ALL_USERS.' }),
    authenticationMode: t.field({
      type: AuthenticationModeEnum,
      required: false,
      defaultValue: 'ANY',
      description: 'Mode granted by an include target (default ANY); ignored on exclude targets.',
    }),
  }),
  validate: z
    .looseObject({ targetType: z.string(), targetId: z.union([z.string(), z.number()]).nullish() })
    .refine((t) => (t.targetType === 'ALL_USERS' ? t.targetId == null : t.targetId != null), {
      message: 'Give a targetId for GROUP and USER targets, and none for ALL_USERS.',
      path: ['targetId'],
    })
    .refine((t) => t.targetId == null || uuidSchema.safeParse(String(t.targetId)).success, { message: 'Give an id as returned by this API.', path: ['targetId'] }),
});

const targetsSchema = z.array(z.unknown()).max(MAX_POLICY_TARGETS, `A policy has at most ${MAX_POLICY_TARGETS} targets per list.`);

const UpdatePolicyInput = builder.inputType('UpdatePhoneSignInPolicyInput', {
  description: 'The whole policy; saving it supersedes the legacy switch for good.',
  fields: (t) => ({
    enabled: t.boolean({ description: 'Turn the policy on or off. Off denies phone sign-in to everyone.' }),
    includeTargets: t.field({ type: [PolicyTargetInput], description: `Who is included (at most ${MAX_POLICY_TARGETS}).`, validate: targetsSchema }),
    excludeTargets: t.field({
      type: [PolicyTargetInput],
      required: false,
      description: `Who is excluded (at most ${MAX_POLICY_TARGETS}); exclusion wins. Default none.`,
      validate: targetsSchema.nullish(),
    }),
  }),
});

type TargetInput = { targetType: PolicyTarget['targetType']; targetId?: string | number | null; authenticationMode?: AuthenticationMode | null };
const toTarget = (t: TargetInput): PolicyTarget => ({
  targetType: t.targetType,
  targetId: t.targetType === 'ALL_USERS' ? null : String(t.targetId),
  authenticationMode: t.authenticationMode ?? 'ANY',
});

builder.queryField('phoneSignInPolicy', (t) =>
  t.withAuth({ admin: true }).field({
    type: PolicyStateRef,
    description: "Admin: your tenant's passwordless phone sign-in policy and legacy switch.",
    resolve: (_root, _args, { app, auth }) => getPhoneSignInPolicy(app.db, auth.tenantId),
  }),
);

builder.mutationFields((t) => ({
  updatePhoneSignInPolicy: t.withAuth({ admin: true }).field({
    type: PolicyStateRef,
    description: describeMutation(
      'updatePhoneSignInPolicy',
      'Admin: save the passwordless phone sign-in policy. Unknown or foreign target ids fail with NOT_FOUND and change nothing.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: UpdatePolicyInput, required: true, description: 'The policy.' }) },
    resolve: (_root, { input }, { app, auth }) =>
      updatePhoneSignInPolicy(app, callerOf(auth), {
        enabled: input.enabled,
        includeTargets: input.includeTargets.map(toTarget),
        excludeTargets: (input.excludeTargets ?? []).map(toTarget),
      }),
  }),
  setLegacyPhoneSignInPolicy: t.withAuth({ admin: true }).field({
    type: PolicyStateRef,
    description: describeMutation(
      'setLegacyPhoneSignInPolicy',
      'Admin: the old directory-wide switch letting every user sign in with the phone. Fails with LEGACY_POLICY_SUPERSEDED once a policy has been saved.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { enabled: t.arg.boolean({ required: true, description: 'On or off.' }) },
    resolve: (_root, { enabled }, { app, auth }) => setLegacyPhoneSignInPolicy(app, callerOf(auth), enabled),
  }),
}));
