import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './directory.js';
import './settings.js';
import './policy.js';
import './temporaryAccessPass.js';
import './logs.js';
import './registration.js';
import './signIn.js';
import './challenges.js';
import './alerts.js';

export const schema = builder.toSchema({ sortSchema: true });
