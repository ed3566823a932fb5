/**
 * What a 401 (or a 200/403 on an optional-auth endpoint) tells the client about how to
 * authenticate: RFC 6750 `Bearer` and the SSO-next `ivoa_bearer` challenge (SSO-7..9).
 */
export interface ChallengeOptions {
  /** The protection space, usually the node's name or base URL. */
  readonly realm: string;
  /**
   * Where and how a client gets a token, sent as an `ivoa_bearer` challenge. `ivoa_bearer`
   * is a draft (SSO-next; AuthVO defers bearer acquisition, SSO-17): absent means only
   * the plain Bearer challenge is sent.
   */
  readonly ivoaBearer?: {
    /** `standard_id`: the login protocol, e.g. ivo://ivoa.net/sso#OpenID. */
    readonly standardId: string;
    /** `access_url`: where that protocol starts. */
    readonly accessUrl: string;
    /** Further parameters, e.g. SRCNet's `discovery_url`. */
    readonly params?: Readonly<Record<string, string>>;
  };
  /**
   * Also offer HTTP `Basic` with the token as the password (RFC 7617), for clients that
   * can send only a user name and password, and only after a 401 that asks for Basic
   * (java.net.Authenticator: TOPCAT, STILTS).
   */
  readonly basic?: boolean;
}

/** RFC 6750 §3 error codes. */
export type BearerError = 'invalid_token' | 'invalid_request' | 'insufficient_scope';

/**
 * The WWW-Authenticate header values (one challenge each). With no error this is the
 * challenge for a request that carried no credentials (SSO-23: no error code then);
 * with `invalid_token` it tells the client its token was refused and why.
 */
export function bearerChallenge(
  options: ChallengeOptions,
  error?: { readonly error: BearerError; readonly description?: string; readonly scope?: string },
): string[] {
  const bearer: string[] = [`realm=${quoted(options.realm)}`];
  if (error) {
    bearer.push(`error=${quoted(error.error)}`);
    if (error.description) bearer.push(`error_description=${quoted(errorDescription(error.description))}`);
    // RFC 6750 §3: the scope needed, with insufficient_scope.
    if (error.scope) bearer.push(`scope=${quoted(error.scope)}`);
  }
  const challenges = [`Bearer ${bearer.join(', ')}`];
  if (options.ivoaBearer) {
    const params = [
      `standard_id=${quoted(options.ivoaBearer.standardId)}`,
      `access_url=${quoted(options.ivoaBearer.accessUrl)}`,
      ...Object.entries(options.ivoaBearer.params ?? {}).map(([k, v]) => `${k}=${quoted(v)}`),
    ];
    challenges.push(`ivoa_bearer ${params.join(', ')}`);
  }
  if (options.basic) challenges.push(`Basic realm=${quoted(options.realm)}, charset="UTF-8"`);
  return challenges;
}

/**
 * The usual ivoa_bearer parameters for an OpenID Connect issuer: log in with OpenID at
 * the issuer, whose discovery document says where the token endpoint is.
 */
export function openIdChallenge(realm: string, issuer: string, basic = true): ChallengeOptions {
  const discovery = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  return {
    realm,
    basic,
    ivoaBearer: {
      standardId: 'ivo://ivoa.net/sso#OpenID',
      accessUrl: issuer,
      params: { discovery_url: discovery },
    },
  };
}

/** RFC 7230 quoted-string with `"` and `\` escaped; control characters dropped. */
function quoted(value: string): string {
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, '').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
function errorDescription(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/["\\]/g, "'")
    .replace(/[^\x20-\x7e]/g, '');
}
