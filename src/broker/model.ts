import type { ImageReference } from './container.js';

/**
 * The broker's own model, independent of the draft's wire shapes (request.ts reads them,
 * wire.ts writes them), so the wire format can follow the draft without touching the rest.
 */

/** Session phases, V26 names (EB-70). */
export const PHASES = [
  'OFFERED',
  'ACCEPTED',
  'REJECTED',
  'EXPIRED',
  'WAITING',
  'PREPARING',
  'AVAILABLE',
  'RUNNING',
  'RELEASING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const;
export type Phase = (typeof PHASES)[number];

export const FINAL_PHASES: readonly Phase[] = ['REJECTED', 'EXPIRED', 'COMPLETED', 'FAILED', 'CANCELLED'];
/** Phases that hold resources and count towards quotas. */
export const ACTIVE_PHASES: readonly Phase[] = [
  'ACCEPTED',
  'WAITING',
  'PREPARING',
  'AVAILABLE',
  'RUNNING',
  'RELEASING',
];

export interface Range {
  readonly min: number;
  readonly max: number;
}

export type Executable =
  | {
      readonly kind: 'pipeline';
      readonly type: string;
      readonly name: string;
      readonly pipeline: string;
      readonly params: Record<string, string>;
    }
  | {
      readonly kind: 'container';
      readonly type: string;
      readonly name: string;
      /** Checked against the OCI reference grammar at the edge (container.ts). */
      readonly image: ImageReference;
      readonly entrypoint?: string;
      readonly command: readonly string[];
      /** Set inside the container only, through the engine's env file (never the host's environment). */
      readonly environment: Record<string, string>;
    }
  | {
      readonly kind: 'notebook';
      readonly type: string;
      readonly name: string;
      /** interactive: a Jupyter server proxied by the node; batch: the notebook is executed (notebook.ts). */
      readonly mode: 'interactive' | 'batch';
      /** http(s) URL, fetched when the session starts. */
      readonly location?: string;
      /** The notebook itself (inline, or read from a data: URL). */
      readonly content?: string;
    }
  /** SRCNet provisioning: resources first, the job at submit time (EB-103). */
  | { readonly kind: 'deferred'; readonly type: string; readonly name: string };

export interface DataResource {
  readonly type: string;
  readonly name: string;
  /** Identifiers to look up in ivoa.obscore (publisher DID, DataLink ID, obs_id). */
  readonly ids: readonly string[];
  /** Echo of what the client sent, minus our own fields. */
  readonly spec: Record<string, unknown>;
}

export interface ExecutionRequest {
  readonly name?: string;
  readonly description?: string;
  readonly executable: Executable;
  readonly compute: {
    readonly type: string;
    readonly name: string;
    readonly cores: Range;
    /** GiB (EB-40). */
    readonly memory: Range;
    readonly gpus: Range;
    readonly gpuModel?: string;
  };
  /** Scratch storage, GiB. */
  readonly storage: { readonly type: string; readonly name: string; readonly size: Range };
  readonly data: readonly DataResource[];
  readonly schedule: {
    /** Earliest start (ms since epoch); undefined = now. */
    readonly earliest?: number;
    /** Latest start; undefined = whenever. */
    readonly latest?: number;
    readonly durationSeconds?: number;
  };
}

/** A data resource resolved on this node at offer time. */
export interface ResolvedData {
  readonly name: string;
  readonly did: string;
  /** Local file, or null when only a replica elsewhere exists. */
  readonly path: string | null;
  readonly sizeBytes: number | null;
  readonly replicas: readonly { site: string; url: string; local: boolean }[];
  /** Where the product is copied from into the session's scratch while PREPARING (staging-source.ts). */
  readonly stage?: StageSource;
  /** How far that copy has come (staging.ts), shown in the session. */
  readonly staging?: StagingProgress;
}

/** A product not on this node's storage, and how to bring it into the session's scratch. */
export interface StageSource {
  readonly url: string;
  /** Site holding it (a peer's site, a replica's site), when known. */
  readonly site: string | null;
  /** The caller's token goes with the request (the origin is a peer or trusted by the site). */
  readonly token: boolean;
  readonly sizeBytes: number | null;
  /** File name inside the session's staging folder. */
  readonly fileName: string;
  /** Estimated seconds to copy it (size / observed or configured rate). */
  readonly estimateSeconds: number;
  /** A checksum the client or the source gave, verified after the copy. */
  readonly checksum?: { readonly type: string; readonly value: string };
}

export interface StagingProgress {
  readonly state: 'running' | 'done' | 'failed';
  readonly bytes: number;
  readonly total: number | null;
  readonly sha256?: string;
  readonly seconds?: number;
  readonly message?: string;
}

/** What an offer grants; stored with the session. */
export interface Allocation {
  readonly cores: number;
  readonly memoryGiB: number;
  readonly gpus: number;
  readonly storageGiB: number;
  readonly start: number;
  readonly durationSeconds: number;
  readonly preparingSeconds: number;
  /** The argv the backend runs (resolved at offer time, so any node's driver can run it). */
  readonly argv: readonly string[];
  /** A container's environment: written to the work folder's env file for the engine, never exported on the host. */
  readonly environment: Record<string, string>;
  /** Owner given to the output folder before the work starts (the container's unprivileged user). */
  readonly outputOwner?: { readonly uid: number; readonly gid: number };
  /** argv runs a container engine (absent: a command, i.e. a site pipeline). */
  readonly container?: boolean;
}

export interface Message {
  readonly type: string;
  readonly level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly time: string;
  readonly message: string;
  readonly values?: Record<string, string>;
}

export function message(
  level: Message['level'],
  type: string,
  text: string,
  values?: Record<string, string>,
): Message {
  return { type, level, time: new Date().toISOString(), message: text, ...(values ? { values } : {}) };
}

export interface Session {
  readonly uuid: string;
  readonly offerset: string | null;
  readonly owner: string;
  readonly groups: readonly string[];
  readonly site: string;
  readonly phase: Phase;
  readonly created: Date;
  readonly expires: Date | null;
  readonly request: ExecutionRequest;
  readonly allocation: Allocation;
  readonly data: readonly ResolvedData[];
  readonly backend: string;
  readonly backendRef: string | null;
  readonly workDir: string;
  readonly started: Date | null;
  readonly finished: Date | null;
  readonly exitCode: number | null;
  readonly messages: readonly Message[];
  /** A peer's offer, proxied: its absolute URL there. */
  readonly remoteUrl: string | null;
}

export interface OfferSet {
  readonly uuid: string;
  readonly owner: string;
  readonly name: string | null;
  readonly created: Date;
  readonly result: 'YES' | 'NO';
  readonly messages: readonly Message[];
}
