// Client: the calls to one agent's HTTP API.

import { performance } from 'node:perf_hooks';

import { LeaseLost } from './errors.js';
import { LEASE_KEY_HEADER, apiError, describe, durationToWire, hint, leasePath, parseDuration } from './wire.js';
import { Lease } from './lease.js';

/** Calls one tenure agent (`tenure agent`) over HTTP. */
export class Client {
  #bearer;

  /**
   * agentUrl is the agent's base URL, such as "http://127.0.0.1:7947".
   * token is the bearer token the agent was started with
   * (--http-token-file), if any; timeoutMs bounds each call, on top of an
   * acquire's wait.
   */
  constructor(agentUrl = 'http://127.0.0.1:7947', { token, timeoutMs = 10000 } = {}) {
    let url;
    try {
      url = new URL(agentUrl);
    } catch {
      throw new RangeError(`agentUrl ${describe(agentUrl)} is not an http:// or https:// URL`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
      throw new RangeError(`agentUrl ${describe(agentUrl)} is not an http:// or https:// URL`);
    }
    if (token !== undefined && token !== null && (typeof token !== 'string' || token === '' || /[\r\n]/.test(token))) {
      throw new RangeError('token must be a non-empty one-line string');
    }
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(`timeoutMs ${describe(timeoutMs)} must be a positive number of milliseconds`);
    }
    this.agentUrl = String(agentUrl).replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
    this.#bearer = token || null;
  }

  /**
   * Takes the lease name in keepalive mode. ttl (default: the agent's) and
   * wait (default: try once) are Go duration strings ("5s") or numbers of
   * milliseconds; value is stored with the lease; slots makes it a
   * semaphore (the Lease's name is then the slot's, "NAME#i"); signal
   * cancels a waiting acquire.
   *
   * The Lease's deadline is the instant the request was sent plus the
   * answer's deadline_ms. If less than half the TTL is left when the answer
   * arrives, one keepalive is sent before resolving.
   *
   * Rejects with LeaseHeld (409), Unavailable (503), APIError (400, 401),
   * LeaseLost (granted with no time left), fetch's TypeError (agent
   * unreachable), or TypeError/RangeError for bad arguments (nothing sent).
   */
  async acquire(name, { ttl, wait, value, slots, signal } = {}) {
    const path = leasePath(name);
    const body = {};
    const ttlWire = durationToWire(ttl, 'ttl', true);
    const waitWire = durationToWire(wait, 'wait', false);
    if (ttlWire !== undefined) body.ttl = ttlWire;
    if (waitWire !== undefined) body.wait = waitWire;
    if (value !== undefined) {
      if (typeof value !== 'string') throw new TypeError(`value must be a string, got ${describe(value)}`);
      body.value = value;
    }
    if (slots !== undefined) {
      if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots ${describe(slots)} must be a positive integer`);
      body.slots = slots;
    }
    const waitMs = waitWire ? parseDuration(waitWire) : 0;
    const sent = performance.now(); // R16: the deadline counts from the send
    const { status, answer } = await this._request('POST', path, { body, timeoutMs: this.timeoutMs + waitMs, signal });
    if (status !== 200) throw apiError(status, answer, true);
    const lease = new Lease(this, answer, sent);
    if (lease.remaining() < lease.ttlMs / 2) {
      // A slow answer: renew once, so that work starts with a fresh
      // deadline. A failed try keeps the deadline it has.
      try {
        await lease.keepalive();
      } catch {
        // judged by ok() below
      }
    }
    if (!lease.ok()) {
      const why = lease.lostReason ?? 'deadline passed';
      await lease.release();
      throw new LeaseLost(`granted with no time left to act: ${why}`);
    }
    return lease;
  }

  /**
   * Acquires name (options as acquire, plus intervalMs and onLost), keeps
   * it alive in the background, runs fn(signal, lease) and releases the
   * lease when fn settles. signal aborts, with a LeaseLost as its reason,
   * the moment the lease is lost: pass it to every call made under the
   * lease. Resolves with fn's result. Rejects with LeaseLost if the lease
   * was lost while fn ran, whether fn resolved or not (fn's error, such as
   * the AbortError of a call the signal cut short, is its cause);
   * otherwise with fn's error.
   */
  async withLease(name, opts, fn) {
    if (typeof opts === 'function') [fn, opts] = [opts, {}];
    if (typeof fn !== 'function') throw new TypeError('withLease needs a function to run under the lease');
    const { intervalMs, onLost, ...acquireOpts } = opts ?? {};
    const lease = await this.acquire(name, acquireOpts);
    let result;
    let failure = null;
    try {
      lease.startKeepalive({ intervalMs, onLost });
      result = await fn(lease.signal, lease);
    } catch (e) {
      failure = { error: e };
    }
    const lost = !lease.ok();
    await lease.release();
    if (lost) {
      const why = `lease ${JSON.stringify(lease.name)} token ${lease.token} was lost while the function ran: ${lease.lostReason}`;
      throw new LeaseLost(why, lease.lostStatus, failure ? { cause: failure.error } : undefined);
    }
    if (failure) throw failure.error;
    return result;
  }

  /** Who holds name: the voters' hint (R14), or null if none is known. */
  async holder(name) {
    const { status, answer } = await this._request('GET', leasePath(name));
    if (status === 404) return null;
    if (status !== 200) throw apiError(status, answer);
    return hint(answer);
  }

  /** The tenures held through this agent (tokens as BigInts, no keys). */
  async leases() {
    const { status, answer } = await this._request('GET', '/v1/leases');
    if (status !== 200) throw apiError(status, answer);
    return (answer.leases ?? []).map(hint);
  }

  /** Sends one call; resolves with its status and decoded JSON answer. */
  async _request(method, path, { body, key, timeoutMs, signal } = {}) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.#bearer) headers.Authorization = `Bearer ${this.#bearer}`;
    if (key) headers[LEASE_KEY_HEADER] = key;
    const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs ?? this.timeoutMs)));
    const res = await fetch(this.agentUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    let answer = {};
    if (text !== '') {
      try {
        answer = JSON.parse(text);
      } catch {
        answer = { error: text.trim() };
      }
    }
    if (answer === null || typeof answer !== 'object') answer = { error: String(answer) };
    return { status: res.status, answer };
  }
}
