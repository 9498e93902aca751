import { DomainError } from '../domain/errors.js';
import { SignedMessageError } from '../domain/signedMessages/refusal.js';
import type { Trail } from './audit.js';

/** Turns a refused proof into a typed error, remembering the precise check for the audit log. */
export function proofRefused(trail: Trail, error: unknown, what: string): never {
  if (!(error instanceof SignedMessageError)) throw error;
  trail.reasonCode = `PROOF_${error.code}`;
  throw new DomainError('INVALID_PROOF', `The ${what} was refused: ${error.message}`, 'proof');
}
