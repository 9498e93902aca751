/** What an activation link (the security-info page's QR code) carries. */
export interface ActivationLink {
  /** The GraphQL HTTP endpoint to call. */
  endpoint: string;
  /** The single-use activation code. */
  code: string;
  /** The issuer, `aud` of everything the app signs; absent from links of older servers (see AuthenticatorApp.activate). */
  issuer?: string;
}

/** Thrown for text that is not an activation link; the message says what a link looks like. */
export class ActivationLinkError extends Error {
  override name = 'ActivationLinkError';
}

const EXPECTED = 'expected phonesignin://activate?endpoint=…&code=…';

/** Splits `phonesignin://activate?endpoint=…&code=…&issuer=…` into its parts (surrounding blanks ignored, as pasted). */
export function parseActivationUrl(activationUrl: string): ActivationLink {
  let url: URL;
  try {
    url = new URL(activationUrl.trim());
  } catch {
    throw new ActivationLinkError(`Not a phone sign-in activation link: ${EXPECTED}.`);
  }
  const endpoint = url.searchParams.get('endpoint');
  const code = url.searchParams.get('code');
  const issuer = url.searchParams.get('issuer');
  if (url.protocol !== 'phonesignin:' || url.hostname !== 'activate' || !endpoint || !code) {
    throw new ActivationLinkError(`Not a phone sign-in activation link: ${EXPECTED}.`);
  }
  if (!/^https?:$/.test(safeProtocol(endpoint))) {
    throw new ActivationLinkError(`The link's endpoint is not an http(s) URL: got "${endpoint}".`);
  }
  return issuer ? { endpoint, code, issuer } : { endpoint, code };
}

const safeProtocol = (href: string) => {
  try {
    return new URL(href).protocol;
  } catch {
    return '';
  }
};
