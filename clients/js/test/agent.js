// What the tests know of the agents they run against, from the
// environment that the Go test e2e/clients_test.go sets:
//
// TENURE_AGENTS          comma-separated URLs of three agents of one cluster
// TENURE_BEARER          their bearer token (--http-token-file)
// TENURE_BIG_TOKENS      "1": the voters have no data dir, so tokens exceed 2^53
// TENURE_STOPPABLE       URL of an agent the tests may stop (SIGTERM)
// TENURE_STOPPABLE_PID   its process id
// TENURE_JS_MODULE       the installed package's entry file, to test that copy
//
// Without TENURE_AGENTS the tests that need an agent are skipped; the Go
// test fails if any test is skipped.

import net from 'node:net';
import { pathToFileURL } from 'node:url';

export const AGENTS = (process.env.TENURE_AGENTS ?? '').split(',').filter(Boolean);
export const BEARER = process.env.TENURE_BEARER || undefined;
export const BIG_TOKENS = process.env.TENURE_BIG_TOKENS === '1';
export const STOPPABLE = process.env.TENURE_STOPPABLE || null;
export const STOPPABLE_PID = Number(process.env.TENURE_STOPPABLE_PID || 0);
export const INSTALLED = process.env.TENURE_JS_MODULE || null;

/** How long any one step may take, in ms: tests assert outcomes. */
export const GENEROUS = 30000;

/**
 * The wait of an acquire that checks a release: a released lease is free
 * within it (the release's messages to the voters race the acquire, so not
 * at once), while a lease the test kept alive and did not release would
 * stay held for longer.
 */
export const FREED_WITHIN = '1s';

/** Skips a test without agents. */
export const needsAgents = AGENTS.length >= 3 ? {} : { skip: 'TENURE_AGENTS does not name three agents: run `go test ./e2e -run Clients`' };

/** Skips a test unless the agents demand a bearer token. */
export const needsBearer = AGENTS.length >= 3 && BEARER ? {} : { skip: 'TENURE_BEARER is not set: the agents must demand a bearer token' };

/** The package under test: the installed copy if given, else the source. */
export const tenure = await import(INSTALLED ? pathToFileURL(INSTALLED).href : new URL('../index.js', import.meta.url).href);

/** A Client of agent i of the cluster. */
export function client(i = 0, opts = {}) {
  return new tenure.Client(AGENTS[i], { token: BEARER, ...opts });
}

/** A lease name of the test's own, the same in every run. */
export function leaseName(t) {
  return `js-${t.name.replace(/[^A-Za-z0-9]+/g, '-')}-${process.pid}`;
}

/** One API call made without the package: { status, answer }. */
export async function raw(method, url, { body, key, bearer = BEARER } = {}) {
  const headers = {};
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (key) headers['Tenure-Lease-Key'] = key;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(GENEROUS) });
  const text = await res.text();
  return { status: res.status, answer: text ? JSON.parse(text) : {} };
}

/**
 * Releases lease's tenure with a call of its own, as another process
 * holding the key would: the Lease object is not told.
 */
export async function endElsewhere(agentUrl, lease) {
  const { status } = await raw('DELETE', `${agentUrl}/v1/leases/${encodeURIComponent(lease.name)}?token=${lease.token}`, { key: lease.leaseKey });
  return status;
}

/** The URL of a loopback port nothing listens on (bound, then closed). */
export async function deadUrl() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return `http://127.0.0.1:${port}`;
}
