import ipaddr from 'ipaddr.js';
import type { LocateReplicas, RemoteLocation } from '../datalink/index.js';
import type { DataLocation, DmApiClient } from './client.js';

/** A public unicast address the DM API can place; loopback, private and the like cannot be. */
function placeable(address: string | undefined): string | undefined {
  if (!address) return undefined;
  try {
    return ipaddr.process(address).range() === 'unicast' ? ipaddr.process(address).toString() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Locations in the node's order: the sites of `preference` first, in its order, then the rest
 * in the DM API's (nearest to the caller, or random). A stable reordering, so the DM API's
 * order decides among sites the node does not name.
 */
export function orderLocations(
  locations: readonly DataLocation[],
  preference: readonly string[],
): DataLocation[] {
  const rank = (id: string) => {
    const i = preference.indexOf(id);
    return i < 0 ? preference.length : i;
  };
  return locations
    .map((l, i) => ({ l, i }))
    .sort((a, b) => rank(a.l.identifier) - rank(b.l.identifier) || a.i - b.i)
    .map((x) => x.l);
}

/**
 * DataLink's replica lookup through the DM API's /data/locate: nearest to the DataLink caller
 * (its address passed as ip_address when it is a public one; otherwise the DM API places the
 * node itself), reordered by the site's preference, with each storage's synchronous SODA.
 */
export function replicaLocator(dm: DmApiClient, preference: readonly string[]): LocateReplicas {
  return async (scope, name, clientAddress) => {
    const ip = placeable(clientAddress);
    const found = await dm.locate(scope, name, ip ? { ipAddress: ip } : {});
    return orderLocations(found, preference).map(
      (l): RemoteLocation => ({
        site: l.identifier,
        urls: l.replicas,
        soda: l.colocated
          .filter((s) => s.type === 'soda_sync')
          .map((s) => ({ url: s.url, resourceIdentifier: s.resourceIdentifier })),
      }),
    );
  };
}
