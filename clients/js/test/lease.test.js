// Acquire, keepalive and release against a real cluster of agents.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { AGENTS, BEARER, BIG_TOKENS, FREED_WITHIN, client, leaseName, needsAgents, raw, tenure } from './agent.js';
import { faultyProxy } from './faultyproxy.js';

test('acquire, keepalive, release', needsAgents, async (t) => {
  const name = leaseName(t);
  const c = client(0);
  const lease = await c.acquire(name, { ttl: '2s' });
  const got = performance.now();
  assert.equal(typeof lease.token, 'bigint');
  if (BIG_TOKENS) assert.ok(lease.token > 2n ** 53n, `token ${lease.token} should exceed 2^53 (voters without a data dir)`);
  assert.equal(lease.name, name);
  assert.equal(lease.ttlMs, 2000);
  // The deadline counts from the send; the agent's own ends at most a TTL
  // after the grant, so ours ends within a TTL of the answer's arrival.
  assert.ok(lease.ok());
  assert.ok(lease.deadline <= got + 2000, `deadline ${lease.deadline - got}ms after the answer`);
  assert.ok(lease.deadline > got);
  assert.ok(!String(lease).includes(lease.leaseKey));
  assert.ok(!JSON.stringify(lease).includes(lease.leaseKey));

  // The agent's listing shows the very same token, as a string.
  const { status, answer } = await raw('GET', `${AGENTS[0]}/v1/leases`);
  assert.equal(status, 200);
  const mine = answer.leases.filter((g) => g.name === name);
  assert.equal(mine.length, 1);
  assert.equal(mine[0].token, lease.token.toString());
  assert.ok(!('lease_key' in mine[0]));
  // So does the voters' hint, asked through another agent.
  const hint = await client(1).holder(name);
  assert.equal(hint.token, lease.token);
  assert.deepEqual((await c.leases()).filter((g) => g.name === name).map((g) => g.token), [lease.token]);

  // Keepalive sends the token as a string (a number above 2^53 would be
  // refused with 400) and the lease key, and moves the deadline on.
  const sent = [];
  const real = c._request.bind(c);
  c._request = (method, path, opts = {}) => {
    sent.push({ path, opts });
    return real(method, path, opts);
  };
  const before = lease.deadline;
  assert.equal(await lease.keepalive(), true);
  assert.ok(lease.deadline >= before);
  assert.deepEqual(sent.at(-1).opts.body, { token: lease.token.toString() });
  assert.equal(JSON.stringify(sent.at(-1).opts.body), `{"token":"${lease.token}"}`);
  assert.equal(sent.at(-1).opts.key, lease.leaseKey);
  assert.equal(await lease.release(), true);
  assert.ok(sent.at(-1).path.endsWith(`?token=${lease.token}`));
  assert.equal(sent.at(-1).opts.key, lease.leaseKey);

  assert.equal(lease.ok(), false);
  assert.equal(lease.released, true);
  assert.equal(lease.lost, false);
  assert.equal(lease.remaining(), 0);
  assert.equal(lease.signal.aborted, true);
  assert.equal(await lease.release(), false, 'a second release has nothing to release');
  await assert.rejects(lease.keepalive(), tenure.LeaseLost);

  // Released, the lease is soon free for anyone, with a higher token.
  const again = await client(1).acquire(name, { ttl: '2s', wait: FREED_WITHIN });
  assert.ok(again.token > lease.token);
  assert.equal(await again.release(), true);
});

test('held by another', needsAgents, async (t) => {
  const name = leaseName(t);
  const lease = await client(0).acquire(name, { ttl: '2s', value: 'worker-7' });
  try {
    const err = await client(1).acquire(name, { ttl: '2s' }).then(
      () => assert.fail('acquired a held lease'),
      (e) => e,
    );
    assert.ok(err instanceof tenure.LeaseHeld, String(err));
    assert.equal(err.status, 409);
    assert.ok(err.holder, JSON.stringify(err.body));
    assert.equal(err.holder.token, lease.token);
    assert.equal(err.holder.value, 'worker-7');
    assert.ok(lease.ok(), 'a refused acquire elsewhere changes nothing');
  } finally {
    await lease.release();
  }
});

test('wait for the holder', needsAgents, async (t) => {
  const name = leaseName(t);
  const holder = await client(0).acquire(name, { ttl: '2s' });
  const waiting = client(2)
    .acquire(name, { ttl: '1s', wait: '30s' })
    .then((lease) => ({ lease, got: performance.now(), left: lease.remaining() }));
  // The holder works for longer than the waiter's TTL, then lets go.
  for (let i = 0; i < 6; i++) {
    assert.equal(await holder.keepalive(), true);
    await sleep(300); // the holder's pacing, not a wait for a condition
  }
  assert.equal(await holder.release(), true);
  const { lease, got, left } = await waiting;
  try {
    assert.ok(lease.token > holder.token);
    assert.ok(left > 0);
    // deadline_ms counted the wait too: added to the send time, not to the
    // answer's arrival, it ends within a TTL of the grant.
    assert.ok(lease.deadline <= got + lease.ttlMs, `deadline ${lease.deadline - got}ms after the answer`);
  } finally {
    await lease.release();
  }
});

test('a slow answer is renewed once', needsAgents, async (t) => {
  const name = leaseName(t);
  const path = `/v1/leases/${encodeURIComponent(name)}`;
  // The control: a prompt answer leaves more than half the TTL, and
  // acquire sends nothing more.
  let proxy = await faultyProxy(AGENTS[0], 0);
  try {
    const lease = await new tenure.Client(proxy.url, { token: BEARER }).acquire(`${name}-prompt`, { ttl: '3s' });
    assert.deepEqual(proxy.requests, [['POST', `${path}-prompt`]]);
    assert.equal(await lease.release(), true);
  } finally {
    await proxy.close();
  }
  // An answer held back for 2 of its 3 seconds arrives with less than half
  // the TTL left: acquire renews once before resolving.
  proxy = await faultyProxy(AGENTS[0], 2000);
  try {
    const lease = await new tenure.Client(proxy.url, { token: BEARER }).acquire(name, { ttl: '3s' });
    assert.deepEqual(proxy.requests, [['POST', path], ['POST', `${path}/keepalive`]]);
    assert.ok(lease.ok());
    assert.equal(await lease.release(), true);
  } finally {
    await proxy.close();
  }
});

test('semaphore slots', needsAgents, async (t) => {
  const name = leaseName(t);
  const c = client(0);
  const first = await c.acquire(name, { ttl: '2s', slots: 2 });
  const second = await c.acquire(name, { ttl: '2s', slots: 2 });
  try {
    assert.deepEqual(new Set([first.name, second.name]), new Set([`${name}#0`, `${name}#1`]));
    assert.notEqual(first.token, second.token);
    await assert.rejects(client(1).acquire(name, { ttl: '2s', slots: 2 }), tenure.LeaseHeld);
    // The slot name travels URL-encoded ("#" is %23).
    assert.equal(await first.keepalive(), true);
    assert.equal(await second.keepalive(), true);
  } finally {
    assert.equal(await first.release(), true);
    assert.equal(await second.release(), true);
  }
});
