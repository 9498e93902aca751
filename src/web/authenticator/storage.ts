import { createStore, del, get, set } from 'idb-keyval';
import { IndexedDbKeyStore } from '../../sdk/index.js';

/**
 * What the web authenticator keeps in this browser's IndexedDB: the SDK's state (its keys are
 * non-extractable CryptoKeys, stored as they are: usable for signing, never readable) and, in a
 * database of its own, the salted hash of the PIN.
 */
export const keyStore = new IndexedDbKeyStore();

const pinStore = createStore('phone-sign-in-web-authenticator', 'pin');

export interface StoredPin {
  salt: Uint8Array;
  hash: Uint8Array;
  iterations: number;
}

export const loadPin = () => get<StoredPin>('pin', pinStore);
export const savePin = (pin: StoredPin) => set('pin', pin, pinStore);
export const clearPin = () => del('pin', pinStore);
