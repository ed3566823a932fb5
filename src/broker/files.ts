import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readlink, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * Opening files that work wrote, for download (results, logs). The work controls what is
 * in its folders, so a path is opened only if every component below the session's work
 * folder is a real folder or (the last) a regular file: no symbolic link, FIFO, device
 * or hard link to a file elsewhere, and the opened file's real path (read back from
 * /proc/self/fd, which also catches a folder swapped for a link after the checks) lies
 * inside the work folder. Anything else is absent (issue 13: downloads never follow links).
 */
export interface OpenedFile {
  readonly handle: FileHandle;
  readonly size: number;
}

const NAME_OK = (part: string) => part !== '' && part !== '.' && part !== '..' && !part.includes('\0');

export async function openInside(root: string, parts: readonly string[]): Promise<OpenedFile | undefined> {
  if (parts.length === 0 || !parts.every(NAME_OK)) return undefined;
  let path = root;
  for (const [i, part] of parts.entries()) {
    path = join(path, part);
    const st = await lstat(path).catch(() => undefined);
    if (!st || st.isSymbolicLink()) return undefined;
    if (i < parts.length - 1 ? !st.isDirectory() : !st.isFile()) return undefined;
  }
  // O_NOFOLLOW: the last component may not be a link; O_NONBLOCK: a FIFO put there since would not hang the open.
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (!handle) return undefined;
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.nlink !== 1) throw new Error('not a regular file of its own');
    const base = await realpath(root);
    const real = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => realpath(path));
    if (!real.startsWith(base + sep)) throw new Error('outside the work folder');
    return { handle, size: st.size };
  } catch {
    await handle.close().catch(() => {});
    return undefined;
  }
}

/** The last `bytes` of a work file (a log), read with the same rules; '' when absent. */
export async function tailInside(root: string, parts: readonly string[], bytes: number): Promise<string> {
  const f = await openInside(root, parts);
  if (!f) return '';
  try {
    const length = Math.min(bytes, f.size);
    const buf = Buffer.alloc(length);
    await f.handle.read(buf, 0, length, f.size - length);
    return buf.toString('utf8');
  } finally {
    await f.handle.close().catch(() => {});
  }
}
