'use strict';
// The benchmark's load generator: stock socket.io-client 4.8 over the websocket transport, so
// the client side is the same whichever server it measures. The orchestrator
// (bench/, in Python) drives it with one JSON command per line on stdin; it answers each with
// one JSON line {id, ok, ...} on stdout.
//
// Commands:
//   connect {url, clients: [{token, vaults: [id]}], concurrency, reconnect}
//       opens the sockets (at most `concurrency` handshakes in flight), then joins each vault;
//       answers the counts, failures and how long each phase took.
//   create {url, vaultId, token, count, intervalMs, concurrency, via}
//       source creations through REST (via "rest", the default) or as `source:create` with an
//       acknowledgement on one socket of the token's user (via "socket"): one every intervalMs
//       (open loop), or, with intervalMs 0, `concurrency` back-to-back callers; records each
//       call's start and end.
//   wait {expected, timeoutMs}       until every client holds `expected` events (or time is up)
//   stats {}                         what was received: per client, per event, latencies
//   reset {}                         forget what was received and the calls made
//   refuse {url, n, concurrency, token}   handshakes with a token the server must refuse
//   setTarget {target: {vaultId: seq}}   B6: from now on, note when each client is connected,
//       joined and has seen each of its vaults' `seq`
//   caughtUp {timeoutMs}             until every client is; answers the last moment one got there
//   close {}                         disconnects every client
// Times are wall-clock milliseconds with sub-millisecond precision; an event's latency is its
// receive time minus its `at`.

const readline = require('node:readline');
const { io } = require('socket.io-client');

const wall = () => performance.timeOrigin + performance.now();
const EVENT_TYPES = [
  'source:created', 'source:updated', 'source:deleted', 'vault:updated', 'vault:deleted',
  'member:added', 'member:updated', 'member:removed',
];

let clients = [];
let events = new Map(); // "vaultId:seq" or "f:seq" -> {n, at, first, last, sourceId}
let latencies = [];
let calls = [];
let target = null; // B6: {vaultId: seq}
let caughtUpWaiters = [];
const disconnects = {}; // reason -> count, since the start

function note(client, ev, live) {
  const t = wall();
  if (ev.type === 'bench:fanout') {
    client.received += 1;
  } else {
    const last = client.lastSeq.get(ev.vaultId) ?? 0;
    if (ev.seq <= last) {
      client.duplicates += 1;
      return;
    }
    if (ev.seq !== last + 1) client.gaps += 1;
    client.lastSeq.set(ev.vaultId, ev.seq);
    client.received += 1;
  }
  const key = ev.type === 'bench:fanout' ? `f:${ev.seq}` : `${ev.vaultId}:${ev.seq}`;
  let entry = events.get(key);
  if (!entry) { // the first copy of an event: parse its `at` once for every receiver
    entry = { n: 0, at: Date.parse(ev.at), first: t, last: t, sourceId: ev.source ? ev.source.id : null };
    events.set(key, entry);
  }
  entry.n += 1;
  if (t < entry.first) entry.first = t;
  if (t > entry.last) entry.last = t;
  if (live) latencies.push(t - entry.at);
  if (target) checkCaughtUp(client);
}

function makeClient(url, spec, reconnect) {
  const client = {
    token: spec.token,
    vaults: spec.vaults,
    lastSeq: new Map(),
    received: 0,
    duplicates: 0,
    gaps: 0,
    joined: false,
    caughtUpAt: null,
    reconnects: 0,
    everConnected: false,
    socket: null,
  };
  const socket = io(url, {
    transports: ['websocket'],
    auth: { token: spec.token },
    forceNew: true,
    reconnection: reconnect,
    reconnectionDelay: 500,
    reconnectionDelayMax: 2000,
    randomizationFactor: 0.5,
    timeout: 30000,
  });
  client.socket = socket;
  for (const type of [...EVENT_TYPES, 'bench:fanout']) socket.on(type, (ev) => note(client, ev, true));
  socket.on('disconnect', (reason) => count(disconnects, reason));
  if (reconnect) {
    socket.on('disconnect', (reason) => {
      client.joined = false;
      // A server that shuts down may say goodbye ("io server disconnect"), after which the
      // client does not reconnect by itself; come back after the same backoff as a drop.
      if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 250 + Math.random() * 500);
    });
    socket.on('connect', () => {
      if (client.everConnected) {
        client.reconnects += 1;
        rejoin(client);
      }
      client.everConnected = true;
    });
  }
  return client;
}

async function join(client, after) {
  for (const vaultId of client.vaults) {
    const payload = after && client.lastSeq.has(vaultId) ? { vaultId, after: client.lastSeq.get(vaultId) } : { vaultId };
    const ack = await client.socket.timeout(30000).emitWithAck('vault:join', payload);
    if (!ack || !ack.ok) throw new Error(`join refused: ${JSON.stringify(ack && ack.error)}`);
    if (!client.lastSeq.has(vaultId)) client.lastSeq.set(vaultId, ack.seq);
    for (const ev of ack.missed || []) note(client, { ...ev }, false);
  }
  client.joined = true;
  if (target) checkCaughtUp(client);
}

function rejoin(client) {
  join(client, true).catch((err) => process.stderr.write(`rejoin failed: ${err.message}\n`));
}

function checkCaughtUp(client) {
  if (client.caughtUpAt !== null || !client.joined || !client.socket.connected) return;
  for (const vaultId of client.vaults) {
    if ((client.lastSeq.get(vaultId) ?? 0) < (target[vaultId] ?? 0)) return;
  }
  client.caughtUpAt = wall();
  if (clients.every((c) => c.caughtUpAt !== null)) for (const wake of caughtUpWaiters.splice(0)) wake();
}

async function pool(items, concurrency, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(runners);
}

function count(map, key) {
  map[key] = (map[key] || 0) + 1;
}

async function connect({ url, clients: specs, concurrency = 100, reconnect = false }) {
  const made = [];
  const errors = {};
  const t0 = wall();
  await pool(specs, concurrency, (spec) => new Promise((resolve) => {
    const client = makeClient(url, spec, reconnect);
    const onConnect = () => {
      client.socket.off('connect_error', onError);
      made.push(client);
      resolve();
    };
    const onError = (err) => {
      client.socket.off('connect', onConnect);
      count(errors, err.message);
      client.socket.close();
      resolve();
    };
    client.socket.once('connect', onConnect);
    client.socket.once('connect_error', onError);
  }));
  const t1 = wall();
  let joinFailures = 0;
  await pool(made, concurrency, async (client) => {
    try {
      await join(client, false);
    } catch (err) {
      joinFailures += 1;
      count(errors, err.message);
    }
  });
  const t2 = wall();
  clients.push(...made);
  return {
    connected: made.length,
    failed: specs.length - made.length,
    joinFailures,
    errors,
    connectStart: t0,
    connectSeconds: (t1 - t0) / 1000,
    joinSeconds: (t2 - t1) / 1000,
  };
}

const PAYLOAD = (i) => ({
  title: `Benchmark source ${i}: a paper worth reading`,
  url: `https://example.org/papers/${i}`,
  annotation: 'Read it for the method section.',
  tags: ['bench', 'reading'],
});

async function createOne(url, vaultId, token, i) {
  const start = wall();
  let status = 0;
  let sourceId = null;
  try {
    const res = await fetch(`${url}/api/vaults/${vaultId}/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(PAYLOAD(i)),
    });
    status = res.status;
    const body = await res.json();
    sourceId = body.source ? body.source.id : null;
  } catch (err) {
    process.stderr.write(`create failed: ${err.message}\n`);
  }
  calls.push([sourceId, start, wall(), status]);
}

function socketCreateOne(socket, vaultId, i) {
  const start = wall();
  return new Promise((resolve) => {
    socket.timeout(30000).emit('source:create', { vaultId, ...PAYLOAD(i) }, (err, answer) => {
      const ok = !err && answer && answer.ok;
      if (!ok) process.stderr.write(`socket create failed: ${err ? err.message : JSON.stringify(answer)}\n`);
      // 201 as REST would answer, so that `failed` counts both the same way.
      calls.push([ok ? answer.source.id : null, start, wall(), ok ? 201 : 0]);
      resolve();
    });
  });
}

function writerSocket(url, token) {
  const socket = io(url, { transports: ['websocket'], auth: { token }, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

async function create({ url, vaultId, token, count: n, intervalMs = 0, concurrency = 1, via = 'rest' }) {
  let one = (k) => createOne(url, vaultId, token, k);
  let socket = null;
  if (via === 'socket') {
    socket = await writerSocket(url, token);
    one = (k) => socketCreateOne(socket, vaultId, k);
  }
  try {
    return await createCalls(one, n, intervalMs, concurrency);
  } finally {
    if (socket) socket.close();
  }
}

async function createCalls(one, n, intervalMs, concurrency) {
  const t0 = wall();
  if (intervalMs > 0) {
    const pending = [];
    for (let i = 0; i < n; i++) {
      const due = t0 + i * intervalMs;
      const wait = due - wall();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(one(i));
    }
    await Promise.all(pending);
  } else {
    let i = 0;
    await pool(Array.from({ length: n }, () => i++), concurrency, one);
  }
  return { calls: n, failed: calls.filter((c) => c[3] !== 201).length, seconds: (wall() - t0) / 1000 };
}

async function wait({ expected, timeoutMs = 30000 }) {
  const deadline = wall() + timeoutMs;
  const total = () => clients.reduce((sum, c) => sum + Math.min(c.received, expected), 0);
  while (total() < expected * clients.length && wall() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  return { complete: total() === expected * clients.length };
}

function stats() {
  return {
    clients: clients.map((c) => [c.received, c.duplicates, c.gaps, c.socket.connected ? 1 : 0]),
    events: [...events].map(([key, e]) => [key, e.n, e.at, e.first, e.last, e.sourceId]),
    latencies: latencies.map((x) => Math.round(x * 1000) / 1000),
    calls,
    disconnects,
  };
}

function reset() {
  events = new Map();
  latencies = [];
  calls = [];
  for (const c of clients) {
    c.received = 0;
    c.duplicates = 0;
    c.gaps = 0;
  }
  return {};
}

async function refuse({ url, n, concurrency = 10, token = 'not-a-valid-token' }) {
  const times = [];
  const messages = {};
  let accepted = 0;
  await pool(Array.from({ length: n }, (_, i) => i), concurrency, () => new Promise((resolve) => {
    const start = wall();
    const socket = io(url, { transports: ['websocket'], auth: { token }, forceNew: true, reconnection: false });
    socket.once('connect_error', (err) => {
      times.push(wall() - start);
      const code = err.data && err.data.code;
      count(messages, `${err.message}|${code}`);
      socket.close();
      resolve();
    });
    socket.once('connect', () => {
      accepted += 1;
      socket.close();
      resolve();
    });
  }));
  return { refused: times.length, accepted, messages, latencies: times.map((x) => Math.round(x * 1000) / 1000) };
}

function setTarget({ target: want }) {
  target = want;
  for (const c of clients) {
    c.caughtUpAt = null;
    checkCaughtUp(c);
  }
  return {};
}

async function caughtUp({ timeoutMs = 30000 }) {
  if (!clients.every((c) => c.caughtUpAt !== null)) {
    await new Promise((resolve) => {
      caughtUpWaiters.push(resolve);
      setTimeout(resolve, timeoutMs);
    });
  }
  const times = clients.map((c) => c.caughtUpAt);
  target = null;
  return {
    caughtUp: times.filter((t) => t !== null).length,
    total: clients.length,
    last: Math.max(...times.map((t) => t ?? 0)),
    reconnects: clients.reduce((sum, c) => sum + c.reconnects, 0),
  };
}

async function close() {
  for (const c of clients) c.socket.close();
  const n = clients.length;
  clients = [];
  reset();
  return { closed: n };
}

const COMMANDS = { connect, create, wait, stats, reset, refuse, setTarget, caughtUp, close };

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  let answer;
  try {
    answer = { id: msg.id, ok: true, ...(await COMMANDS[msg.cmd](msg.args || {})) };
  } catch (err) {
    answer = { id: msg.id, ok: false, error: String(err && err.stack ? err.stack : err) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
rl.on('close', () => process.exit(0));
