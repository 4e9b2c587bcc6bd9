// Type declarations of tenure-client, written by hand to match index.js.

/** The header that carries a tenure's lease key on keepalive and release. */
export declare const LEASE_KEY_HEADER: 'Tenure-Lease-Key';

/** A Go duration string such as "5s", "250ms" or "1m30s", or a number of milliseconds. */
export type Duration = string | number;

/** The voters' hint of who holds a lease (R14): stale by the time it arrives. */
export interface HolderHint {
  name?: string;
  /** The holder's node name. */
  node: string;
  /** The holder's fencing token, exact. */
  token: bigint;
  token_str: string;
  value?: string;
  /** How long the answering voter meant to keep the lease exclusive. */
  remaining_ms: number;
  hint: true;
}

/** A tenure held through the agent, as GET /v1/leases lists it (never with a key). */
export interface HeldLease {
  name: string;
  token: bigint;
  token_str: string;
  ttl: string;
  deadline_ms: number;
  mode?: 'keepalive' | 'hold';
}

/** Base class of every error this package throws on purpose. */
export declare class TenureError extends Error {}

/** The agent answered with a status of 400 or more. */
export declare class APIError extends TenureError {
  readonly status: number;
  /** The agent's "error" text. */
  readonly agentMessage: string;
  /** The decoded answer ({ error: raw text } if it was not JSON). */
  readonly body: Record<string, unknown>;
}

/** An acquire could not have the lease (409): held, contended, or the wait ran out. */
export declare class LeaseHeld extends APIError {
  /** The voters' hint of the holder, or null if they could not say. */
  readonly holder: HolderHint | null;
}

/** The agent cannot serve the call now (503): it is stopping, or too few voters answer. */
export declare class Unavailable extends APIError {}

/** The tenure is over, or may be: stop acting under it. */
export declare class LeaseLost extends TenureError {
  constructor(reason: string, status?: 403 | 409 | 410 | null, options?: ErrorOptions);
  readonly reason: string;
  /** 403 (wrong lease key), 409 (unknown token), 410 (ended), or null (deadline passed, released). */
  readonly status: 403 | 409 | 410 | null;
}

export interface ClientOptions {
  /** The agent's bearer token (tenure agent --http-token-file). */
  token?: string;
  /** Bounds each call, on top of an acquire's wait. Default 10000. */
  timeoutMs?: number;
}

export interface AcquireOptions {
  /** The lease TTL; default the agent's (--ttl). */
  ttl?: Duration;
  /** How long to wait for the holder to go; default: try once. */
  wait?: Duration;
  /** Stored with the lease for holder queries (at most 512 bytes). */
  value?: string;
  /** Take any free one of this many slots (a semaphore); the Lease's name is the slot's. */
  slots?: number;
  /** Cancels a waiting acquire. */
  signal?: AbortSignal;
}

export interface KeepaliveOptions {
  /** Default a third of the TTL; must be in (0, TTL). */
  intervalMs?: number;
  /** Called once when the lease is lost; what it throws is rethrown asynchronously. */
  onLost?: (lost: LeaseLost) => void;
}

export type WithLeaseOptions = AcquireOptions & KeepaliveOptions;

/** Calls one tenure agent (`tenure agent`) over HTTP. */
export declare class Client {
  constructor(agentUrl?: string, options?: ClientOptions);
  readonly agentUrl: string;
  readonly timeoutMs: number;
  /** Takes the lease in keepalive mode. */
  acquire(name: string, options?: AcquireOptions): Promise<Lease>;
  /**
   * Runs fn under the lease, kept alive in the background, and releases it
   * when fn settles; signal aborts on loss. Rejects with LeaseLost if the
   * lease was lost while fn ran (fn's own error, if any, as its cause).
   */
  withLease<T>(name: string, options: WithLeaseOptions, fn: (signal: AbortSignal, lease: Lease) => T | Promise<T>): Promise<T>;
  withLease<T>(name: string, fn: (signal: AbortSignal, lease: Lease) => T | Promise<T>): Promise<T>;
  /** Who holds name: a hint, or null if no live tenure is known. */
  holder(name: string): Promise<HolderHint | null>;
  /** The tenures held through this agent. */
  leases(): Promise<HeldLease[]>;
}

/** One tenure, taken by Client.acquire in keepalive mode. */
export declare class Lease {
  private constructor();
  /** The lease name (a semaphore's slot name, "NAME#i"). */
  readonly name: string;
  /** The fencing token, exact above 2^53: pass it to every resource you write. */
  readonly token: bigint;
  /** The TTL in milliseconds. */
  readonly ttlMs: number;
  /** The last failed keepalive (a fetch error or an APIError), if any. */
  readonly lastError: unknown;
  /** The tenure's secret, sent with every keepalive and release. */
  readonly leaseKey: string;
  /** The performance.now() instant by which to stop acting: send time + deadline_ms, the latest. */
  readonly deadline: number;
  /** Whether the tenure was lost (not released by this process). */
  readonly lost: boolean;
  readonly lostReason: string | null;
  readonly lostStatus: 403 | 409 | 410 | null;
  /** Whether release() was called. */
  readonly released: boolean;
  /** Aborts, with a LeaseLost as its reason, when the lease is lost or released. */
  readonly signal: AbortSignal;
  /** Milliseconds left to act; 0 once lost or released. */
  remaining(): number;
  /** Whether this process may still act under the tenure. */
  ok(): boolean;
  /** Throws LeaseLost unless ok(). */
  check(): void;
  /** true: renewed; false: failed, tenure as it was. Rejects with LeaseLost when it is over. */
  keepalive(): Promise<boolean>;
  /** true if the agent released it. */
  release(): Promise<boolean>;
  startKeepalive(options?: KeepaliveOptions): void;
  stopKeepalive(): void;
  /** true once lost; false once released or after timeoutMs. */
  waitLost(timeoutMs?: number): Promise<boolean>;
  toJSON(): { name: string; token: string; ttlMs: number; remainingMs: number };
}

/** The milliseconds a Go duration string stands for; RangeError otherwise. */
export declare function parseDuration(text: string): number;

/** A token from an answer (decimal string) as a BigInt; TenureError otherwise. */
export declare function parseToken(value: string | number | bigint): bigint;
