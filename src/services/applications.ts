import { randomBytes, randomUUID } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { oidcRecords } from '../db/platformSchema.js';
import { clientSecretDigest } from '../domain/oidc.js';
import type { App } from './app.js';
import { auditByUser } from './audit.js';
import type { AdminCaller } from './tenants.js';
import { runUseCase } from './useCase.js';

/** A client secret carries 256 random bits (RFC 6749 §10.10: guessing must be infeasible). */
const CLIENT_SECRET_BYTES = 32;

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** An application's registration as the OpenID Connect provider reads it (client metadata, RFC 7591 names). */
export interface ClientMetadata {
  client_id: string;
  /** SHA-256 digest of the secret (confidential clients only); the secret itself is never kept. */
  client_secret?: string;
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  grant_types: string[];
  response_types: string[];
  application_type: 'web';
  first_party: boolean;
  tenant_id: string;
}

export interface ApplicationInput {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  confidential: boolean;
  firstParty: boolean;
  /** How a confidential application sends its secret; basic unless it asks for post. */
  secretMethod?: 'client_secret_basic' | 'client_secret_post';
}

export interface Application {
  clientId: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  confidential: boolean;
  firstParty: boolean;
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  createdAt: Date;
}

const applicationOf = (row: { payload: Record<string, unknown>; createdAt: Date }): Application => {
  const m = row.payload as unknown as ClientMetadata;
  return {
    clientId: m.client_id,
    name: m.client_name,
    redirectUris: m.redirect_uris,
    postLogoutRedirectUris: m.post_logout_redirect_uris,
    confidential: m.token_endpoint_auth_method !== 'none',
    firstParty: m.first_party,
    tokenEndpointAuthMethod: m.token_endpoint_auth_method,
    createdAt: row.createdAt,
  };
};

/**
 * Admin: registers an application that signs its users in through OpenID Connect. A confidential
 * one gets a client secret, answered here once and stored only as a digest; a public one (a
 * single-page or native app) gets none and must use PKCE. Redirect URIs were checked at the edge.
 */
export async function registerApplication(app: App, caller: AdminCaller, input: ApplicationInput) {
  const clientId = randomUUID();
  const clientSecret = input.confidential ? randomBytes(CLIENT_SECRET_BYTES).toString('base64url') : null;
  const metadata: ClientMetadata = {
    client_id: clientId,
    ...(clientSecret ? { client_secret: clientSecretDigest(clientSecret) } : {}),
    client_name: input.name,
    redirect_uris: input.redirectUris,
    post_logout_redirect_uris: input.postLogoutRedirectUris,
    token_endpoint_auth_method: input.confidential ? (input.secretMethod ?? 'client_secret_basic') : 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    application_type: 'web',
    first_party: input.firstParty,
    tenant_id: caller.tenantId,
  };
  return runUseCase(app, async (tx) => {
    const [row] = await tx
      .insert(oidcRecords)
      .values({ model: 'Client', id: clientId, payload: metadata as unknown as Record<string, unknown>, tenantId: caller.tenantId })
      .returning({ payload: oidcRecords.payload, createdAt: oidcRecords.createdAt });
    const application = applicationOf(row!);
    await auditByUser(tx, caller, { action: 'application.register', targetType: 'APPLICATION', targetId: clientId, after: application });
    return { clientId, clientSecret, application };
  });
}

/** Admin: the applications registered in the caller's tenant, oldest first. */
export async function listApplications(app: App, caller: AdminCaller): Promise<Application[]> {
  const rows = await app.db
    .select({ payload: oidcRecords.payload, createdAt: oidcRecords.createdAt })
    .from(oidcRecords)
    .where(and(eq(oidcRecords.model, 'Client'), eq(oidcRecords.tenantId, caller.tenantId)))
    .orderBy(asc(oidcRecords.createdAt));
  return rows.map(applicationOf);
}

/**
 * Admin: removes an application of the caller's tenant with everything issued to it (grants,
 * codes, tokens): its users are signed out of it at once. Null when the tenant has no such application.
 */
export async function removeApplication(app: App, caller: AdminCaller, clientId: string): Promise<string | null> {
  return runUseCase(app, async (tx) => {
    const [removed] = await tx
      .delete(oidcRecords)
      .where(and(eq(oidcRecords.model, 'Client'), eq(oidcRecords.id, clientId), eq(oidcRecords.tenantId, caller.tenantId)))
      .returning({ payload: oidcRecords.payload, createdAt: oidcRecords.createdAt });
    if (!removed) return null;
    await tx.delete(oidcRecords).where(sql`${oidcRecords.payload}->>'clientId' = ${clientId}`);
    await auditByUser(tx, caller, { action: 'application.remove', targetType: 'APPLICATION', targetId: clientId, before: applicationOf(removed) });
    return clientId;
  });
}
