import { createStore, del, get, set } from 'idb-keyval';
import type { AuthenticatorState, KeyStore } from '../../sdk/index.js';

/**
 * What the web authenticator keeps in this browser's IndexedDB: its state (the keys are
 * non-extractable CryptoKeys, stored as they are: usable for signing, never readable) and the
 * salted hash of its PIN.
 */
const store = createStore('phone-sign-in-authenticator', 'state');

export const indexedDbKeyStore: KeyStore = {
  load: () => get<AuthenticatorState>('app', store),
  save: (state) => set('app', state, store),
  clear: () => del('app', store),
};

export interface StoredPin {
  salt: Uint8Array;
  hash: Uint8Array;
  iterations: number;
}

export const loadPin = () => get<StoredPin>('pin', store);
export const savePin = (pin: StoredPin) => set('pin', pin, store);
export const clearPin = () => del('pin', store);
