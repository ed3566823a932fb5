/**
 * What `vonode publish` shows while it works: on a terminal a progress bar on stderr
 * (rows, MB/s, ETA while reading; the phase afterwards), elsewhere (logs, CI) only one
 * line per phase with its timing, so a log file is not filled with bar redraws.
 */
import type { Progress } from '../publish/index.js';

export interface ProgressDisplay {
  readonly onProgress?: (p: Progress) => void;
  readonly log: (line: string) => void;
  done(): void;
}

const BAR = 24;

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export function progressDisplay(stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  const say = (line: string) => stream.write(`vonode: ${line}\n`);
  if (!stream.isTTY) return { log: say, done() {} };
  let shown = false;
  let last = 0;
  const clear = () => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  return {
    log(line) {
      clear();
      say(line);
    },
    onProgress(p) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const secs = Math.max(p.elapsedMs / 1000, 0.001);
      let text: string;
      if (p.phase === 'read') {
        const frac = p.totalBytes ? Math.min(1, p.bytes / p.totalBytes) : undefined;
        const filled = frac === undefined ? 0 : Math.round(frac * BAR);
        const bar =
          frac === undefined
            ? ''
            : `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${Math.floor(frac * 100)}% `;
        const rate = p.bytes / 1e6 / secs;
        const eta = frac ? (secs / frac) * (1 - frac) : Number.NaN;
        text = `${p.table} ${bar}${p.rows.toLocaleString('en')} rows ${rate.toFixed(1)} MB/s ETA ${duration(eta)}`;
      } else {
        text = `${p.table} ${p.phase}... (${p.rows.toLocaleString('en')} rows)`;
      }
      const width = stream.columns ? stream.columns - 1 : 100;
      stream.write(`\r\x1b[K${text.slice(0, width)}`);
      shown = true;
    },
    done: clear,
  };
}
