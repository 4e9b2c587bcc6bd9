// An agent that stops (SIGTERM) releases nothing and renews nothing: its
// client keeps its last deadline and nothing more, whether the agent
// answers 503 (a call that reaches it while it stops) or no longer
// answers, and a waiter elsewhere gets the lease only after that deadline
// (R15, R16).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { performance } from 'node:perf_hooks';

import { AGENTS, BEARER, GENEROUS, STOPPABLE, STOPPABLE_PID, client, endElsewhere, leaseName, needsAgents, tenure } from './agent.js';
import { faultyProxy } from './faultyproxy.js';

test('503 keeps the last deadline', needsAgents, async (t) => {
  const proxy = await faultyProxy(AGENTS[0]);
  let lease;
  try {
    lease = await new tenure.Client(proxy.url, { token: BEARER }).acquire(leaseName(t), { ttl: '2s' });
    proxy.stopping = true;
    const last = lease.deadline;
    assert.equal(await lease.keepalive(), false);
    assert.ok(lease.lastError instanceof tenure.Unavailable, String(lease.lastError));
    assert.equal(lease.lastError.status, 503);
    assert.equal(lease.deadline, last);
    assert.ok(lease.ok(), '503 is not a loss: the last deadline stands');
    assert.equal(await lease.release(), false, 'a stopping agent releases nothing');
    assert.equal(proxy.requests.at(-1)[0], 'DELETE');
  } finally {
    await proxy.close();
  }
  // Clean up: the tenure is still the agent's (204), unless its keepalive
  // expiry came first (410).
  assert.ok([204, 410].includes(await endElsewhere(AGENTS[0], lease)));
});

const ready = AGENTS.length && STOPPABLE && STOPPABLE_PID ? {} : { skip: 'TENURE_STOPPABLE is not set: run `go test ./e2e -run Clients`' };

test('a stopping agent leaves the last deadline', ready, async (t) => {
  const name = leaseName(t);
  const lease = await new tenure.Client(STOPPABLE, { token: BEARER, timeoutMs: 2000 }).acquire(name, { ttl: '2s' });
  process.kill(STOPPABLE_PID, 'SIGTERM');
  // Keepalives go on until the agent no longer renews: 503 while it
  // stops, then no answer. Neither ends the lease here.
  const giveUp = performance.now() + GENEROUS;
  while (await lease.keepalive()) {
    assert.ok(performance.now() < giveUp, 'the agent kept renewing after SIGTERM');
  }
  const last = lease.deadline;
  assert.equal(lease.lost, false, 'a stopping agent is not a lost lease: keep the last deadline');
  assert.ok(lease.lastError);

  // A waiter through another agent gets the lease, but only once this
  // client's deadline has passed: the voters let it expire.
  const waiter = await client(0).acquire(name, { ttl: '2s', wait: '30s' });
  const arrived = performance.now();
  try {
    assert.ok(waiter.token > lease.token);
    assert.ok(arrived >= last, `granted elsewhere ${last - arrived}ms before this client's deadline`);
    assert.equal(await lease.waitLost(GENEROUS), true);
    assert.equal(lease.lostStatus, null);
    assert.equal(lease.deadline, last);
  } finally {
    await waiter.release();
  }
});
