// Losing a lease: each answer that ends a tenure, and a deadline that
// passes with the agent out of reach.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { performance } from 'node:perf_hooks';

import { AGENTS, GENEROUS, client, deadUrl, endElsewhere, leaseName, needsAgents, tenure } from './agent.js';

/** A Lease for the same tenure as lease, with some of its answer changed. */
function forged(c, lease, change) {
  const answer = { name: lease.name, token: lease.token.toString(), ttl: '2s', lease_key: lease.leaseKey, deadline_ms: 1000, ...change };
  return new tenure.Lease(c, answer, performance.now());
}

test('ended elsewhere is 410', needsAgents, async (t) => {
  const lease = await client(0).acquire(leaseName(t), { ttl: '2s' });
  assert.equal(await endElsewhere(AGENTS[0], lease), 204);
  assert.ok(lease.ok(), 'nothing told this Lease yet');
  const err = await lease.keepalive().then(() => assert.fail('kept an ended tenure alive'), (e) => e);
  assert.ok(err instanceof tenure.LeaseLost, String(err));
  assert.equal(err.status, 410);
  assert.equal(lease.lost, true);
  assert.equal(lease.lostStatus, 410);
  assert.equal(lease.ok(), false);
  assert.equal(lease.signal.aborted, true);
  assert.equal(lease.signal.reason, err);
  assert.throws(() => lease.check(), tenure.LeaseLost);
  assert.equal(await lease.release(), false, 'the tenure was already over');
});

test('wrong key is 403 and changes nothing', needsAgents, async (t) => {
  const c = client(0);
  const lease = await c.acquire(leaseName(t), { ttl: '2s' });
  try {
    const thief = forged(c, lease, { lease_key: '0'.repeat(32) });
    await assert.rejects(thief.keepalive(), (e) => e instanceof tenure.LeaseLost && e.status === 403);
    assert.equal(thief.ok(), false);
    // The agent still keeps the tenure for the one who has the key.
    assert.equal(await lease.keepalive(), true);
  } finally {
    assert.equal(await lease.release(), true);
  }
});

test('unknown token is 409', needsAgents, async (t) => {
  const c = client(0);
  const lease = await c.acquire(leaseName(t), { ttl: '2s' });
  try {
    const later = forged(c, lease, { token: (lease.token + 1n).toString() });
    await assert.rejects(later.keepalive(), (e) => e instanceof tenure.LeaseLost && e.status === 409);
    assert.equal(later.lostStatus, 409);
    assert.ok(lease.ok());
  } finally {
    await lease.release();
  }
});

test('deadline passes with the agent out of reach', needsAgents, async (t) => {
  const c = client(0, { timeoutMs: 1000 });
  const lease = await c.acquire(leaseName(t), { ttl: '1s' });
  const home = c.agentUrl;
  c.agentUrl = await deadUrl();
  const told = [];
  lease.startKeepalive({ intervalMs: 100, onLost: (e) => told.push(e) });
  try {
    assert.equal(await lease.waitLost(GENEROUS), true);
    assert.ok(performance.now() >= lease.deadline, 'lost before the deadline');
    assert.equal(lease.lostStatus, null);
    assert.match(lease.lostReason, /deadline/);
    assert.ok(lease.lastError instanceof Error, String(lease.lastError));
    assert.equal(told.length, 1);
    assert.ok(told[0] instanceof tenure.LeaseLost);
    assert.equal(lease.signal.aborted, true);
  } finally {
    lease.stopKeepalive();
    c.agentUrl = home;
    await lease.release();
  }
});

test('deadline passes without keepalives', needsAgents, async (t) => {
  const lease = await client(0).acquire(leaseName(t), { ttl: '1s' });
  try {
    assert.equal(await lease.waitLost(GENEROUS), true);
    assert.ok(performance.now() >= lease.deadline);
    assert.equal(lease.ok(), false);
    await assert.rejects(lease.keepalive(), (e) => e instanceof tenure.LeaseLost && e.status === null);
  } finally {
    await lease.release();
  }
});
