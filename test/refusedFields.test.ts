import { type GraphQLField, isNonNullType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/graphql/schema.js';
import { serverPerFile } from './signInFlow.js';

const t = serverPerFile();

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/** Fields of non-root types that some callers are refused (a scope on the field). */
function scopedFields(): string[] {
  const found: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || ROOT_TYPES.has(type.name)) continue;
    for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
      const options = field.extensions?.pothosOptions as { authScopes?: unknown } | undefined;
      if (options?.authScopes) found.push(`${type.name}.${field.name}${isNonNullType(field.type) ? '!' : ''}`);
    }
  }
  return found;
}

describe('fields a caller may be refused', () => {
  // Attack (on the client, by accident): a refused non-null field nulls its parent up to the
  // mutation, so a caller is told nothing of what its mutation changed and retries it blindly.
  it('are all nullable, so a refusal cannot null what contains them', () => {
    const fields = scopedFields();
    expect(fields.length).toBeGreaterThanOrEqual(5);
    expect(fields.filter((f) => f.endsWith('!'))).toEqual([]);
  });

  it("keep createTenant's answer when the operator asks for fields only admins and the user may read", async () => {
    const domain = `refused-${Date.now()}.example.com`;
    const created = await t.gql(
      `mutation($input: CreateTenantInput!) { createTenant(input: $input) { __typename
        ... on CreateTenantPayload {
          tenant { id name settings { challengeLifetimeSeconds } federatedDomains { domain } }
          admin { id userPrincipalName authenticationMethods { id } riskLevel phoneSignInPolicy { allowed } }
        } } }`,
      { input: { name: 'Refused', domain, adminUserPrincipalName: `admin@${domain}`, adminPassword: 'correct horse battery staple' } },
      t.operatorToken,
    );
    expect(created.data?.createTenant).toMatchObject({
      __typename: 'CreateTenantPayload',
      tenant: { name: 'Refused', settings: null, federatedDomains: null },
      admin: { userPrincipalName: `admin@${domain}`, authenticationMethods: null, riskLevel: null, phoneSignInPolicy: null },
    });
    expect(created.data.createTenant.tenant.id).toEqual(expect.any(String));
    expect(created.data.createTenant.admin.id).toEqual(expect.any(String));
    const refused = (created.errors ?? []).map((e: any) => [e.path.slice(1).join('.'), e.extensions?.code]);
    expect(refused.sort()).toEqual(
      [
        ['admin.authenticationMethods', 'FORBIDDEN'],
        ['admin.phoneSignInPolicy', 'FORBIDDEN'],
        ['admin.riskLevel', 'FORBIDDEN'],
        ['tenant.federatedDomains', 'FORBIDDEN'],
        ['tenant.settings', 'FORBIDDEN'],
      ].sort(),
    );
  });
});
