/**
 * The authenticator SDK: the phone sign-in protocol for authenticator apps, usable in browsers and
 * in Node (WebCrypto through jose; pass `ws` as webSocketImpl on Node 20). Published as the
 * package's "./sdk" export; it imports nothing of the server.
 */
export { type ActivationLink, ActivationLinkError, parseActivationUrl } from './activationLink.js';
export { AuthenticatorKeys, type Decision, type KeyOptions, type SigningKey, type UserVerification, newSigningKey, randomJti } from './authenticator.js';
export { type ChallengeFeed, FeedRefusedError, type FeedState, type ListenOptions } from './challengeFeed.js';
export { type Answer, type AppOptions, AuthenticatorApp, CHALLENGE_FIELDS, type DeviceDescription, type PhoneSignInChallenge, discoverIssuer } from './client.js';
export { ApiError, type Fetch, type GraphQLResult, graphqlRequest } from './graphql.js';
export { IndexedDbKeyStore } from './indexedDbKeyStore.js';
export { type AuthenticatorState, type KeyStore, MemoryKeyStore } from './keyStore.js';
