// Fenced leases from a tenure agent, for Node.js: no dependencies, the
// built-in fetch. The client follows the agent's three rules for you:
//
// - the deadline: read the clock (performance.now()) just before sending
//   each request; the deadline is that instant plus the answer's
//   deadline_ms, the latest over all answers (R16);
// - the lease key: keepalive and release send the acquire answer's
//   lease_key in the Tenure-Lease-Key header;
// - tokens are decimal strings on the wire and BigInts here, exact above
//   2^53; they are never sent as JSON numbers.

export { APIError, LeaseHeld, LeaseLost, TenureError, Unavailable } from './lib/errors.js';
export { LEASE_KEY_HEADER, parseDuration, parseToken } from './lib/wire.js';
export { Client } from './lib/client.js';
export { Lease } from './lib/lease.js';
