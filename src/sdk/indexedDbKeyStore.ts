import type { AuthenticatorState, KeyStore } from './keyStore.js';

/**
 * A browser's KeyStore: the state, CryptoKeys included, in IndexedDB as it is. Structured clone
 * keeps a non-extractable key usable for signing across reloads while no script can read it out.
 * The few IndexedDB types used are declared here, so the SDK builds without the DOM library.
 */

interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbObjectStore {
  get(key: string): IdbRequest<unknown>;
  put(value: unknown, key: string): IdbRequest<unknown>;
  delete(key: string): IdbRequest<unknown>;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): { objectStore(name: string): IdbObjectStore };
  close(): void;
}
interface IdbFactory {
  open(name: string, version?: number): IdbRequest<IdbDatabase> & { onupgradeneeded: (() => void) | null };
}

const STORE = 'authenticator';
const KEY = 'state';

const settled = <T>(request: IdbRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

export class IndexedDbKeyStore implements KeyStore {
  constructor(
    /** The IndexedDB database name; one per authenticator the origin keeps. */
    readonly databaseName = 'phone-sign-in-authenticator',
    private readonly indexedDB: IdbFactory | undefined = (globalThis as { indexedDB?: IdbFactory }).indexedDB,
  ) {}

  private async run<T>(mode: 'readonly' | 'readwrite', action: (store: IdbObjectStore) => IdbRequest<T>): Promise<T> {
    if (!this.indexedDB) throw new Error('No IndexedDB here: use IndexedDbKeyStore in a browser, or another KeyStore.');
    const open = this.indexedDB.open(this.databaseName, 1);
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
    };
    const db = await settled(open);
    try {
      return await settled(action(db.transaction(STORE, mode).objectStore(STORE)));
    } finally {
      db.close();
    }
  }

  async load(): Promise<AuthenticatorState | undefined> {
    return ((await this.run('readonly', (store) => store.get(KEY))) as AuthenticatorState | undefined) ?? undefined;
  }

  async save(state: AuthenticatorState): Promise<void> {
    await this.run('readwrite', (store) => store.put(state, KEY));
  }

  async clear(): Promise<void> {
    await this.run('readwrite', (store) => store.delete(KEY));
  }
}
