import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './users.js';
import './tenants.js';
import './groups.js';
import './settings.js';
import './policy.js';
import './temporaryAccessPass.js';
import './logs.js';
import './registration.js';
import './signIn.js';
import './challenges.js';
import './alerts.js';
import './logFeed.js';
import './userRisk.js';
import './suppressedPushes.js';

export const schema = builder.toSchema({ sortSchema: true });
