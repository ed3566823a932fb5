import { LANGUAGE_FEATURES } from '../adql/index.js';
import { type Capability, type Interface, STANDARD_ID, vosiCapabilities } from '../registry/index.js';
import { coneSearchCapability } from './scs/index.js';
import { DEFAULT_TAP_LIMITS, type TapLimits, tapCapability } from './tap/capability.js';
import {
  DEFAULT_USER_TABLE_SETTINGS,
  TABLE_PERMISSIONS_STANDARD_ID,
  type UserTableSettings,
  userTableCapabilities,
} from './usertables/index.js';

/**
 * One service of the node at a fixed path (the URL layout is part of the contract with
 * clients and docs). Each answers VOSI /availability and /capabilities.
 */
export interface ServiceEntry {
  /** Path below the base URL, no slashes: tap, sia, ... */
  readonly path: string;
  readonly title: string;
  readonly summary: string;
  /** The service's own capabilities; the VOSI ones are added for every service. */
  capabilities(serviceUrl: string): Capability[];
}

const paramHttp = (url: string, use: 'full' | 'base', version?: string) =>
  ({ type: 'vs:ParamHTTP', role: 'std', version, accessUrls: [{ url, use }] }) as const;

// The auxiliary capability is how a service that is not (yet) a standard protocol
// still lists its endpoint: clients and registries find it without guessing.
const auxiliary = (id: string, url: string): Capability => ({
  standardID: id,
  interfaces: [{ type: 'vs:ParamHTTP', accessUrls: [{ url, use: 'base' }] }],
});

/** VONODE_SCS_MAX_SR's default (src/config). */
export const DEFAULT_SCS_MAX_SR = 10;

/** The cone search limits of a node with the default settings. */
export const DEFAULT_CONE_LIMITS = {
  maxSR: DEFAULT_SCS_MAX_SR,
  maxRecords: DEFAULT_TAP_LIMITS.maxrecHard,
} as const;

/** The services of a node whose TAP states these limits. */
export function nodeServices(
  tapLimits: TapLimits,
  tokens = false,
  userTables: UserTableSettings = DEFAULT_USER_TABLE_SETTINGS,
  scsMaxSR = DEFAULT_SCS_MAX_SR,
): ServiceEntry[] {
  const services: ServiceEntry[] = [
    {
      path: 'tap',
      title: 'Table Access Protocol',
      summary: 'ADQL queries on the catalogues and on ivoa.obscore (TAP 1.1, sync and async)',
      capabilities: (url) => [
        tapCapability(url, tapLimits, LANGUAGE_FEATURES),
        {
          standardID: STANDARD_ID.examples,
          interfaces: [{ type: 'vr:WebBrowser', accessUrls: [{ url: `${url}/examples`, use: 'full' }] }],
        },
        {
          standardID: STANDARD_ID.tables,
          interfaces: [{ ...paramHttp(`${url}/tables`, 'full', '1.1') }],
        },
        // User tables (issue 16): youcat's table load and table update (VOSI-33 [1.2-WD]).
        ...userTableCapabilities(url, userTables),
        // youcat's prototype capability, which cadc-tap looks for before it reads or sets
        // a table's permissions (its access URL + '/' + the table's name)
        auxiliary(TABLE_PERMISSIONS_STANDARD_ID, `${url}/permissions`),
      ],
    },
    {
      path: 'sia',
      title: 'Simple Image Access',
      summary: 'find images and cubes by position, band, time and polarisation (SIA 2.0)',
      capabilities: (url) => [
        { standardID: STANDARD_ID.sia, interfaces: [paramHttp(`${url}/query`, 'full', '2.0')] },
      ],
    },
    {
      path: 'datalink',
      title: 'DataLink',
      summary: 'the files, previews and cutout services of each data product (DataLink 1.1)',
      capabilities: (url) => [
        { standardID: STANDARD_ID.datalink, interfaces: [paramHttp(`${url}/links`, 'full', '1.1')] },
      ],
    },
    {
      path: 'soda',
      title: 'Server-side Operations for Data Access',
      summary: 'cutouts of images and cubes in position, frequency and polarisation (SODA 1.0)',
      capabilities: (url) => [
        { standardID: STANDARD_ID.sodaSync, interfaces: [paramHttp(`${url}/sync`, 'full', '1.0')] },
        { standardID: STANDARD_ID.sodaAsync, interfaces: [paramHttp(`${url}/async`, 'full', '1.0')] },
      ],
    },
    {
      path: 'scs',
      title: 'Simple Cone Search',
      summary:
        'sources within a cone (SCS 1.03): /scs/query for the demo catalogue, /scs/<schema>.<table>/query for each published catalogue with a position',
      // SCS-01: the base URL ends in '?' and clients append RA, DEC and SR. pyvo strips
      // the '?' before asking its AuthSession which credentials to send, so this
      // accessURL is no prefix of what it asks about; the node-wide capability covers it.
      capabilities: (url) => [
        coneSearchCapability(`${url}/query?`, { maxSR: scsMaxSR, maxRecords: tapLimits.maxrecHard }),
      ],
    },
    {
      path: 'moc',
      title: 'Coverage (MOC)',
      summary: 'the sky coverage of collections and products as MOC 2.0',
      capabilities: (url) => [auxiliary('ivo://ivoa.net/std/MOC', url)],
    },
    {
      path: 'hips',
      title: 'HiPS',
      summary: 'hierarchical progressive surveys of the images, for Aladin',
      capabilities: (url) => [
        {
          standardID: STANDARD_ID.hipsList,
          interfaces: [{ type: 'vs:ParamHTTP', accessUrls: [{ url: `${url}/hipslist`, use: 'full' }] }],
        },
      ],
    },
    {
      path: 'broker',
      title: 'Execution Broker',
      summary: 'offers and sessions to run containers, notebooks and pipelines next to the data',
      capabilities: (url) => [auxiliary('ivo://ivoa.net/std/ExecutionBroker', url)],
    },
    {
      path: 'registry',
      title: 'Publishing registry',
      summary: 'VOResource records of this node over OAI-PMH',
      capabilities: (url) => [
        {
          standardID: STANDARD_ID.registryHarvest,
          interfaces: [
            {
              type: 'vs:ParamHTTP',
              role: 'std',
              version: '1.0',
              accessUrls: [{ url: `${url}/oai`, use: 'base' }],
            },
          ],
        },
      ],
    },
  ];
  return tokens ? services.map(withTokenInterfaces) : services;
}

/** SSO-1: bearer tokens (RFC 6750) and HTTP Basic, which takes the same token as its password. */
export const SECURITY_METHODS = ['ivo://ivoa.net/sso#OAuth', 'ivo://ivoa.net/sso#BasicAA'] as const;

/**
 * The capability that covers every other URL of the node (DataLink files, previews,
 * SODA, SCS, HiPS, MOC, the broker, UWS jobs): what a TAP row or a DataLink link points
 * to. pyvo's AuthSession attaches credentials only to URLs that some capability it has
 * read declares a security method for (the `full` accessURLs exactly, `base` ones as
 * prefixes, the longest first), so without it a session built from /tap/capabilities
 * sends /datalink/files and /preview anonymously. There is no IVOA standardID for
 * "any URL of this node" (CADC uses its own for file access), hence a vonode one; it
 * is listed in every service's capabilities, so any one of them is enough.
 */
export const NODE_URLS_STANDARD_ID = 'ivo://vonode/std/node-urls';

/**
 * With tokens accepted, each protocol interface gets twins carrying one securityMethod
 * each: one method per interface keeps VOResource 1.1 valid (SSO-6, SSO-29), and the
 * method-less one still says anonymous access works. The VOSI capabilities and
 * availability interfaces stay method-less (SSO-5): serviceCapabilities adds them after.
 */
function withTokenInterfaces(entry: ServiceEntry): ServiceEntry {
  return {
    ...entry,
    capabilities: (url) => {
      const base = url.slice(0, url.length - entry.path.length - 1);
      return [
        ...entry.capabilities(url).map((cap) => ({ ...cap, interfaces: cap.interfaces.flatMap(secured) })),
        {
          standardID: NODE_URLS_STANDARD_ID,
          description:
            'Every URL below this base accepts the same credentials as the services: a bearer token, or the token as the HTTP Basic password.',
          interfaces: secured({ type: 'vs:ParamHTTP', accessUrls: [{ url: `${base}/`, use: 'base' }] }),
        },
      ];
    },
  };
}

/** A capability as a node accepting tokens lists it: each interface with its secured twins. */
export function securedCapability(cap: Capability): Capability {
  return { ...cap, interfaces: cap.interfaces.flatMap(secured) };
}

function secured(i: Interface): Interface[] {
  return [i, ...SECURITY_METHODS.map((securityMethod) => ({ ...i, securityMethod }))];
}

/** The services with the default limits, for documents that do not depend on configuration. */
export const SERVICES: readonly ServiceEntry[] = nodeServices(DEFAULT_TAP_LIMITS);

export function serviceCapabilities(entry: ServiceEntry, baseUrl: string): Capability[] {
  const url = `${baseUrl}/${entry.path}`;
  return [...entry.capabilities(url), ...vosiCapabilities(url)];
}
