import { downloadLink } from '../common/download.js';
import { h, message, show } from './dom.js';
import { deleteJob, type JobInfo, jobError, readJob, type TapError } from './tap.js';

const STORE = 'vonode.web.jobs';
const ACTIVE = new Set(['PENDING', 'QUEUED', 'EXECUTING', 'HELD', 'SUSPENDED']);

export interface JobActions {
  /** Show a finished job's rows in the results view. */
  view(job: JobInfo): void;
  /** Show a failed job's error, with its place in the query. */
  failed(job: JobInfo, err: TapError): void;
}

/**
 * The async jobs this browser started (UWS, TAP-8): their URLs are kept in localStorage and
 * each job's document is read again while it is unfinished, so phase and duration stay live.
 */
export class JobList {
  private jobs: JobInfo[] = [];
  private timer: number | undefined;
  private note: HTMLElement | null = null;

  constructor(
    private readonly region: HTMLElement,
    private readonly actions: JobActions,
  ) {}

  async restore(): Promise<void> {
    let urls: string[] = [];
    try {
      urls = JSON.parse(localStorage.getItem(STORE) ?? '[]');
    } catch {
      urls = [];
    }
    const found = await Promise.all(urls.map((u) => readJob(u).catch(() => undefined)));
    this.jobs = found.filter((j): j is JobInfo => j !== undefined);
    this.save();
    this.render();
    this.poll();
  }

  add(job: JobInfo): void {
    this.jobs.unshift(job);
    this.save();
    this.render();
    // A job may be over before its creation was answered (a quick failure, a tiny result).
    void this.settled(job);
    this.poll();
  }

  /** The newest job, once finished, shows its rows or its error. */
  private async settled(job: JobInfo): Promise<void> {
    if (this.jobs[0]?.id !== job.id) return;
    if (job.phase === 'COMPLETED') this.actions.view(job);
    else if (job.phase === 'ERROR' || job.phase === 'ABORTED') this.actions.failed(job, await jobError(job));
  }

  private save(): void {
    try {
      localStorage.setItem(STORE, JSON.stringify(this.jobs.map((j) => j.url)));
    } catch {
      // Private browsing may refuse storage; the list then lasts as long as the page.
    }
  }

  private poll(): void {
    if (this.timer !== undefined || !this.jobs.some((j) => ACTIVE.has(j.phase))) return;
    this.timer = window.setTimeout(async () => {
      this.timer = undefined;
      let lost = false;
      await Promise.all(
        this.jobs.map(async (j, i) => {
          if (!ACTIVE.has(j.phase)) return;
          try {
            const now = await readJob(j.url);
            this.jobs[i] = now;
            if (now.phase === 'COMPLETED' && this.jobs[0]?.id === now.id) this.actions.view(now);
            if (now.phase === 'ERROR' && this.jobs[0]?.id === now.id)
              this.actions.failed(now, await jobError(now));
          } catch {
            lost = true;
          }
        }),
      );
      this.note = lost
        ? message('error', 'The node could not be reached to refresh the jobs; trying again.')
        : null;
      this.render();
      this.poll();
    }, 1000);
  }

  private duration(j: JobInfo): string {
    if (!j.startTime) return '';
    const end = j.endTime ? Date.parse(j.endTime) : Date.now();
    const s = (end - Date.parse(j.startTime)) / 1000;
    return Number.isFinite(s) ? `${s.toFixed(1)} s` : '';
  }

  private render(): void {
    if (this.jobs.length === 0) {
      show(this.region, this.note, h('p', {}, 'No jobs yet.'));
      return;
    }
    const rows = this.jobs.map((j) =>
      h(
        'tr',
        { 'data-job': j.id },
        h('td', {}, downloadLink(j.url, `${j.id}.xml`, h('code', {}, j.id), {}, { open: true })),
        h('td', { class: `phase phase-${j.phase}` }, j.phase),
        h('td', {}, j.creationTime ? new Date(j.creationTime).toLocaleTimeString() : ''),
        h('td', {}, this.duration(j)),
        h('td', { class: 'hint' }, (j.query ?? '').replace(/\s+/g, ' ').slice(0, 60)),
        h(
          'td',
          {},
          j.phase === 'COMPLETED'
            ? h(
                'button',
                {
                  type: 'button',
                  onclick: () => this.actions.view(j),
                  'aria-label': `Show the rows of job ${j.id}`,
                },
                'Show rows',
              )
            : null,
          ' ',
          ...j.results.map((r) =>
            downloadLink(r.href, `${j.id}-${r.id}.vot`, r.id, {
              'aria-label': `Download result ${r.id} of job ${j.id}`,
            }),
          ),
          j.phase === 'ERROR'
            ? h(
                'button',
                {
                  type: 'button',
                  onclick: async () => this.actions.failed(j, await jobError(j)),
                  'aria-label': `Show the error of job ${j.id}`,
                },
                'Show error',
              )
            : null,
          ' ',
          h(
            'button',
            { type: 'button', onclick: () => void this.remove(j), 'aria-label': `Delete job ${j.id}` },
            'Delete',
          ),
        ),
      ),
    );
    show(
      this.region,
      this.note,
      h(
        'table',
        { class: 'jobs' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['job', 'phase', 'created', 'duration', 'query', 'actions'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }

  private async remove(j: JobInfo): Promise<void> {
    try {
      await deleteJob(j.url);
      this.jobs = this.jobs.filter((x) => x.id !== j.id);
      this.note = null;
      this.save();
    } catch (err) {
      this.note = message(
        'error',
        `Job ${j.id} could not be deleted: ${(err as TapError).message ?? String(err)}`,
      );
    }
    this.render();
  }
}
