/**
 * Why a bearer token was refused. `error` is the RFC 6750 error code that goes into the
 * Bearer challenge (SSO-23); `description` is a sentence a person can act on and is safe
 * to send back (it never contains the token).
 */
export class TokenError extends Error {
  readonly status = 401;
  constructor(
    readonly description: string,
    readonly error: 'invalid_token' | 'invalid_request' | null = 'invalid_token',
  ) {
    super(description);
    this.name = 'TokenError';
  }
}

/**
 * The token could not be checked because the identity provider (its discovery document
 * or its key set) could not be reached or answered nonsense. This is our problem, not
 * the caller's, so it is a 503 and the client is not told to log in again.
 */
export class IssuerUnavailableError extends Error {
  readonly status = 503;
  constructor(readonly description: string) {
    super(description);
    this.name = 'IssuerUnavailableError';
  }
}

/**
 * A valid token that lacks a scope this node requires (VONODE_OIDC_REQUIRED_SCOPES): the
 * caller is known but the token was not issued for this use, so 403 with the RFC 6750 §3.1
 * `insufficient_scope` error and the scopes to ask for, not a 401 that would only repeat
 * the same login.
 */
export class InsufficientScopeError extends Error {
  readonly status = 403;
  readonly error = 'insufficient_scope';
  constructor(
    readonly description: string,
    readonly required: readonly string[],
  ) {
    super(description);
    this.name = 'InsufficientScopeError';
  }
}

export type AuthError = TokenError | IssuerUnavailableError | InsufficientScopeError;
