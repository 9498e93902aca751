import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './directory.js';
import './signIn.js';

export const schema = builder.toSchema({ sortSchema: true });
