import { lookup as dnsLookup } from 'node:dns/promises';
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { DaliError } from '../dali/index.js';

/**
 * Fetching TAP upload URLs (TAP-46) without letting a client reach the node's own network
 * (server-side request forgery). Every hop of a fetch is:
 *   1. parsed by the WHATWG URL parser, which already turns the numeric IPv4 spellings
 *      (2130706433, 0177.0.0.1, 0x7f.1, 127.1) into dotted quads and IPv6 into one form;
 *   2. resolved ONCE (every DNS answer, /etc/hosts included);
 *   3. refused unless every address is public unicast, by ipaddr.js's registry of special
 *      ranges, looking through the forms that carry an IPv4 address inside IPv6
 *      (IPv4-mapped, IPv4-translated, NAT64 64:ff9b::/96, 6to4) and refusing the rest
 *      (IPv4-compatible ::/96, Teredo, NAT64 local-use);
 *   4. connected to the address that was checked: the socket's lookup answers with it, so a
 *      second DNS answer (DNS rebinding) never reaches a socket;
 *   5. on a redirect, the next URL goes through 1-4 again, up to a fixed number of hops.
 */

export interface UploadFetchPolicy {
  /** Also fetch from loopback, RFC 1918, unique-local and CGNAT addresses (tests, closed sites). */
  readonly allowPrivate: boolean;
  /** Seconds for the whole fetch, every hop and the body included. */
  readonly timeoutSeconds: number;
  /** Redirects followed before giving up. */
  readonly maxRedirects: number;
  /** How names become addresses; the system resolver unless a test gives its own. */
  readonly resolve?: (hostname: string) => Promise<readonly string[]>;
}

export const DEFAULT_MAX_REDIRECTS = 5;

/** Ranges fetched from only with allowPrivate: the node's own host and its site's networks. */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat']);

/**
 * Why `address` (an IP address in text) is not fetched from, or undefined if it may be.
 * Link-local (cloud metadata at 169.254.169.254), multicast, unspecified, broadcast and
 * reserved ranges are refused even with allowPrivate.
 */
export function addressRefusal(address: string, allowPrivate: boolean): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // IPv6 in the URL standard's hex form first: ipaddr.js reads any dotted tail as
    // IPv4-mapped (::8.8.8.8 would become ::ffff:8.8.8.8, hiding an IPv4-compatible address).
    parsed = ipaddr.parse(
      address.includes(':') ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address,
    );
  } catch {
    return 'not an IP address';
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    const embedded = embeddedIPv4(v6);
    if (embedded === 'refuse') return 'an IPv6 transition address';
    if (embedded) return addressRefusal(embedded.toString(), allowPrivate);
  }
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  if (allowPrivate && PRIVATE_RANGES.has(range)) return undefined;
  return range;
}

/** The IPv4 address an IPv6 address stands for, 'refuse' for forms not worth untangling. */
function embeddedIPv4(a: ipaddr.IPv6): ipaddr.IPv4 | 'refuse' | undefined {
  const b = a.toByteArray();
  const last32 = () => new ipaddr.IPv4(b.slice(12, 16));
  switch (a.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return last32();
    case 'rfc6052': // NAT64: the well-known 64:ff9b::/96 carries the address in the last 32 bits
      return a.match(ipaddr.IPv6.parse('64:ff9b::'), 96) ? last32() : 'refuse';
    case '6to4': // 2002:AABB:CCDD::/48
      return new ipaddr.IPv4(b.slice(2, 6));
    case 'teredo':
      return 'refuse';
    case 'unspecified':
    case 'loopback':
      return undefined;
    default:
      // IPv4-compatible ::a.b.c.d (deprecated by RFC 4291, but some stacks still route it).
      return b.slice(0, 12).every((x) => x === 0) ? 'refuse' : undefined;
  }
}

/** One checked hop: the addresses the host stands for, all allowed. */
async function checkedAddresses(url: URL, policy: UploadFetchPolicy): Promise<string[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const refused = () =>
    new DaliError(
      `UPLOAD URL ${url}: its host does not resolve, or points at a loopback or private address ` +
        '(or another non-public one); this service fetches uploads only from public addresses',
    );
  let addresses: readonly string[];
  if (ipaddr.isValid(host) && (host.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(host))) {
    addresses = [host];
  } else {
    try {
      addresses = await (policy.resolve ?? systemResolve)(host);
    } catch {
      throw refused();
    }
  }
  // A name with one non-public answer is refused whole: any answer may be the one used later.
  if (addresses.length === 0 || addresses.some((a) => addressRefusal(a, policy.allowPrivate) !== undefined))
    throw refused();
  return [...addresses];
}

async function systemResolve(host: string): Promise<string[]> {
  return (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/** A socket lookup that answers only `hostname`, and only with the address already checked. */
function pinnedLookup(hostname: string, address: string): LookupFunction {
  const family = address.includes(':') ? 6 : 4;
  return (name, options, callback) => {
    if (name !== hostname) {
      callback(Object.assign(new Error(`unexpected lookup of ${name}`), { code: 'ENOTFOUND' }), '', 0);
      return;
    }
    if ((options as { all?: boolean }).all)
      (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address, family },
      ]);
    else callback(null, address, family);
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * The body of `url` as a stream, after the checks above on every hop. Refusals and failures
 * are DaliErrors (400) whose text names neither the addresses a name resolved to nor
 * anything of the node; the caller bounds the size while writing.
 */
export async function openUploadUrl(
  url: URL,
  policy: UploadFetchPolicy,
): Promise<{ body: IncomingMessage; length: number | undefined }> {
  const signal = AbortSignal.timeout(policy.timeoutSeconds * 1000);
  let current = url;
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:')
      throw new DaliError(
        `UPLOAD URL ${url} redirects to a ${current.protocol} URL; only http and https are fetched`,
      );
    const addresses = await checkedAddresses(current, policy);
    if (signal.aborted) throw timeout(url, policy);
    const res = await firstAnswer(current, addresses, signal).catch((err: unknown) => {
      throw signal.aborted
        ? timeout(url, policy)
        : new DaliError(`could not fetch the upload ${url}: ${why(err)}`);
    });
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.destroy();
      if (hop >= policy.maxRedirects)
        throw new DaliError(`could not fetch the upload ${url}: more than ${policy.maxRedirects} redirects`);
      try {
        current = new URL(res.headers.location, current);
      } catch {
        throw new DaliError(`could not fetch the upload ${url}: a redirect to an invalid URL`);
      }
      continue;
    }
    if (status < 200 || status > 299) {
      res.destroy();
      throw new DaliError(`could not fetch the upload ${url}: HTTP ${status}`);
    }
    const length = Number(res.headers['content-length'] ?? 'NaN');
    // The body stays under the same deadline: a slow sender cannot hold the request open.
    const onAbort = () => res.destroy(timeout(url, policy));
    signal.addEventListener('abort', onAbort, { once: true });
    res.once('close', () => signal.removeEventListener('abort', onAbort));
    return { body: res, length: Number.isFinite(length) ? length : undefined };
  }
}

/** Codes after which the next checked address of the same name is worth a try. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Tries the checked addresses in the resolver's order, as a connect over a name would. */
async function firstAnswer(
  url: URL,
  addresses: readonly string[],
  signal: AbortSignal,
): Promise<IncomingMessage> {
  let last: unknown;
  for (const address of addresses) {
    try {
      return await get(url, address, signal);
    } catch (err) {
      last = err;
      if (signal.aborted || !UNREACHABLE.has((err as { code?: string }).code ?? '')) throw err;
    }
  }
  throw last;
}

function get(url: URL, address: string, signal: AbortSignal): Promise<IncomingMessage> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const options: RequestOptions = {
    method: 'GET',
    hostname,
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    // No credentials of the caller are ever sent along (CLIENTS.md); no shared sockets.
    headers: { accept: 'application/x-votable+xml, text/xml, */*' },
    agent: false,
    lookup: pinnedLookup(hostname, address),
    signal,
  };
  return new Promise((resolve, reject) => {
    const req: ClientRequest = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, resolve);
    req.on('error', reject);
    req.end();
  });
}

function timeout(url: URL, policy: UploadFetchPolicy): DaliError {
  return new DaliError(`could not fetch the upload ${url}: no answer within ${policy.timeoutSeconds} s`);
}

/** A reason a client may read: system error codes, never addresses or local paths. */
function why(err: unknown): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'the connection was reset';
  if (code === 'ETIMEDOUT') return 'the connection timed out';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'the host cannot be reached';
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT')
    return 'its TLS certificate is not valid';
  if (code === 'HPE_INVALID_CONSTANT' || code.startsWith('HPE_')) return 'the answer is not valid HTTP';
  return 'the request failed';
}
