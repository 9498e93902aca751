import { afterEach, expect } from 'vitest';
import type { UndeclaredErrorCode } from '../../src/graphql/errorCodeCheck.js';
import { undeclaredErrorCodeListeners } from '../../src/graphql/errorCodes.js';

// Every test file runs with the error-code check on: a mutation that answers a code its
// MUTATION_ERRORS entry does not list fails the test that made it, so the whole suite keeps
// the table honest for every path it exercises.
const found: UndeclaredErrorCode[] = [];
undeclaredErrorCodeListeners.add((undeclared) => found.push(undeclared));

afterEach(() => {
  expect(found.splice(0), 'mutations answered error codes their MUTATION_ERRORS entries do not list').toEqual([]);
});
