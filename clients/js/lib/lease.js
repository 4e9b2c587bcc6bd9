// Lease: one tenure held through an agent, its deadline and its keepalives.

import { performance } from 'node:perf_hooks';

import { LeaseLost, TenureError } from './errors.js';
import { apiError, describe, leasePath, parseDuration, parseToken } from './wire.js';

/** The shortest pause of the keepalive loop between two tries, in ms. */
const MIN_PAUSE_MS = 50;

/** One tenure, taken by Client.acquire in keepalive mode. */
export class Lease {
  #client;
  #key;
  #path;
  #deadline = -Infinity;
  #lost = null;
  #released = false;
  #controller = new AbortController();
  #deadlineTimer = null;
  #loop = null; // { intervalMs, timer } while the keepalive loop runs
  #onLost = null;

  constructor(client, answer, sent) {
    this.#client = client;
    /** The lease name (a semaphore's slot name). */
    this.name = answer.name;
    /** The fencing token: pass it to every resource you write. */
    this.token = parseToken(answer.token);
    /** The TTL in milliseconds. */
    this.ttlMs = parseDuration(answer.ttl);
    /** The last failed keepalive, if any. */
    this.lastError = null;
    this.#key = answer.lease_key;
    this.#path = leasePath(this.name);
    this.#extend(sent, answer);
  }

  /** The tenure's secret, sent with every keepalive and release. */
  get leaseKey() {
    return this.#key;
  }

  /** The performance.now() instant by which to stop acting. */
  get deadline() {
    return this.#deadline;
  }

  /** Whether the tenure was lost (not released by this process). */
  get lost() {
    this.remaining();
    return this.#lost !== null;
  }

  /** Why it was lost, or null. */
  get lostReason() {
    return this.#lost?.reason ?? null;
  }

  /** The agent's status that ended it (403, 409, 410), or null. */
  get lostStatus() {
    return this.#lost?.status ?? null;
  }

  /** Whether release() was called. */
  get released() {
    return this.#released;
  }

  /** Aborts, with a LeaseLost as its reason, when the lease is lost or released. */
  get signal() {
    return this.#controller.signal;
  }

  /** Milliseconds left to act; 0 once lost or released. */
  remaining() {
    if (this.#lost || this.#released) return 0;
    const left = this.#deadline - performance.now();
    if (left > 0) return left;
    this.#lose(new LeaseLost('deadline passed: no renewal arrived in time'));
    return 0;
  }

  /** Whether this process may still act under the tenure. */
  ok() {
    return this.remaining() > 0;
  }

  /** Throws LeaseLost unless ok(). */
  check() {
    if (this.ok()) return;
    if (this.#lost) throw this.#lost;
    throw new LeaseLost('lease was released');
  }

  /**
   * Asks the agent to keep renewing and extends the deadline. Resolves
   * true if it did, false if the call failed in a way that leaves the
   * tenure as it was (agent unreachable, 503, another 5xx: keep the old
   * deadline, try again soon). Rejects with LeaseLost when the tenure is
   * over, APIError for other refusals (400, 401).
   */
  async keepalive() {
    this.check();
    const sent = performance.now(); // R16: the deadline counts from the send
    let status;
    let answer;
    try {
      ({ status, answer } = await this.#client._request('POST', this.#path + '/keepalive', {
        body: { token: this.token.toString() },
        key: this.#key,
        timeoutMs: Math.min(this.#client.timeoutMs, Math.max(this.remaining(), 1)),
      }));
    } catch (e) {
      this.lastError = e;
      this.check();
      return false;
    }
    if (status === 200) {
      this.#extend(sent, answer);
      this.check();
      return true;
    }
    if (status === 403 || status === 409 || status === 410) {
      const lost = new LeaseLost(`agent answered ${status}: ${String(answer.error || `status ${status}`)}`, status);
      this.#lose(lost);
      throw this.#lost ?? lost;
    }
    this.lastError = apiError(status, answer);
    this.check();
    if (status >= 500) return false;
    throw this.lastError;
  }

  /**
   * Gives the tenure back. Stops acting first (ok() is false from here on,
   * the signal aborts). Resolves true if the agent released it, false if
   * it was already released or over, or the call failed (then the tenure
   * expires on its own, which is safe).
   */
  async release() {
    this.stopKeepalive();
    if (this.#released) return false;
    this.#released = true;
    this.#end(new LeaseLost('lease was released'));
    try {
      const { status } = await this.#client._request('DELETE', `${this.#path}?token=${this.token}`, { key: this.#key });
      return status === 204;
    } catch (e) {
      this.lastError = e;
      return false;
    }
  }

  /**
   * Keeps the tenure alive in the background every intervalMs (default a
   * third of the TTL; sooner after a failure) until it is lost or
   * released, or stopKeepalive(). onLost(LeaseLost) is called once when
   * it is lost. Its timer keeps the process alive until then.
   */
  startKeepalive({ intervalMs, onLost } = {}) {
    const interval = intervalMs ?? this.ttlMs / 3;
    if (typeof interval !== 'number' || !(interval > 0 && interval < this.ttlMs)) {
      throw new RangeError(`intervalMs ${describe(intervalMs)} must be a number of milliseconds in (0, ttl=${this.ttlMs})`);
    }
    if (onLost !== undefined && typeof onLost !== 'function') throw new TypeError('onLost must be a function');
    if (this.#loop) throw new TenureError('the keepalive loop is already running');
    this.#onLost = onLost ?? null;
    this.#loop = { intervalMs: interval, timer: null };
    this.#schedule(interval); // the grant counts as the first keepalive
  }

  /** Stops the keepalive loop, if one runs. */
  stopKeepalive() {
    if (this.#loop) clearTimeout(this.#loop.timer);
    this.#loop = null;
  }

  /**
   * Resolves true once the lease is lost, false once it is released or
   * after timeoutMs (if given). Notices the deadline by itself.
   */
  waitLost(timeoutMs) {
    if (!this.ok()) return Promise.resolve(this.lost);
    return new Promise((resolve) => {
      let timer = null;
      const done = () => {
        clearTimeout(timer);
        resolve(this.lost);
      };
      this.signal.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.signal.removeEventListener('abort', done);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /** Never shows the lease key. */
  toString() {
    const state = this.lost ? 'lost' : this.#released ? 'released' : `${Math.round(this.remaining())}ms left`;
    return `Lease(${JSON.stringify(this.name)} token=${this.token} ${state})`;
  }

  toJSON() {
    return { name: this.name, token: this.token.toString(), ttlMs: this.ttlMs, remainingMs: this.remaining() };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }

  /** Applies an answer: deadline = max(deadline, sent + deadline_ms). */
  #extend(sent, answer) {
    const token = parseToken(answer.token);
    if (token !== this.token) throw new TenureError(`agent answered for token ${token}, not ${this.token}`);
    const ms = answer.deadline_ms;
    if (!Number.isInteger(ms)) throw new TenureError(`agent answered without an integer deadline_ms: ${describe(ms)}`);
    if (this.#lost || this.#released) return;
    this.#deadline = Math.max(this.#deadline, sent + ms);
    this.#armDeadline();
  }

  /** Arms the timer that notices the deadline (re-armed if it fires early). */
  #armDeadline() {
    clearTimeout(this.#deadlineTimer);
    const left = this.#deadline - performance.now();
    this.#deadlineTimer = setTimeout(() => {
      if (this.remaining() > 0) this.#armDeadline();
    }, Math.max(0, Math.ceil(left)) + 1);
  }

  #lose(lost) {
    if (this.#lost || this.#released) return;
    this.#lost = lost;
    const callback = this.#onLost;
    this.stopKeepalive();
    this.#end(lost);
    if (callback) {
      try {
        callback(lost);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  #end(reason) {
    clearTimeout(this.#deadlineTimer);
    this.#controller.abort(reason);
  }

  #schedule(delay) {
    const loop = this.#loop;
    loop.timer = setTimeout(async () => {
      let renewed = false;
      try {
        renewed = await this.keepalive();
      } catch (e) {
        if (e instanceof LeaseLost) return;
        this.lastError = e;
      }
      if (this.#loop !== loop) return; // stopped meanwhile
      const next = renewed ? loop.intervalMs : Math.max(MIN_PAUSE_MS, Math.min(loop.intervalMs, this.remaining() / 4));
      this.#schedule(next);
    }, delay);
  }
}
