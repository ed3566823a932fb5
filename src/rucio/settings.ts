import { ConfigError } from '../config/errors.js';
import { integerSetting } from '../config/index.js';

/** The environment variables of the Rucio adapter, for the configuration table (README). */
export const RUCIO_VARIABLES: ReadonlyArray<{ name: string; meaning: string; default: string }> = [
  {
    name: 'VONODE_RUCIO_DM_API',
    meaning:
      "base URL of SRCNet's Data Management API (e.g. https://data-management.srcnet.skao.int/api/v1); unset: no Rucio products",
    default: 'none',
  },
  {
    name: 'VONODE_RUCIO_TOKEN',
    meaning: 'bearer token sent to the Data Management API',
    default: 'none',
  },
  {
    name: 'VONODE_RUCIO_TOKEN_FILE',
    meaning: 'file holding that token, read again at every request (a token renewed beside the node)',
    default: 'none',
  },
  {
    name: 'VONODE_RUCIO_NAMESPACES',
    meaning: 'Rucio scopes (DM API namespaces) whose DIDs become ObsCore rows, comma-separated',
    default: 'none',
  },
  {
    name: 'VONODE_RUCIO_SYNC_INTERVAL',
    meaning: 'seconds between two polls of the namespaces by the node (0: only `vonode rucio sync`)',
    default: '600',
  },
  {
    name: 'VONODE_RUCIO_TIMEOUT',
    meaning: 'seconds one Data Management API request may take before it is given up',
    default: '10',
  },
  {
    name: 'VONODE_RUCIO_LOCATE_SORT',
    meaning: 'order the DM API gives replicas in: nearest_by_ip (to the DataLink caller) or random',
    default: 'nearest_by_ip',
  },
  {
    name: 'VONODE_RUCIO_SITE_PREFERENCE',
    meaning: "RSEs (sites' storage) to list first in DataLink, in this order, comma-separated",
    default: 'none',
  },
];

export type LocateSort = 'nearest_by_ip' | 'random';

export interface RucioSettings {
  /** Base URL of the DM API without trailing slash. */
  readonly dmApi: string;
  readonly token: string | undefined;
  readonly tokenFile: string | undefined;
  readonly namespaces: readonly string[];
  /** 0: the node does not poll. */
  readonly syncIntervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly locateSort: LocateSort;
  readonly sitePreference: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The adapter's settings, or undefined when VONODE_RUCIO_DM_API is unset (no Rucio products). */
export function rucioSettings(env: Env): RucioSettings | undefined {
  const raw = env.VONODE_RUCIO_DM_API?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      `VONODE_RUCIO_DM_API='${raw}' is not a URL`,
      'give the base URL of the Data Management API, e.g. https://data-management.srcnet.skao.int/api/v1',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`VONODE_RUCIO_DM_API='${raw}' is not http(s)`, 'give an http:// or https:// URL');
  const sort = (env.VONODE_RUCIO_LOCATE_SORT?.trim() || 'nearest_by_ip') as LocateSort;
  if (sort !== 'nearest_by_ip' && sort !== 'random')
    throw new ConfigError(
      `VONODE_RUCIO_LOCATE_SORT='${sort}' is not a sort of the DM API`,
      'use nearest_by_ip or random',
    );
  const namespaces = list(env.VONODE_RUCIO_NAMESPACES);
  for (const ns of namespaces) {
    // A Rucio scope: no separator of a DID (scope:name) or of a URL path.
    if (!/^[A-Za-z0-9_.-]+$/.test(ns))
      throw new ConfigError(
        `VONODE_RUCIO_NAMESPACES has '${ns}', which is not a Rucio scope`,
        'give scopes of letters, digits, _ . -, comma-separated',
      );
  }
  return {
    dmApi: raw.replace(/\/+$/, ''),
    token: env.VONODE_RUCIO_TOKEN?.trim() || undefined,
    tokenFile: env.VONODE_RUCIO_TOKEN_FILE?.trim() || undefined,
    namespaces,
    syncIntervalSeconds: integerSetting(env, 'VONODE_RUCIO_SYNC_INTERVAL', 600, 0, 604_800),
    timeoutSeconds: integerSetting(env, 'VONODE_RUCIO_TIMEOUT', 10, 1, 600),
    locateSort: sort,
    sitePreference: list(env.VONODE_RUCIO_SITE_PREFERENCE),
  };
}
