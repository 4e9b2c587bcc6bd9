// Bad input gets a clear error before anything is sent, and what the agent
// refuses comes back as the right error.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AGENTS, client, deadUrl, leaseName, needsAgents, needsBearer, tenure } from './agent.js';

test('bad arguments send nothing', async () => {
  // The client points at a port nothing listens on: a call that went out
  // would reject with fetch's TypeError "fetch failed", not these.
  const c = new tenure.Client(await deadUrl());
  const cases = [
    [RangeError, () => c.acquire('', { ttl: '1s' })],
    [TypeError, () => c.acquire(7, { ttl: '1s' })],
    [RangeError, () => c.acquire('job', { ttl: 'five seconds' })],
    [RangeError, () => c.acquire('job', { ttl: '5' })],
    [RangeError, () => c.acquire('job', { ttl: 0 })],
    [RangeError, () => c.acquire('job', { ttl: -1 })],
    [RangeError, () => c.acquire('job', { ttl: '-1s' })],
    [RangeError, () => c.acquire('job', { ttl: Infinity })],
    [TypeError, () => c.acquire('job', { ttl: true })],
    [TypeError, () => c.acquire('job', { ttl: 5n })],
    [RangeError, () => c.acquire('job', { ttl: '1s', wait: -0.5 })],
    [RangeError, () => c.acquire('job', { ttl: '1s', slots: 0 })],
    [RangeError, () => c.acquire('job', { ttl: '1s', slots: 1.5 })],
    [TypeError, () => c.acquire('job', { ttl: '1s', value: 42 })],
    [TypeError, () => c.holder(null)],
  ];
  for (const [want, call] of cases) {
    await assert.rejects(call(), (e) => e.constructor === want, String(call));
  }
  // The control: a good call does go out.
  await assert.rejects(c.acquire('job', { ttl: '1s' }), (e) => e instanceof TypeError && /fetch failed/.test(e.message));
});

test('bad client settings', () => {
  for (const url of ['127.0.0.1:7947', 'ftp://host', 'http://', 'not a url']) {
    assert.throws(() => new tenure.Client(url), RangeError, url);
  }
  for (const token of ['', 'two\nlines', 5]) {
    assert.throws(() => new tenure.Client('http://127.0.0.1:7947', { token }), RangeError, String(token));
  }
  assert.throws(() => new tenure.Client('http://127.0.0.1:7947', { timeoutMs: 0 }), RangeError);
});

test('durations', () => {
  assert.equal(tenure.parseDuration('1m30s'), 90000);
  assert.equal(tenure.parseDuration('250ms'), 250);
  assert.equal(tenure.parseDuration('1.5s'), 1500);
  assert.equal(tenure.parseDuration('1h0m0s'), 3600000);
  assert.equal(tenure.parseDuration('0'), 0);
  assert.equal(tenure.parseDuration('1500us'), 1.5);
  for (const bad of ['', 's', '5', '5 s', '1x', '1.2.3s', 'ms5']) {
    assert.throws(() => tenure.parseDuration(bad), RangeError, bad);
  }
});

test('tokens are exact above 2^53', () => {
  // What a plain JSON number would do: 2^53 + 1 reads as 2^53.
  assert.equal(JSON.parse('{"token":9007199254740993}').token, 2 ** 53);
  assert.equal(tenure.parseToken('9007199254740993'), 2n ** 53n + 1n);
  assert.equal(tenure.parseToken('18446744073709551615'), 2n ** 64n - 1n);
  assert.equal(tenure.parseToken(12), 12n);
  for (const bad of ['-1', '1e3', '', ' 7', '0', '18446744073709551616', true, null, 1.5, 2 ** 53, '\u0661']) {
    assert.throws(() => tenure.parseToken(bad), tenure.TenureError, String(bad));
  }
});

test('a TTL the agent refuses is 400', needsAgents, async (t) => {
  const err = await client(0).acquire(leaseName(t), { ttl: '1h' }).then(() => assert.fail('granted'), (e) => e);
  assert.ok(err instanceof tenure.APIError && !(err instanceof tenure.LeaseHeld), String(err));
  assert.equal(err.status, 400);
  assert.match(err.agentMessage, /ttl/);
});

test('a missing bearer token is 401', needsBearer, async (t) => {
  const err = await new tenure.Client(AGENTS[0]).acquire(leaseName(t), { ttl: '1s' }).then(() => assert.fail('granted'), (e) => e);
  assert.ok(err instanceof tenure.APIError, String(err));
  assert.equal(err.status, 401);
  assert.equal(await client(0).holder(leaseName(t)), null, 'the refused call took nothing');
});
