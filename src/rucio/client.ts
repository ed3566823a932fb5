/**
 * The client of SRCNet's Data Management API (ska-telescope/ska-src-data-management-api), the
 * service in front of Rucio. Only the routes SRCNet's own DataLink and clients call:
 * - GET {api}/data/locate/{namespace}/{name}?sort=&ip_address=&colocated_services=
 *   replicas by storage (RSE), in the order of `sort` (ska-rucio-ivoa-integration,
 *   rucio-datalink/src/rucio_datalink/rest/server.py, `locate_replicas_of_file`): a JSON array
 *   of { identifier, associated_storage_area_id, replicas: [url...], is_dataset,
 *   colocated_services: [{ type: 'soda_sync'|'soda_async', prefix, host, port, path,
 *   other_attributes: { resourceIdentifier: { value } } }] } (ska-src-clients path-finder
 *   models, DataLocation).
 * - GET {api}/metadata/{namespace}/{name}: the DID's metadata, one JSON object whose keys are
 *   ObsCore column names (server.py `get_metadata(...).json()`, then `metadata.get('obs_id')`;
 *   the DaCHS side of the same repository turns that object into a row, 02-rucio.sql).
 * - GET {api}/data/list/{namespace}?name=*&detail=&limit=: the DIDs of a namespace
 *   (ska-src-clients api/data.py `list_files_in_namespace(namespace, name, detail, filters,
 *   limit)`): an array of names, or of objects with `name` (Rucio list_dids, detail on).
 * Every request carries the configured bearer token and has a timeout; every failure becomes a
 * DmApiError whose message says what failed and what to do.
 */
import { readFile } from 'node:fs/promises';
import type { LocateSort, RucioSettings } from './settings.js';

export class DmApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status the DM API answered, if it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DmApiError';
  }
}

/** A SODA service beside a replica (the DM API's colocated_services entry). */
export interface ColocatedService {
  readonly type: string;
  readonly url: string;
  readonly resourceIdentifier: string | null;
}

/** The replicas of a DID at one storage (RSE), as /data/locate gives them. */
export interface DataLocation {
  readonly identifier: string;
  readonly storageAreaId: string | null;
  readonly replicas: readonly string[];
  readonly colocated: readonly ColocatedService[];
}

export interface LocateOptions {
  readonly sort?: LocateSort;
  /** Address to find the nearest replicas to (sort nearest_by_ip). */
  readonly ipAddress?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function serviceUrl(s: Record<string, unknown>): string | null {
  const host = typeof s.host === 'string' ? s.host : null;
  if (!host) return null;
  const prefix = typeof s.prefix === 'string' && s.prefix ? s.prefix : 'https';
  const port = s.port === undefined || s.port === null || s.port === '' ? '' : `:${s.port}`;
  const path = typeof s.path === 'string' ? s.path.replace(/^\/+/, '') : '';
  return `${prefix}://${host}${port}/${path}`;
}

export class DmApiClient {
  constructor(private readonly settings: RucioSettings) {}

  get baseUrl(): string {
    return this.settings.dmApi;
  }

  private async token(): Promise<string | undefined> {
    if (this.settings.tokenFile) {
      try {
        return (await readFile(this.settings.tokenFile, 'utf8')).trim() || undefined;
      } catch (err) {
        throw new DmApiError(
          `cannot read VONODE_RUCIO_TOKEN_FILE ${this.settings.tokenFile} (${(err as { code?: string }).code ?? err})`,
        );
      }
    }
    return this.settings.token;
  }

  /** GET a JSON document; 404 gives undefined. */
  private async getJson(path: string, query: Record<string, string | undefined> = {}): Promise<unknown> {
    const url = new URL(`${this.settings.dmApi}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const token = await this.token();
    const what = `the Data Management API at ${this.settings.dmApi}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        signal: AbortSignal.timeout(this.settings.timeoutSeconds * 1000),
      });
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError')
        throw new DmApiError(
          `${what} did not answer ${path} within ${this.settings.timeoutSeconds} s (VONODE_RUCIO_TIMEOUT)`,
        );
      throw new DmApiError(`cannot reach ${what} (${e.cause?.code ?? String(err)})`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new DmApiError(
        `${what} refused the node's token (HTTP ${res.status}) for ${path}; set VONODE_RUCIO_TOKEN or VONODE_RUCIO_TOKEN_FILE to a token the DM API accepts`,
        res.status,
      );
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).slice(0, 200);
      throw new DmApiError(
        `${what} answered HTTP ${res.status} to ${path}${text ? `: ${text}` : ''}`,
        res.status,
      );
    }
    try {
      return await res.json();
    } catch {
      throw new DmApiError(`${what} answered ${path} with something that is not JSON`);
    }
  }

  /** The names of the DIDs of a namespace (Rucio scope). */
  async listNames(namespace: string): Promise<string[]> {
    const body = await this.getJson(`/data/list/${encodeURIComponent(namespace)}`, {
      name: '*',
      detail: 'false',
    });
    if (body === undefined)
      throw new DmApiError(`the Data Management API knows no namespace ${namespace}`, 404);
    if (!Array.isArray(body))
      throw new DmApiError(`the Data Management API's list of ${namespace} is not a JSON array`);
    return body.flatMap((e) =>
      typeof e === 'string' ? [e] : isObject(e) && typeof e.name === 'string' ? [e.name] : [],
    );
  }

  /** The DID's metadata (keys named as ObsCore columns), undefined when the DID is unknown. */
  async metadata(namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    const body = await this.getJson(`/metadata/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
    if (body === undefined) return undefined;
    if (!isObject(body))
      throw new DmApiError(`the Data Management API's metadata of ${namespace}:${name} is not a JSON object`);
    return body;
  }

  /** The replicas of a DID by storage, in the DM API's order (`sort`); [] when it has none. */
  async locate(namespace: string, name: string, opts: LocateOptions = {}): Promise<DataLocation[]> {
    const body = await this.getJson(
      `/data/locate/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
      {
        sort: opts.sort ?? this.settings.locateSort,
        ip_address: opts.ipAddress,
        // As SRCNet's DataLink asks, so each storage says which SODA services run beside it.
        colocated_services: 'soda_sync,soda_async',
      },
    );
    if (body === undefined) return [];
    if (!Array.isArray(body))
      throw new DmApiError(
        `the Data Management API's locations of ${namespace}:${name} are not a JSON array`,
      );
    return body.filter(isObject).map((e) => ({
      identifier: String(e.identifier ?? ''),
      storageAreaId: typeof e.associated_storage_area_id === 'string' ? e.associated_storage_area_id : null,
      replicas: Array.isArray(e.replicas) ? e.replicas.filter((r): r is string => typeof r === 'string') : [],
      colocated: (Array.isArray(e.colocated_services) ? e.colocated_services : [])
        .filter(isObject)
        .flatMap((s) => {
          const url = serviceUrl(s);
          if (!url) return [];
          const attrs = isObject(s.other_attributes) ? s.other_attributes : {};
          const rid = isObject(attrs.resourceIdentifier) ? attrs.resourceIdentifier.value : undefined;
          return [
            { type: String(s.type ?? ''), url, resourceIdentifier: typeof rid === 'string' ? rid : null },
          ];
        }),
    }));
  }
}
