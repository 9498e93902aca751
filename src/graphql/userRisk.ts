import { RISK_DETAILS, RISK_STATES, type RiskState, shownState } from '../domain/userRisk.js';
import { confirmUserCompromised, dismissUserRisk, listRiskyUsers, type RiskyUserView } from '../services/userRisk.js';
import { builder } from './builder.js';
import { callerOf, offsetPage, REFUSED_ELSEWHERE, selfOrTenantAdmin, uuidSchema } from './common.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';
import { SignInLogRef } from './logs.js';
import { UserRef } from './users.js';

const RISK_STATE_DESCRIPTIONS: Record<RiskState, string> = {
  NONE: 'The user has never been at risk.',
  AT_RISK: 'Something raised the risk (riskDetail says what) and no admin has acted on it yet: see riskyUsers.',
  DISMISSED: 'An admin judged the risk a false positive (dismissUserRisk).',
  CONFIRMED_COMPROMISED: 'An admin confirmed the account compromised (confirmUserCompromised): sessions revoked, authenticators removed.',
  REMEDIATED: 'An admin cleared the risk with resetUserSignInProtection.',
};

const RiskStateEnum = builder.enumType('UserRiskState', {
  description: "Where a user's risk stands: raised, or what was done about it.",
  values: Object.fromEntries(RISK_STATES.map((state) => [state, { value: state, description: RISK_STATE_DESCRIPTIONS[state] }])) as Record<
    RiskState,
    { value: RiskState; description: string }
  >,
});

const riskDetails = Object.entries(RISK_DETAILS)
  .map(([code, meaning]) => `${code} — ${meaning}`)
  .join('; ');

builder.objectFields(UserRef, (t) => ({
  riskState: t.field({
    type: RiskStateEnum,
    nullable: true,
    description: `Where the user's risk stands (see riskLevel). Readable by the user and by admins of their tenant.${REFUSED_ELSEWHERE}`,
    authScopes: selfOrTenantAdmin,
    resolve: (user) => shownState({ level: user.riskLevel, state: user.riskState }),
  }),
  riskDetail: t.string({
    nullable: true,
    description: `Stable reason of the last change of the user's risk, one of: ${riskDetails}. Null when it never changed. Readable by the user and by admins of their tenant.${REFUSED_ELSEWHERE}`,
    authScopes: selfOrTenantAdmin,
    resolve: (user) => user.riskDetail,
  }),
  riskUpdatedAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: `When the user's risk last changed; null when it never did. Readable by the user and by admins of their tenant.${REFUSED_ELSEWHERE}`,
    authScopes: selfOrTenantAdmin,
    resolve: (user) => user.riskUpdatedAt,
  }),
}));

const RiskyUserRef = builder.objectRef<RiskyUserView>('RiskyUser').implement({
  description: 'A user at elevated risk, and why.',
  fields: (t) => ({
    user: t.field({ type: UserRef, description: 'The user; riskLevel, riskState and riskDetail say how much and why.', resolve: (view) => view.user }),
    riskySignIns: t.field({
      type: [SignInLogRef],
      description: 'The latest sign-ins that raised the risk (e.g. reasonCode FRAUD_REPORTED), newest first, at most 10.',
      resolve: (view) => view.signIns,
    }),
  }),
});

builder.queryFields((t) => ({
  riskyUsers: t.withAuth({ admin: true }).connection({
    type: RiskyUserRef,
    description: 'Admin: the users of your tenant at elevated risk (riskLevel above NONE), most recently raised first, each with the sign-ins that raised it (at most 100 a page). Act on each with dismissUserRisk or confirmUserCompromised.',
    resolve: (_root, args, { app, auth }) => offsetPage(args, (page) => listRiskyUsers(app, auth.tenantId, page)),
  }),
}));

builder.mutationFields((t) => ({
  dismissUserRisk: t.withAuth({ admin: true }).field({
    type: UserRef,
    description: describeMutation(
      'dismissUserRisk',
      "Admin: the user's risk is a false positive: riskLevel back to NONE (riskState DISMISSED) and pushes muted by a fraud report resume; lockouts stay. Audited. An unknown or foreign id fails with NOT_FOUND.",
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { userId: t.arg.id({ required: true, description: 'The user whose risk to dismiss.', validate: uuidSchema }) },
    resolve: (_root, { userId }, { app, auth }) => dismissUserRisk(app, callerOf(auth), String(userId)),
  }),
  confirmUserCompromised: t.withAuth({ admin: true }).field({
    type: UserRef,
    description: describeMutation(
      'confirmUserCompromised',
      "Admin: the account is compromised: riskLevel HIGH (riskState CONFIRMED_COMPROMISED), every session revoked (tokens stop working, live connections close), every authenticator removed so the user must register again, and their open sign-ins ended. Change the user's password as well if it may be known. Audited. An unknown or foreign id fails with NOT_FOUND.",
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { userId: t.arg.id({ required: true, description: 'The user to confirm compromised.', validate: uuidSchema }) },
    resolve: (_root, { userId }, { app, auth }) => confirmUserCompromised(app, callerOf(auth), String(userId)),
  }),
}));
