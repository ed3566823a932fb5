/**
 * CONTRACT FIXTURE of SRCNet's Data Management API (ska-telescope/ska-src-data-management-api).
 * Rucio and the DM API cannot run on the test machines; this small HTTP server on 127.0.0.1
 * answers the only routes vonode calls, with the request and response shapes their public
 * callers document, and nothing else. It holds DIDs in memory; the tests change them.
 *
 * Where each shape comes from:
 * - GET /data/locate/{namespace}/{name}?sort=&ip_address=&colocated_services=
 *   ska-telescope/ska-rucio-ivoa-integration, rucio-datalink/src/rucio_datalink/rest/server.py
 *   (`locate_replicas_of_file(namespace, name, sort, ip_address, colocated_services=
 *   "soda_sync, soda_async")`, then `entry.get('identifier')`, `entry.get('replicas')`,
 *   `entry.get('colocated_services')` with `type`, `prefix`, `host`, `port`, `path` and
 *   `other_attributes.resourceIdentifier.value`); the entry's fields `identifier`,
 *   `associated_storage_area_id`, `replicas`, `is_dataset` from ska-telescope/ska-src-clients
 *   path-finder models (DataLocation, DataLocationAPIResponse = list of DataLocation). Sorts
 *   `random` and `nearest_by_ip` (ska-src-clients api/data.py `locate`): nearest is played
 *   here by a fixed distance per storage, the fixture's stand-in for geolocation.
 * - GET /metadata/{namespace}/{name}: rucio-datalink server.py `get_metadata(namespace=scope,
 *   name=name).json()` read as a flat object (`metadata.get('obs_id')`, `content_length`...),
 *   whose keys are ObsCore column names (ska-rucio-ivoa-integration 02-rucio.sql,
 *   jsonb_populate_record of the DID's data into an ObsCore row).
 * - GET /data/list/{namespace}?name=&detail=&filters=&limit=: ska-src-clients api/data.py
 *   `list_files_in_namespace(namespace, name, detail, filters, limit)`; names as a JSON array.
 * - Errors as FastAPI gives them (the DM API is a FastAPI service): JSON `{"detail": ...}`,
 *   401 without the bearer token, 404 for an unknown namespace or DID.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureService {
  type: 'soda_sync' | 'soda_async';
  prefix: string;
  host: string;
  port: number;
  path: string;
  other_attributes?: { resourceIdentifier?: { value: string } };
}

export interface FixtureStorage {
  identifier: string;
  associated_storage_area_id: string;
  /** The fixture's stand-in for geolocation: smaller is nearer. */
  distance: number;
  colocated_services: FixtureService[];
}

export interface FixtureDid {
  metadata: Record<string, unknown>;
  /** Replica URLs by storage identifier. */
  replicas: Record<string, string[]>;
}

export class DmApiFixture {
  readonly namespaces = new Map<string, Map<string, FixtureDid>>();
  readonly storages = new Map<string, FixtureStorage>();
  /** Every request, for assertions on what the client sends. */
  readonly requests: { path: string; query: URLSearchParams; authorization: string | undefined }[] = [];
  private server: Server | undefined;
  url = '';

  constructor(readonly token: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server!.close(() => ok()));
    this.server = undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): ServerResponse {
    const url = new URL(req.url ?? '/', 'http://fixture');
    this.requests.push({
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
    });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return send(401, { detail: 'Not authenticated' });
    const parts = url.pathname
      .replace(/^\/api\/v1/, '')
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    if (parts[0] === 'data' && parts[1] === 'list' && parts.length === 3) {
      const ns = this.namespaces.get(parts[2]);
      if (!ns) return send(404, { detail: `namespace ${parts[2]} not found` });
      return send(200, [...ns.keys()]);
    }
    if (parts[0] === 'metadata' && parts.length === 3) {
      const did = this.namespaces.get(parts[1])?.get(parts[2]);
      if (!did) return send(404, { detail: `${parts[1]}:${parts[2]} not found` });
      return send(200, did.metadata);
    }
    if (parts[0] === 'data' && parts[1] === 'locate' && parts.length === 4) {
      const did = this.namespaces.get(parts[2])?.get(parts[3]);
      if (!did) return send(404, { detail: `${parts[2]}:${parts[3]} not found` });
      const wanted = (url.searchParams.get('colocated_services') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      let entries = Object.entries(did.replicas).map(([id, replicas]) => {
        const storage = this.storages.get(id)!;
        return {
          entry: {
            identifier: id,
            associated_storage_area_id: storage.associated_storage_area_id,
            replicas,
            is_dataset: false,
            ...(wanted.length > 0
              ? { colocated_services: storage.colocated_services.filter((s) => wanted.includes(s.type)) }
              : {}),
          },
          distance: storage.distance,
        };
      });
      const sort = url.searchParams.get('sort') ?? 'random';
      if (sort === 'nearest_by_ip') entries = entries.sort((a, b) => a.distance - b.distance);
      else entries = entries.sort(() => Math.random() - 0.5);
      return send(
        200,
        entries.map((e) => e.entry),
      );
    }
    return send(404, { detail: 'Not Found' });
  }
}
