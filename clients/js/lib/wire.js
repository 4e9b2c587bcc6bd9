// What the client and its leases share about the wire: durations as Go
// duration strings, tokens as decimal strings, lease paths, and the errors
// that answers become.

import { APIError, LeaseHeld, TenureError, Unavailable } from './errors.js';

/** The header that carries a tenure's lease key on keepalive and release. */
export const LEASE_KEY_HEADER = 'Tenure-Lease-Key';

const UNITS = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
// Longer unit names first, so that "ms" is not read as "m" then "s".
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Returns the milliseconds a Go duration string stands for ("1m30s" ->
 * 90000). Throws RangeError for anything else, such as "5".
 */
export function parseDuration(text) {
  if (typeof text !== 'string') throw new TypeError(`duration must be a string such as "5s", got ${describe(text)}`);
  let body = text;
  let sign = 1;
  if (body[0] === '+' || body[0] === '-') {
    sign = body[0] === '-' ? -1 : 1;
    body = body.slice(1);
  }
  if (body === '0') return 0;
  const bad = () => new RangeError(`${JSON.stringify(text)} is not a duration such as "5s" or "250ms"`);
  if (body === '') throw bad();
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < body.length) {
    const m = PART.exec(body);
    if (m === null) throw bad();
    total += Number(m[1]) * UNITS[m[2]];
  }
  return sign * total;
}

/**
 * Checks a duration given by the caller (a Go duration string, or a number
 * of MILLISECONDS) and returns it as a Go duration string, or undefined.
 */
export function durationToWire(value, what, positive) {
  if (value === undefined || value === null) return undefined;
  let ms;
  let wire;
  if (typeof value === 'string') {
    ms = parseDuration(value);
    wire = value;
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${what} ${value} is not a finite number of milliseconds`);
    ms = value;
    const us = Math.round(value * 1000);
    wire = us % 1000 === 0 ? `${us / 1000}ms` : `${us}us`;
  } else {
    throw new TypeError(`${what} must be a duration string such as "5s" or milliseconds, got ${describe(value)}`);
  }
  if (ms < 0 || (positive && ms === 0)) {
    throw new RangeError(`${what} ${JSON.stringify(value)} must be ${positive ? 'positive' : 'zero or more'}`);
  }
  return wire;
}

/**
 * Reads a fencing token from an answer: a JSON string of the decimal
 * uint64 (or, from older agents, a safe-integer JSON number), as a BigInt.
 */
export function parseToken(value) {
  let token;
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) token = BigInt(value);
  else if (typeof value === 'number' && Number.isSafeInteger(value)) token = BigInt(value);
  else if (typeof value === 'bigint') token = value;
  else throw new TenureError(`token ${describe(value)} is not a decimal integer`);
  if (token <= 0n || token >= 1n << 64n) throw new TenureError(`token ${token} is not a positive 64-bit integer`);
  return token;
}

/** Returns a copy of a holder hint or listing entry with its token a BigInt. */
export function hint(h) {
  const out = { ...h };
  if ('token' in out) out.token = parseToken(out.token);
  return out;
}

/** Shows a bad argument in an error message. */
export function describe(v) {
  return typeof v === 'bigint' ? `${v}n` : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** The API path of lease name; throws before anything is sent if it is bad. */
export function leasePath(name) {
  if (typeof name !== 'string') throw new TypeError(`lease name must be a string, got ${describe(name)}`);
  if (name === '') throw new RangeError('lease name is empty');
  return '/v1/leases/' + encodeURIComponent(name);
}

/**
 * The error for an answer with a status of 400 or more: LeaseHeld for a
 * refused acquire (409, with the holder hint), Unavailable for 503,
 * APIError otherwise.
 */
export function apiError(status, answer, acquire = false) {
  const message = String(answer?.error || `status ${status}`);
  if (acquire && status === 409) {
    const h = answer?.holder;
    return new LeaseHeld(status, message, answer, h && typeof h === 'object' ? hint(h) : null);
  }
  if (status === 503) return new Unavailable(status, message, answer);
  return new APIError(status, message, answer);
}
