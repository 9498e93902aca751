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
import './suppressedPushes.js';
import './applications.js';
import './homeRealm.js';

export const schema = builder.toSchema({ sortSchema: true });
