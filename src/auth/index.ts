export { type BearerError, bearerChallenge, type ChallengeOptions, openIdChallenge } from './challenge.js';
export {
  checkIdentitySet,
  identityStatements,
  READER_ROLE,
  type ReadOnlyOptions,
  withIdentity,
  withMaintenance,
  withReadOnlyIdentity,
} from './db.js';
export {
  type CommandOutput,
  DevIssuer,
  type DevIssuerOptions,
  devIssuerEnabled,
  devIssuerPlugin,
  devIssuerSettings,
  type MintOptions,
  runTokenCommand,
} from './dev-issuer.js';
export {
  DEV_LOGIN_CODE_LIFETIME_SECONDS,
  DEV_LOGIN_TOKEN_LIFETIME_SECONDS,
  type DevLoginOptions,
  s256,
} from './dev-login.js';
export { type AuthError, IssuerUnavailableError, TokenError } from './errors.js';
export {
  ANONYMOUS,
  groupsFromClaims,
  type Identity,
  isAnonymous,
  MAX_GROUPS,
  normaliseGroups,
  type TokenInfo,
} from './identity.js';
export { cameThroughLogin, LOGIN_PREFIX, loginLocation, rewriteLoginUrl } from './login-alias.js';
export { type AuthPluginOptions, authPlugin, challengeFor, sendAuthenticationRequired } from './plugin.js';
export {
  AUTH_VARIABLES,
  DEV_WEB_CLIENT_ID,
  type NodeAuth,
  nodeAuthFromEnv,
  type WebLogin,
} from './settings.js';
export {
  ASYMMETRIC_ALGORITHMS,
  bearerToken,
  type CredentialScheme,
  credentialToken,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  TokenVerifier,
  type TokenVerifierOptions,
} from './tokens.js';
