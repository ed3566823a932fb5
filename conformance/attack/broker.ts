/**
 * ExecutionBroker isolation (issue 13, build 1). The broker runs containers through the
 * stand-in runtime fake-runtime.py (no container engine runs in CI), which records what a
 * real engine would have been asked to do and emulates `cat` and `ln -s` with the mounts
 * applied. A signed-in user (alice, team-a) tries to get options, environment or symlinks
 * past the broker, and to read a host file and team-b's embargoed FITS file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA, EMBARGOED_DID, EMBARGOED_FILE, env, http, report, sleep, Tally, TOKEN_A } from './lib.js';

const CONTAINER = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/executable/docker-container-1.0';
const IVOA_DATA = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/data/ivoa-data-resource-1.0';
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

interface RunOutcome {
  /** Status of the offer request; 200 when the broker made offers. */
  offerStatus: number;
  offerText: string;
  uuid?: string;
  phase?: string;
  stdout?: string;
  /** What the stand-in runtime recorded for this session, if it ran. */
  runtime?: { dangers: string[]; image: string | null; options: [string, string | null][] };
}

/** Asks for offers, accepts the first, waits for the end, and gathers what the runtime saw. */
async function runContainer(executable: Record<string, unknown>, data: unknown[] = []): Promise<RunOutcome> {
  const token = TOKEN_A();
  const offer = await http('POST', '/broker/offersets', {
    token,
    headers: JSON_HEADERS,
    body: JSON.stringify({
      executable: { kind: CONTAINER, ...executable },
      data,
      compute: { cores: { min: 1, max: 1 }, memory: { min: 1, max: 1 } },
      schedule: { requested: { duration: 'PT2M' } },
    }),
  });
  const out: RunOutcome = { offerStatus: offer.status, offerText: offer.text };
  if (offer.status !== 200) return out;
  const uuid = JSON.parse(offer.text).offers?.[0]?.meta?.uuid as string | undefined;
  if (!uuid) return out;
  out.uuid = uuid;
  await http('POST', `/broker/sessions/${uuid}`, {
    token,
    headers: JSON_HEADERS,
    body: JSON.stringify({ kind: 'uri:enum-value-update', path: 'phase', value: 'ACCEPTED' }),
  });
  for (let i = 0; i < 150; i++) {
    const s = await http('GET', `/broker/sessions/${uuid}`, { token, headers: JSON_HEADERS });
    out.phase = s.status === 200 ? JSON.parse(s.text).phase : `status ${s.status}`;
    if (['COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED', 'EXPIRED'].includes(out.phase ?? '')) break;
    await sleep(200);
  }
  out.stdout = (await http('GET', `/broker/sessions/${uuid}/logs/stdout.log`, { token })).text;
  const log = env('VONODE_ATTACK_RUNTIME_LOG');
  if (existsSync(log)) {
    const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    const mine = lines.map((l) => JSON.parse(l)).filter((r) => JSON.stringify(r.argv).includes(uuid));
    if (mine.length) out.runtime = mine[mine.length - 1];
  }
  return out;
}

/** GET with alice's token, keeping only the first 64 KiB (a product may be large). */
async function head(path: string): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(`${env('ATTACK_BASE')}${path}`, {
      headers: { authorization: `Bearer ${TOKEN_A()}` },
      signal: AbortSignal.timeout(15_000),
    });
    const reader = res.body?.getReader();
    let buf = Buffer.alloc(0);
    while (reader && buf.length < 65536) {
      const { done, value } = await reader.read();
      if (done) break;
      buf = Buffer.concat([buf, Buffer.from(value)]);
    }
    await reader?.cancel().catch(() => {});
    return { status: res.status, text: buf.toString('latin1') };
  } catch (err) {
    return { status: 0, text: String(err) };
  }
}

const secretFile = () => join(env('ATTACK_DIR'), 'host-secret.txt');
const secret = () => readFileSync(secretFile(), 'utf8').trim();

export async function brokerOptions(): Promise<void> {
  const t = new Tally();
  const lines: string[] = [];
  // The image name is the attacker's; the real image and a command that reads the host follow.
  const attempts: [string, Record<string, unknown>][] = [
    [
      'image --privileged',
      { image: { locations: ['--privileged'] }, command: ['alpine:3', 'cat', '/etc/hostname'] },
    ],
    [
      'image --volume=/:/host',
      { image: { locations: ['--volume=/:/host'] }, command: ['alpine:3', 'cat', `/host${secretFile()}`] },
    ],
    [
      'image -v=/:/host',
      { image: { locations: ['-v=/:/host'] }, command: ['alpine:3', 'cat', `/host${secretFile()}`] },
    ],
    ['image --network=host', { image: { locations: ['--network=host'] }, command: ['alpine:3'] }],
    ['image --cap-add=ALL', { image: { locations: ['--cap-add=ALL'] }, command: ['alpine:3'] }],
    ['image --pid=host', { image: { locations: ['--pid=host'] }, command: ['alpine:3'] }],
    ['image with a space', { image: { locations: ['alpine:3 --privileged'] }, command: [] }],
    [
      'entrypoint -v /:/host',
      {
        image: { locations: ['alpine:3'] },
        entrypoint: '--volume=/:/host',
        command: ['cat', `/host${secretFile()}`],
      },
    ],
    ['privileged: true', { image: { locations: ['alpine:3'] }, privileged: true, command: [] }],
  ];
  for (const [label, ex] of attempts) {
    const r = await runContainer(ex);
    const dangers = r.runtime?.dangers ?? [];
    const read = (r.stdout ?? '').includes(secret());
    if (dangers.length || read)
      t.leak(`${label}: ${[...dangers, ...(read ? ['host file read by the job'] : [])].join(', ')}`);
    else if (r.offerStatus >= 500 || r.offerStatus === 0) t.bad(`${label}: offer answer ${r.offerStatus}`);
    else t.hold();
    lines.push(
      `${label} ${r.offerStatus !== 200 ? `refused ${r.offerStatus}` : `${r.phase}${dangers.length || read ? ' ESCAPED' : ''}`}`,
    );
  }
  report(t.outcome('broker option injection and host files', 'broker', lines.join('; ')));
}

export async function brokerEnvironment(): Promise<void> {
  const t = new Tally();
  const lines: string[] = [];
  const attempts: [string, Record<string, string>][] = [
    ['LD_PRELOAD', { LD_PRELOAD: '/tmp/vonode-attack-evil.so' }],
    ['marker variable', { VONODE_ATTACK_ENV: 'pwned' }],
  ];
  for (const [label, environment] of attempts) {
    const r = await runContainer({ image: { locations: ['alpine:3'] }, environment, command: [] });
    const host = (r.runtime?.dangers ?? []).filter((d) => d.startsWith('attacker environment'));
    if (host.length) t.leak(`${label}: ${host.join(', ')} (exported in the host-side wrapper)`);
    else if (r.offerStatus >= 500 || r.offerStatus === 0) t.bad(`${label}: offer answer ${r.offerStatus}`);
    else t.hold();
    const inContainer = (r.runtime?.options ?? []).some(
      ([k, v]) => ['-e', '--env'].includes(k) && (v ?? '').startsWith(Object.keys(environment)[0]),
    );
    lines.push(
      `${label} ${r.offerStatus !== 200 ? `refused ${r.offerStatus}` : host.length ? 'ON THE HOST' : inContainer ? 'inside the container only' : `${r.phase}, not on the host`}`,
    );
  }
  report(t.outcome('broker environment injection', 'broker', lines.join('; ')));
}

export async function brokerSymlinks(): Promise<void> {
  const t = new Tally();
  const lines: string[] = [];
  const fits = join(DATA(), EMBARGOED_FILE);
  const fitsHead = readFileSync(fits).subarray(0, 80).toString('latin1');
  const shadowHead = existsSync('/etc/shadow') ? readFileSync('/etc/shadow', 'utf8').slice(0, 20) : undefined;
  const attempts: [string, string, string, (body: string) => boolean][] = [
    ['symlink to a host secret', secretFile(), 'secret', (b) => b.includes(secret())],
    ['symlink to /etc/shadow', '/etc/shadow', 'shadow', (b) => !!shadowHead && b.startsWith(shadowHead)],
    ["symlink to team-b's embargoed FITS", fits, 'fits', (b) => b.startsWith(fitsHead.slice(0, 30))],
    ['symlinked folder /', '/', 'root', () => false],
  ];
  for (const [label, target, name, matches] of attempts) {
    const r = await runContainer({
      image: { locations: ['alpine:3'] },
      command: ['ln', '-s', target, `/output/${name}`],
    });
    if (!r.uuid) {
      t.hold();
      lines.push(`${label} refused ${r.offerStatus}`);
      continue;
    }
    const path =
      name === 'root'
        ? `/broker/sessions/${r.uuid}/results/root${secretFile()}`
        : `/broker/sessions/${r.uuid}/results/${name}`;
    const d = await head(path);
    const got = d.status === 200 && (name === 'root' ? d.text.includes(secret()) : matches(d.text));
    if (got) t.leak(`${label}: downloaded (first ${d.text.length} bytes match)`);
    else if (d.status >= 500 || d.status === 0) t.bad(`${label}: download answer ${d.status}`);
    else t.hold();
    lines.push(`${label} ${r.phase}, download ${d.status}${got ? ' LEAKED' : ''}`);
  }
  // The embargoed product itself as a job's data: refused without saying it exists.
  const r = await runContainer({ image: { locations: ['alpine:3'] }, command: ['cat', '/data/image'] }, [
    { kind: IVOA_DATA, meta: { name: 'image' }, ivoa: { obscore: { obs_publisher_did: EMBARGOED_DID } } },
  ]);
  const readIt = (r.stdout ?? '').startsWith(fitsHead.slice(0, 30));
  if (readIt) t.leak("team-b's embargoed product read as a job's data");
  else if (r.offerStatus >= 500) t.bad(`embargoed data: offer answer ${r.offerStatus}`);
  else t.hold();
  lines.push(`embargoed product as data ${r.offerStatus === 200 ? r.phase : `refused ${r.offerStatus}`}`);
  report(t.outcome('broker symlink downloads and other users data', 'broker', lines.join('; ')));
}
