import { z } from 'zod';
import { displayNameSchema, domainSchema, passwordSchema, userPrincipalNameSchema } from '../domain/names.js';
import { createFirstTenant, setupRequired } from '../services/firstRun.js';
import { builder } from './builder.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';
import { CreateTenantPayload } from './tenants.js';

const setupCodeSchema = z.string().trim().min(1, 'Enter the setup code the service printed when it started.').max(64, 'A setup code has at most 64 characters.');

const CreateFirstTenantInput = builder.inputType('CreateFirstTenantInput', {
  description: 'The first tenant and its admin, with the setup code the service printed to its console.',
  fields: (t) => ({
    setupCode: t.string({ description: 'The one-time code from the console line "Setup code: …" (dashes and case do not matter).', validate: setupCodeSchema }),
    name: t.string({ description: 'Organisation name.', validate: displayNameSchema }),
    domain: t.string({ description: 'The primary domain, e.g. "contoso.com".', validate: domainSchema }),
    adminUserPrincipalName: t.string({ description: 'Sign-in name of the first admin, in the primary domain.', validate: userPrincipalNameSchema }),
    adminPassword: t.string({ description: 'Password of the first admin (8 to 256 characters).', validate: passwordSchema }),
  }),
});

builder.queryField('setupRequired', (t) =>
  t.boolean({
    description: 'True while the service has no tenant: /setup (createFirstTenant) is open. Anyone may ask.',
    resolve: (_root, _args, { app }) => setupRequired(app),
  }),
);

builder.mutationField('createFirstTenant', (t) =>
  t.field({
    type: CreateTenantPayload,
    description: describeMutation(
      'createFirstTenant',
      'First run, no sign-in needed: create the first tenant and its admin with the one-time setup code printed to the console of a service started without any tenant. Closed once a tenant exists.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: CreateFirstTenantInput, required: true, description: 'The setup code, the tenant and its first admin.' }) },
    resolve: async (_root, { input }, { app, clientIp }) => {
      await app.rateLimits.consume('setup', { ip: clientIp });
      return createFirstTenant(app, input);
    },
  }),
);
