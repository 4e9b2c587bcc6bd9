// Faults in front of a real agent: a slow network (for the renew-once
// rule) and the 503 a stopping agent gives to calls that reach it while it
// shuts down (a window too short to hit on purpose).
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const FORWARDED = ['authorization', 'content-type', 'tenure-lease-key'];

/** The agent's answer to a keepalive or release once it is stopping. */
const STOPPING = { error: 'agent is stopping: it neither renews nor releases tenures any more; act only until your last deadline' };

/**
 * Starts an HTTP proxy to upstream that holds back the answer to the first
 * acquire (a POST that is not a keepalive) by delayMs, as a slow network
 * would, and, once its stopping is set, answers keepalives and releases
 * itself with the 503 of a stopping agent. Resolves with
 * { url, requests, stopping, close }; requests lists [method, path] of
 * every call.
 */
export async function faultyProxy(upstream, delayMs = 0) {
  const proxy = { requests: [], stopping: false };
  let delayed = false;
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    proxy.requests.push([req.method, req.url]);
    if (proxy.stopping && (req.method === 'DELETE' || req.url.endsWith('/keepalive'))) {
      const body = JSON.stringify(STOPPING);
      res.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const hold = req.method === 'POST' && !req.url.endsWith('/keepalive') && !delayed;
    delayed ||= hold;
    const headers = {};
    for (const name of FORWARDED) if (req.headers[name]) headers[name] = req.headers[name];
    const up = await fetch(upstream.replace(/\/+$/, '') + req.url, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await up.arrayBuffer());
    if (hold) await sleep(delayMs); // the slow network this proxy stands for
    res.writeHead(up.status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 1;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  proxy.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return proxy;
}
