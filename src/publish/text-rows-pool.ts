/**
 * Threads that encode CSV lines for the loader (text-rows-task.ts): the main thread reads
 * and splits the file into lines, sorts and COPYs, while the lines' cells are read and
 * encoded in parallel. Replies are awaited in the order the batches were sent, so the rows
 * keep the file's order (row numbers in messages stay right).
 */
import { Worker } from 'node:worker_threads';
import type { TextRowBatch } from './source.js';
import type { TextRowSpec } from './text-rows.js';
import type { TextRowsReply, TextRowsRequest } from './text-rows-task.js';

export type { TextRowsReply } from './text-rows-task.js';

interface Waiting {
  resolve(reply: TextRowsReply): void;
  reject(err: Error): void;
}

export class TextRowPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(spec: TextRowSpec, size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./text-rows-worker.mjs', import.meta.url), { workerData: spec });
      w.on('message', (reply: TextRowsReply) => {
        const waiting = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        waiting?.resolve(reply);
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`a publishing thread stopped (exit code ${code})`));
      });
      this.workers.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Encodes a batch's lines on the next thread (its quoted records are left DECLINED). */
  encode(b: TextRowBatch): Promise<TextRowsReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const request: TextRowsRequest = { id, text: b.text, starts: b.starts, ends: b.ends };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[id % this.workers.length].postMessage(request);
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the publishing threads were stopped');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
