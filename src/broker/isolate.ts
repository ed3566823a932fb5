import { existsSync } from 'node:fs';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OUTPUT_DIR } from './backend.js';

/**
 * What a site pipeline (a command, not a container) sees of the host: the local backend
 * runs it in new mount, PID, IPC and network namespaces (util-linux `unshare`), where the
 * node's own folders are covered by empty file systems and only the session's products
 * (read-only) and its work folder are put back at their own paths; then it drops to the
 * unprivileged user with `setpriv` (no groups, no capabilities, no new privileges).
 *
 * Why not permissions alone: products are often world-readable files in one folder, and
 * every pipeline runs as the same system user, so another group's embargoed product and
 * another session's work folder would be one `cat` away. Why not a whitelist root (pivot
 * into an empty tree): a site's pipeline may live anywhere on the host (its interpreter,
 * libraries, the node's own code for cutout-stats); the folders that hold data are few and
 * known, so they are the ones covered.
 */

/** Host folders a command never sees (besides the node's data folder and VONODE_BROKER_HIDE). */
export const ALWAYS_HIDDEN = [
  '/root',
  '/home',
  '/run',
  '/var/lib/containers',
  '/var/lib/postgresql',
  '/var/lib/slurm',
  '/etc/munge',
];
/** Covered by an empty, writable, size-limited file system: a command's temporary files go there. */
export const TEMP_FOLDERS = ['/tmp', '/var/tmp', '/dev/shm'];
const TEMP_SIZE = '64m';

/*
 * Arguments: n_hidden hidden... n_temp temp... n_ro ro... rw -- command...
 * 1. every kept path (products, the work folder) is bound under a private staging tmpfs;
 * 2. every hidden folder gets an empty tmpfs over it (temp folders a writable one);
 * 3. each kept path is bound back at its own path (products read-only);
 * 4. hidden folders become read-only (their 64 KiB, written by nobody), the staging mount
 *    goes, and the command is exec'd.
 * `set -e`: a step that fails ends the work before the command runs (never half hidden).
 */
const SCRIPT = `set -e
# The new network namespace has only a loopback, and it starts down: brought up, a command may
# still talk to itself over 127.0.0.1 (Jupyter kernels, local worker pools), never outside.
if [ -x /usr/sbin/ip ]; then /usr/sbin/ip link set lo up; elif [ -x /sbin/ip ]; then /sbin/ip link set lo up; fi
stage=/mnt
[ -d "$stage" ] || mkdir -p "$stage"
mount -t tmpfs -o size=64k,mode=0700 vonode-stage "$stage"
n=$1; shift; hidden=""
while [ "$n" -gt 0 ]; do hidden="$hidden
$1"; shift; n=$((n-1)); done
n=$1; shift; temp=""
while [ "$n" -gt 0 ]; do temp="$temp
$1"; shift; n=$((n-1)); done
n=$1; shift; keep=""; k=0
while [ "$n" -gt 0 ]; do keep="$keep
ro $1"; shift; n=$((n-1)); done
keep="$keep
rw $1"; shift
[ "$1" = "--" ] && shift
IFS='
'
for line in $keep; do
  k=$((k+1)); p=\${line#?? }
  if [ -d "$p" ]; then mkdir "$stage/$k"; else : >"$stage/$k"; fi
  mount --bind "$p" "$stage/$k"
done
for d in $hidden; do [ -d "$d" ] && mount -t tmpfs -o size=64k,mode=0755 vonode-hidden "$d"; done
for d in $temp; do [ -d "$d" ] && mount -t tmpfs -o size=${TEMP_SIZE},mode=1777,nosuid,nodev vonode-tmp "$d"; done
k=0
for line in $keep; do
  k=$((k+1)); p=\${line#?? }
  if [ -d "$stage/$k" ]; then mkdir -p "$p"; else mkdir -p "\${p%/*}"; [ -e "$p" ] || : >"$p"; fi
  mount --bind "$stage/$k" "$p"
  case "$line" in ro\\ *) mount -o remount,bind,ro,nosuid,nodev "$p" ;; esac
  umount "$stage/$k"
done
# a hidden folder inside another (the data folder in /tmp) is covered twice; its remount may fail
for d in $hidden; do mount -o remount,ro "$d" 2>/dev/null || true; done
umount "$stage"
unset IFS
exec "$@"
`;

export interface Isolation {
  /** Folders covered by an empty read-only file system (the node's data folder, …). */
  readonly hide: readonly string[];
  /** Products the session may read: put back read-only at their own paths. */
  readonly readable: readonly string[];
  /** The session's work folder: put back writable. */
  readonly workDir: string;
  /** Unprivileged user the command runs as. */
  readonly user: { readonly uid: number; readonly gid: number };
}

const UNSHARE = ['/usr/bin/unshare', '/bin/unshare'].find((p) => existsSync(p));
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** Whether this host can isolate commands (util-linux unshare and setpriv, run as root). */
export const canIsolate = (): boolean =>
  UNSHARE !== undefined && SETPRIV !== undefined && process.getuid?.() === 0;

/** The argv prefix that runs a command isolated as described above; the command follows it. */
export function isolationPrefix(iso: Isolation): string[] {
  if (!UNSHARE || !SETPRIV) throw new Error('util-linux unshare and setpriv are needed to isolate commands');
  for (const p of [...iso.hide, ...iso.readable, iso.workDir]) {
    if (!p.startsWith('/') || /[\n\0]/.test(p)) throw new Error(`cannot isolate around the path ${p}`);
  }
  const hide = [...new Set([...iso.hide, ...ALWAYS_HIDDEN])];
  return [
    UNSHARE,
    '--mount',
    '--propagation=private',
    '--pid',
    '--fork',
    '--mount-proc',
    '--ipc',
    '--net',
    '--',
    '/bin/sh',
    '-c',
    SCRIPT,
    'vonode-isolate',
    String(hide.length),
    ...hide,
    String(TEMP_FOLDERS.length),
    ...TEMP_FOLDERS,
    String(iso.readable.length),
    ...iso.readable,
    iso.workDir,
    '--',
    SETPRIV,
    `--reuid=${iso.user.uid}`,
    `--regid=${iso.user.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
  ];
}

/** A pipeline's HOME inside its work folder. */
export const HOME_DIR = 'home';

/**
 * Prepares the work folder of an isolated command and returns the wrapper's prefix:
 * isolation, then `limits` (prlimit …), then the environment of the user's side.
 * The wrapper runs as the node and writes the exit status into the work folder, so the
 * folder stays the node's (a folder the user owned could hold a link where the exit file
 * goes); the user may pass through it (0711) to its output and HOME, which are its own.
 */
export async function isolatedCommand(iso: Isolation, limits: readonly string[]): Promise<string[]> {
  const home = join(iso.workDir, HOME_DIR);
  await chmod(iso.workDir, 0o711);
  await mkdir(home, { recursive: true, mode: 0o700 });
  await chown(home, iso.user.uid, iso.user.gid);
  await chown(join(iso.workDir, OUTPUT_DIR), iso.user.uid, iso.user.gid);
  return [
    ...isolationPrefix(iso),
    ...limits,
    '/usr/bin/env',
    '-u',
    'USER',
    '-u',
    'LOGNAME',
    '-u',
    'XDG_RUNTIME_DIR',
    `HOME=${home}`,
    'TMPDIR=/tmp',
  ];
}
