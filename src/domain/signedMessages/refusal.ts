/** Why a signed message was refused: the codes logs, audits and clients rely on. */
export type SignedMessageErrorCode =
  | 'MALFORMED'
  | 'WRONG_TYPE'
  | 'UNSUPPORTED_ALGORITHM'
  | 'WRONG_KEY_REFERENCE'
  | 'WRONG_AUDIENCE'
  | 'WRONG_CLAIM'
  | 'STALE'
  | 'NOT_YET_VALID'
  | 'EXPIRED'
  | 'LIFETIME_TOO_LONG'
  | 'WEAK_JTI'
  | 'INVALID_KEY'
  | 'UNKNOWN_KEY'
  | 'BAD_SIGNATURE';

/** A refused signed message: a stable code for logs and clients, a sentence for people. */
export class SignedMessageError extends Error {
  constructor(
    readonly code: SignedMessageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SignedMessageError';
  }
}

/** A value received from a client, quoted briefly for an error message. */
export const shown = (value: unknown) => {
  const text = value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
};

export const fail = (code: SignedMessageErrorCode, message: string): never => {
  throw new SignedMessageError(code, message);
};
