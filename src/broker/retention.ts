import { rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type pg from 'pg';
import * as store from './store.js';

/**
 * Where a finished session's outputs go before its work folder is removed (issue 21 item 6,
 * EB-94). vonode has no per-user storage area yet (no VOSpace, no user scope in Rucio), so
 * nothing is configured and outputs are removed with the folder; a node that gets one passes
 * an archive to the broker, and a session is removed only once `keep` has returned.
 */
export interface OutputArchive {
  keep(session: { readonly uuid: string; readonly owner: string; readonly workDir: string }): Promise<void>;
}

/**
 * Removes finished sessions (COMPLETED, FAILED, CANCELLED, EXPIRED, REJECTED), their work
 * folders, and offer sets left empty, `seconds` after they ended
 * (VONODE_BROKER_RETENTION_SECONDS). Runs inside the driver, at most every `everyMs`.
 */
export class Retention {
  private last = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly backend: string,
    private readonly site: string,
    /** Work folders are only ever removed under this folder. */
    private readonly root: string,
    private readonly seconds: number,
    private readonly log: { warn(o: object, m: string): void },
    private readonly archive?: OutputArchive,
    private readonly batch = 500,
  ) {}

  /** How often a sweep runs: a tenth of the retention, between 1 s and 10 minutes. */
  get everyMs(): number {
    return Math.min(600_000, Math.max(1000, (this.seconds * 1000) / 10));
  }

  async maybeSweep(now = Date.now()): Promise<{ sessions: number; offersets: number } | undefined> {
    if (this.seconds <= 0 || now - this.last < this.everyMs) return undefined;
    this.last = now;
    return this.sweep();
  }

  async sweep(): Promise<{ sessions: number; offersets: number }> {
    let sessions = 0;
    for (const s of await store.finishedBefore(
      this.pool,
      this.backend,
      this.site,
      this.seconds,
      this.batch,
    )) {
      try {
        if (this.archive) await this.archive.keep(s);
        await this.removeFolder(s.workDir);
        if (await store.deleteFinished(this.pool, s.uuid)) sessions++;
      } catch (err) {
        // Kept, and tried again at the next sweep: outputs are never lost to a failed copy.
        this.log.warn({ err, session: s.uuid }, 'broker: removing a finished session failed');
      }
    }
    const offersets = await store.deleteEmptyOfferSets(this.pool, this.seconds, this.batch);
    return { sessions, offersets };
  }

  /** Only a folder strictly inside the broker's own folder is removed, whatever the database says. */
  private async removeFolder(dir: string): Promise<void> {
    const root = resolve(this.root);
    const rel = relative(root, resolve(dir));
    if (!rel || rel.startsWith('..') || rel.includes(`..${sep}`) || resolve(root, rel) !== resolve(dir)) {
      throw new Error(`work folder ${dir} is not inside ${root}; left in place`);
    }
    await rm(join(root, rel), { recursive: true, force: true });
  }
}
