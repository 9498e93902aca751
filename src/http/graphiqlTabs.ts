/**
 * GraphiQL's first tabs: the README's tour, one step a tab. Each names the Authorization header it
 * needs; GraphiQL sends the tab's Headers editor (below the query) as JSON, e.g.
 * {"Authorization": "Bearer <token>"}.
 */

const tab = (query: string, headers?: Record<string, string>, variables?: Record<string, unknown>) => ({
  query: `${query.trim()}\n`,
  headers: headers ? JSON.stringify(headers, null, 2) : null,
  variables: variables ? JSON.stringify(variables, null, 2) : null,
});

export const GRAPHIQL_TABS = [
  tab(
    `
# 1. The operator creates a tenant and its first admin (or use /setup on a new service).
# Headers (the Headers editor below): the operator's OPERATOR_TOKEN as a bearer token.
mutation CreateTenant($input: CreateTenantInput!) {
  createTenant(input: $input) {
    __typename
    ... on CreateTenantPayload { tenant { id name domains } admin { id userPrincipalName } }
    ... on Error { code message }
  }
}`,
    { Authorization: 'Bearer <OPERATOR_TOKEN>' },
    { input: { name: 'Contoso', domain: 'contoso.com', adminUserPrincipalName: 'admin@contoso.com', adminPassword: 'choose a long password' } },
  ),
  tab(
    `
# 2. The admin signs in with the password. Without an authenticator app the session may only
# register one (registrationRequired: true); with it, MfaRequired: approve on the phone, then
# completeSignIn. Put the accessToken in the Headers editor of the next tabs.
mutation SignIn($input: SignInWithPasswordInput!) {
  signInWithPassword(input: $input) {
    __typename
    ... on SignInSuccess { accessToken expiresAt registrationRequired }
    ... on MfaRequired { attemptId attemptSecret number expiresAt }
    ... on Error { code message }
  }
}`,
    undefined,
    { input: { userPrincipalName: 'admin@contoso.com', password: 'choose a long password' } },
  ),
  tab(
    `
# 3. The admin adds a user, allows phone sign-in and gives a Temporary Access Pass.
mutation Directory($user: CreateUserInput!) {
  createUser(input: $user) {
    __typename
    ... on User { id userPrincipalName }
    ... on Error { code message }
  }
  updatePhoneSignInPolicy(input: { enabled: true, includeTargets: [{ targetType: ALL_USERS, authenticationMode: ANY }], excludeTargets: [] }) {
    __typename
    ... on Error { code message }
  }
}

# Then, with the user's id:
mutation Pass($userId: ID!) {
  createTemporaryAccessPass(input: { userId: $userId, lifetimeMinutes: 60, isUsableOnce: true }) {
    __typename
    ... on TemporaryAccessPass { pass expiresAt }
    ... on Error { code message }
  }
}`,
    { Authorization: 'Bearer <admin access token>' },
    { user: { userPrincipalName: 'adele@contoso.com', displayName: 'Adele Vance' } },
  ),
  tab(
    `
# 4. The user (signed in with the pass or a password) adds the authenticator app: the link is what
# the app scans (/security-info shows it as a QR code).
mutation Register {
  beginAuthenticatorRegistration {
    __typename
    ... on AuthenticatorRegistration { activationUrl expiresAt }
    ... on Error { code message }
  }
}

query SecurityInfo {
  viewer { userPrincipalName authenticationMethods { __typename } }
}`,
    { Authorization: 'Bearer <user access token>' },
  ),
  tab(
    `
# 5. The browser's phone sign-in (no headers): begin, follow the attempt live, then redeem it once.
mutation Begin {
  beginSignIn(input: { userPrincipalName: "adele@contoso.com", appName: "GraphiQL tour" }) {
    __typename
    ... on PhoneSignInStarted { attemptId attemptSecret number expiresAt }
    ... on PasswordRequired { reason }
    ... on Error { code message }
  }
}

subscription Watch($attemptId: ID!, $attemptSecret: String!) {
  signInAttempt(attemptId: $attemptId, attemptSecret: $attemptSecret) { status failureReason }
}

mutation Complete($attemptId: ID!, $attemptSecret: String!) {
  completeSignIn(input: { attemptId: $attemptId, attemptSecret: $attemptSecret }) {
    __typename
    ... on SignInSuccess { accessToken expiresAt }
    ... on Error { code message }
  }
}`,
    undefined,
    { attemptId: '<from beginSignIn>', attemptSecret: '<from beginSignIn>' },
  ),
  tab(
    `
# 6. The admin reads the logs.
query Logs {
  signInLogs(first: 20) { edges { node { userPrincipalName status reasonCode appName createdAt } } }
}`,
    { Authorization: 'Bearer <admin access token>' },
  ),
];
