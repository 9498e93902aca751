import type { SigningKey } from './authenticator.js';

/**
 * Everything an activated authenticator keeps between runs. The keys are CryptoKeys: a browser
 * stores them in IndexedDB as they are (structured clone keeps a non-extractable key usable and
 * unreadable); the command line writes them to a PIN-encrypted file (src/cli/keyFile.ts).
 */
export interface AuthenticatorState {
  /** The GraphQL HTTP endpoint the app was activated against. */
  endpoint: string;
  /** The issuer: `aud` of everything the app signs. */
  audience: string;
  deviceId: string;
  deviceKey: SigningKey;
  /** Set while phone sign-in is enabled on this device. */
  credentialId?: string;
  credentialKey?: SigningKey;
}

/** Where an app keeps its state. AuthenticatorApp saves after activation, enabling and disabling. */
export interface KeyStore {
  /** The saved state, or undefined before the first activation. */
  load(): Promise<AuthenticatorState | undefined>;
  save(state: AuthenticatorState): Promise<void>;
  /** Forgets the device (after it was removed, or to activate afresh). */
  clear(): Promise<void>;
}

/** A store that lives as long as the process: tests, benchmarks, and apps that re-activate each run. */
export class MemoryKeyStore implements KeyStore {
  private state: AuthenticatorState | undefined;
  async load() {
    return this.state;
  }
  async save(state: AuthenticatorState) {
    this.state = { ...state };
  }
  async clear() {
    this.state = undefined;
  }
}
