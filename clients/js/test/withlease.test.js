// Running work under a lease: Client.withLease keeps the lease alive in the
// background, aborts its signal on loss, and releases when the work ends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { AGENTS, FREED_WITHIN, client, endElsewhere, leaseName, needsAgents, tenure } from './agent.js';

test('kept alive past the TTL, then released', needsAgents, async (t) => {
  const name = leaseName(t);
  let held;
  const result = await client(0).withLease(name, { ttl: '2s' }, async (signal, lease) => {
    held = lease;
    const first = lease.deadline;
    let steps = 0;
    // Work on until well past the deadline of the grant.
    while (performance.now() < first + 500) {
      lease.check(); // before each action
      assert.equal(signal.aborted, false);
      steps++;
      await sleep(50); // pretend work, paced
    }
    assert.ok(lease.deadline > performance.now(), 'the background keepalives moved the deadline on');
    return steps;
  });
  assert.ok(result > 10);
  assert.equal(held.released, true);
  assert.equal(held.lost, false);
  // Released when the function ended: free soon through another agent.
  const again = await client(1).acquire(name, { ttl: '1s', wait: FREED_WITHIN });
  assert.ok(again.token > held.token);
  await again.release();
});

test('loss aborts the signal and is not silent', needsAgents, async (t) => {
  const told = [];
  let held;
  const run = client(0).withLease(leaseName(t), { ttl: '1s', onLost: (e) => told.push(e) }, async (signal, lease) => {
    held = lease;
    assert.equal(await endElsewhere(AGENTS[0], lease), 204);
    // The next background keepalive hears 410, and the signal fires.
    const [event] = await once(signal, 'abort');
    assert.equal(event.type, 'abort');
    assert.ok(signal.reason instanceof tenure.LeaseLost);
    return 'finished anyway';
  });
  await assert.rejects(run, (e) => e instanceof tenure.LeaseLost && e.status === 410);
  assert.equal(told.length, 1);
  assert.equal(told[0].status, 410);
  assert.equal(held.lost, true);
});

test('work that takes the signal stops on loss', needsAgents, async (t) => {
  const run = client(0).withLease(leaseName(t), { ttl: '1s' }, async (signal, lease) => {
    assert.equal(await endElsewhere(AGENTS[0], lease), 204);
    await sleep(60000, undefined, { signal }); // long work, cut short by the loss
  });
  await assert.rejects(run, (e) => e instanceof tenure.LeaseLost && e.status === 410 && e.cause?.name === 'AbortError');
});

test('an error in the function releases', needsAgents, async (t) => {
  const name = leaseName(t);
  let held;
  await assert.rejects(
    client(0).withLease(name, { ttl: '2s' }, (signal, lease) => {
      held = lease;
      throw new SyntaxError('work failed');
    }),
    SyntaxError,
  );
  assert.equal(held.released, true);
  const again = await client(2).acquire(name, { ttl: '1s', wait: FREED_WITHIN });
  assert.ok(again.token > held.token);
  await again.release();
});

test('the keepalive interval is checked', needsAgents, async (t) => {
  const lease = await client(0).acquire(leaseName(t), { ttl: '1s' });
  try {
    for (const bad of [0, -1, 1000, 5000, '300', NaN]) {
      assert.throws(() => lease.startKeepalive({ intervalMs: bad }), RangeError, String(bad));
    }
    assert.throws(() => lease.startKeepalive({ onLost: 'no' }), TypeError);
    lease.startKeepalive({ intervalMs: 200 });
    assert.throws(() => lease.startKeepalive({ intervalMs: 200 }), tenure.TenureError);
    assert.ok(lease.ok());
  } finally {
    await lease.release();
  }
});
