import { join } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { type ChallengeOptions, openIdChallenge } from './challenge.js';
import { DevIssuer, devIssuerEnabled } from './dev-issuer.js';
import { TokenVerifier } from './tokens.js';

/** The environment variables that configure authentication, for the configuration table. */
export const AUTH_VARIABLES: ReadonlyArray<{ name: string; meaning: string; default: string }> = [
  {
    name: 'VONODE_OIDC_ISSUER',
    meaning: 'OIDC issuer URL whose tokens are accepted (discovery finds its keys)',
    default: 'none: anonymous only',
  },
  {
    name: 'VONODE_OIDC_JWKS_URL',
    meaning: "the issuer's JWKS URL, to skip discovery",
    default: 'from discovery',
  },
  {
    name: 'VONODE_OIDC_AUDIENCE',
    meaning: 'accepted token audience(s), comma-separated',
    default: 'not checked',
  },
  {
    name: 'VONODE_OIDC_REQUIRED_SCOPES',
    meaning:
      'scopes every token must carry (scope or scp claim), space- or comma-separated; a token without them gets 403 insufficient_scope',
    default: 'none',
  },
  {
    name: 'VONODE_OIDC_GROUPS_CLAIM',
    meaning: 'claim(s) with group membership, comma-separated',
    default: 'groups,wlcg.groups',
  },
  { name: 'VONODE_OIDC_CLOCK_SKEW', meaning: 'seconds of leeway on exp/nbf', default: '30' },
  {
    name: 'VONODE_OIDC_MAX_TOKEN_LIFETIME',
    meaning:
      'longest accepted token lifetime in seconds (exp - iat, or exp - now without iat); tokens without exp are refused',
    default: '2592000 (30 days)',
  },
  { name: 'VONODE_AUTH_REALM', meaning: 'realm of the Bearer challenge', default: 'vonode' },
  {
    name: 'VONODE_WEB_CLIENT_ID',
    meaning:
      "the browser pages' OAuth client id at the issuer (a public client: authorization code with PKCE, redirect URI <base URL>/web/callback)",
    default: 'vonode-web with the development issuer; otherwise none: no login on the pages',
  },
  {
    name: 'VONODE_WEB_SCOPES',
    meaning: 'scopes the pages ask for at login, space-separated (openid is always asked)',
    default: 'openid',
  },
  {
    name: 'VONODE_DEV_ISSUER',
    meaning: 'on: local development issuer at <base URL>/dev-issuer (never in production)',
    default: 'off',
  },
];

export interface NodeAuth {
  /** Absent: the node is anonymous-only. */
  readonly verifier?: TokenVerifier;
  /** Present when VONODE_DEV_ISSUER=on: mount devIssuerPlugin with it. */
  readonly devIssuer?: DevIssuer;
  readonly challenge: ChallengeOptions;
  /** Present when the browser pages can log in: the issuer, the pages' client id, the scopes. */
  readonly webLogin?: WebLogin;
}

export interface WebLogin {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
}

/** The development issuer's client id for the pages when VONODE_WEB_CLIENT_ID is unset. */
export const DEV_WEB_CLIENT_ID = 'vonode-web';

function webLogin(env: NodeJS.ProcessEnv, issuer: string, fallbackClientId?: string): WebLogin | undefined {
  const clientId = text(env.VONODE_WEB_CLIENT_ID) ?? fallbackClientId;
  if (!clientId) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(clientId))
    throw new ConfigError(
      `VONODE_WEB_CLIENT_ID='${clientId}' is not an OAuth client id (visible ASCII, no spaces)`,
      'set it to the client id registered at the identity provider for the pages',
    );
  const scopes = (text(env.VONODE_WEB_SCOPES) ?? '').split(/\s+/).filter((s) => s.length > 0);
  // openid: the pages check the ID token's nonce (OIDC Core §3.1.3.7).
  const scope = ['openid', ...scopes.filter((s) => s !== 'openid')].join(' ');
  return { issuer, clientId, scope };
}

/**
 * Builds the node's authentication from the environment and the node's base URL and
 * data folder: a verifier for a real identity provider, the development issuer, or
 * neither (anonymous only). Asking for both is refused, so the development issuer can
 * never sit quietly next to a production one.
 */
export async function nodeAuthFromEnv(
  env: NodeJS.ProcessEnv,
  node: { readonly baseUrl: string; readonly dataDir: string },
): Promise<NodeAuth> {
  const issuer = text(env.VONODE_OIDC_ISSUER);
  const jwksUrl = text(env.VONODE_OIDC_JWKS_URL);
  const audience = list(env.VONODE_OIDC_AUDIENCE);
  const groupsClaim = list(env.VONODE_OIDC_GROUPS_CLAIM);
  const realm = text(env.VONODE_AUTH_REALM) ?? 'vonode';
  const skewText = text(env.VONODE_OIDC_CLOCK_SKEW);
  const clockSkewSeconds = skewText === undefined ? undefined : Number(skewText);
  if (
    clockSkewSeconds !== undefined &&
    !(Number.isFinite(clockSkewSeconds) && clockSkewSeconds >= 0 && clockSkewSeconds <= 600)
  ) {
    throw new ConfigError(
      `VONODE_OIDC_CLOCK_SKEW='${skewText}' is not a number of seconds from 0 to 600`,
      'set it to e.g. 30',
    );
  }
  const lifetimeText = text(env.VONODE_OIDC_MAX_TOKEN_LIFETIME);
  const maxLifetimeSeconds = lifetimeText === undefined ? undefined : Number(lifetimeText);
  if (
    maxLifetimeSeconds !== undefined &&
    !(
      Number.isInteger(maxLifetimeSeconds) &&
      maxLifetimeSeconds >= 60 &&
      maxLifetimeSeconds <= 365 * 24 * 3600
    )
  ) {
    throw new ConfigError(
      `VONODE_OIDC_MAX_TOKEN_LIFETIME='${lifetimeText}' is not a whole number of seconds from 60 to 31536000`,
      'set it to e.g. 86400 (one day), or leave it unset for 30 days',
    );
  }
  const requiredScopes = (text(env.VONODE_OIDC_REQUIRED_SCOPES) ?? '')
    .split(/[\s,]+/)
    .filter((s) => s.length > 0);
  const common = { audience, groupsClaim, clockSkewSeconds, maxLifetimeSeconds, requiredScopes };
  if (devIssuerEnabled(env)) {
    if (issuer || jwksUrl) {
      throw new ConfigError(
        'VONODE_DEV_ISSUER=on and VONODE_OIDC_ISSUER/VONODE_OIDC_JWKS_URL are both set',
        'use the development issuer only on a development machine: unset one of them',
      );
    }
    const devIssuer = await DevIssuer.open({
      keyDir: text(env.VONODE_DEV_ISSUER_KEY_DIR) ?? join(node.dataDir, 'dev-issuer'),
      issuer: text(env.VONODE_DEV_ISSUER_URL) ?? `${node.baseUrl.replace(/\/+$/, '')}/dev-issuer`,
    });
    const verifier = new TokenVerifier({ ...devIssuer.verifierOptions(), ...common });
    return {
      verifier,
      devIssuer,
      challenge: openIdChallenge(realm, devIssuer.issuer),
      webLogin: webLogin(env, devIssuer.issuer, DEV_WEB_CLIENT_ID),
    };
  }
  if (!issuer && !jwksUrl) return { challenge: { realm } };
  if (!issuer) {
    throw new ConfigError(
      'VONODE_OIDC_JWKS_URL is set without VONODE_OIDC_ISSUER',
      "set VONODE_OIDC_ISSUER too: every token's iss claim is checked against it",
    );
  }
  const verifier = new TokenVerifier({ issuer, jwksUrl, ...common });
  return { verifier, challenge: openIdChallenge(realm, issuer), webLogin: webLogin(env, issuer) };
}

function text(value: string | undefined): string | undefined {
  const t = value?.trim();
  return t ? t : undefined;
}

function list(value: string | undefined): string[] | undefined {
  const items = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return items.length > 0 ? items : undefined;
}
