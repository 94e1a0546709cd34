'use strict';
// The reference the benchmark measures sourcevault against: the stock Node Socket.IO 4.8 server
// doing the same fan-out as ours, with no database (its state lives in memory).
//
//   node bench/reference-server.js --port 8100 [--state FILE] [--redis URL --redis-key PREFIX]
//
// With --redis (or REDIS_URL) it is one of several instances: the stock @socket.io/redis-adapter
// over the `redis` client, as the adapter's documentation sets it up, on a channel prefix of its
// own (--redis-key or REDIS_KEY; the adapter's default is "socket.io"). Nothing else is tuned.
//
// What it serves, in the same shapes as sourcevault's wire contract:
//   * Socket.IO on /socket.io, namespace "/": `auth: {token}` checked in the handshake (refused
//     with connect_error "UNAUTHORIZED" and data {code, message}); `vault:join {vaultId, after?}`
//     with the ack {ok, vaultId, role, seq, missed, hasMore} and `vault:joined`; `vault:leave`.
//   * POST /api/vaults/:id/sources (Bearer token, contributor or owner): makes the Source, writes
//     the Event to the vault's in-memory log and emits it to the room vault:{id}; 201 {source}.
//   * GET /healthz.
//   * POST /bench/seed {users: [{id, name, token}], vaults: [{id, name, members: [{userId, role}]}]}
//     adds users, tokens and vaults (the benchmark makes the same ones in sourcevault's database).
//   * POST /bench/fanout {vaultId, rate, count}: emits `count` events of the Event shape to the
//     vault's room at `rate` per second, the driver of the sustained fan-out scenario.
// With --state FILE it writes its users, vaults and event logs there on SIGTERM and reads them
// back at start, so a restart keeps what a database would keep.

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { Server } = require('socket.io');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const PORT = Number(args.port || 8100);
const HOST = args.host || '127.0.0.1';
const STATE = args.state || null;
const REDIS_URL = args.redis || process.env.REDIS_URL || null;
const REDIS_KEY = args['redis-key'] || process.env.REDIS_KEY || 'socket.io';
const MISSED_LIMIT = 500;

const users = new Map(); // id -> {id, name}
const tokens = new Map(); // token -> user id
const vaults = new Map(); // id -> {id, name, seq, members: Map(userId -> role), log: [Event]}

function newId() {
  return Date.now().toString(16).padStart(12, '0') + crypto.randomBytes(10).toString('hex');
}

function seed(body) {
  for (const u of body.users || []) {
    users.set(u.id, { id: u.id, name: u.name });
    tokens.set(u.token, u.id);
  }
  for (const v of body.vaults || []) {
    const vault = vaults.get(v.id) || { id: v.id, name: v.name, seq: 0, members: new Map(), log: [] };
    for (const m of v.members) vault.members.set(m.userId, m.role);
    vaults.set(v.id, vault);
  }
}

function save() {
  const data = {
    users: [...users.values()].map((u) => ({
      ...u,
      tokens: [...tokens].filter(([, id]) => id === u.id).map(([t]) => t),
    })),
    vaults: [...vaults.values()].map((v) => ({ ...v, members: [...v.members] })),
  };
  fs.writeFileSync(STATE, JSON.stringify(data));
}

function load() {
  const data = JSON.parse(fs.readFileSync(STATE, 'utf8'));
  for (const u of data.users) {
    users.set(u.id, { id: u.id, name: u.name });
    for (const t of u.tokens) tokens.set(t, u.id);
  }
  for (const v of data.vaults) vaults.set(v.id, { ...v, members: new Map(v.members) });
}

const error = (code, message) => ({ error: { code, message } });
const ROLE_RANK = { viewer: 1, contributor: 2, owner: 3 };

function reply(res, status, body) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readJson(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
  });
}

function bearer(req) {
  const header = req.headers.authorization || '';
  const userId = header.startsWith('Bearer ') ? tokens.get(header.slice(7)) : undefined;
  return userId === undefined ? undefined : users.get(userId);
}

const SOURCE_FIELDS = new Set(['title', 'url', 'annotation', 'tags']);

function validSource(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'body';
  for (const key of Object.keys(body)) if (!SOURCE_FIELDS.has(key)) return key;
  if (typeof body.title !== 'string' || !body.title.trim() || body.title.length > 500) return 'title';
  if (body.url != null && (typeof body.url !== 'string' || !/^https?:\/\/\S+$/i.test(body.url))) return 'url';
  if (body.annotation != null && (typeof body.annotation !== 'string' || body.annotation.length > 10000)) {
    return 'annotation';
  }
  const tags = body.tags ?? [];
  if (!Array.isArray(tags) || tags.length > 20 || tags.some((t) => typeof t !== 'string' || !t.trim() || t.length > 50)) {
    return 'tags';
  }
  return null;
}

// The one path every creation takes: the event is logged, then broadcast to the vault's room.
function createSource(user, vault, role, body) {
  const now = new Date().toISOString();
  const source = {
    id: newId(),
    vaultId: vault.id,
    title: body.title.trim(),
    url: body.url ?? null,
    annotation: body.annotation ?? null,
    tags: (body.tags ?? []).map((t) => t.trim()),
    version: 1,
    createdBy: { userId: user.id, userName: user.name },
    createdAt: now,
    updatedAt: now,
  };
  vault.seq += 1;
  const event = {
    seq: vault.seq,
    type: 'source:created',
    vaultId: vault.id,
    actor: { userId: user.id, userName: user.name, role },
    at: now,
    source,
  };
  vault.log.push(event);
  io.to(`vault:${vault.id}`).emit(event.type, event);
  return source;
}

function fanout(body, done) {
  const vault = vaults.get(body.vaultId);
  const count = Number(body.count);
  const rate = Number(body.rate);
  if (!vault || !(count > 0) || !(rate > 0)) return done(422, error('VALIDATION_ERROR', 'vaultId, rate, count'));
  const room = io.to(`vault:${vault.id}`);
  const template = {
    type: 'bench:fanout',
    vaultId: vault.id,
    actor: { userId: 'f'.repeat(32), userName: 'Benchmark Writer', role: 'owner' },
    source: {
      id: 'e'.repeat(32),
      vaultId: vault.id,
      title: 'A source of the benchmark, as long as a real title',
      url: 'https://example.org/papers/a-source-of-the-benchmark',
      annotation: 'Fan-out payload of the same shape as a source:created event.',
      tags: ['bench', 'fanout'],
      version: 1,
      createdBy: { userId: 'f'.repeat(32), userName: 'Benchmark Writer' },
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
  };
  const start = performance.now();
  let sent = 0;
  const tick = () => {
    const due = Math.min(count, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (sent < due) {
      sent += 1;
      room.emit('bench:fanout', { seq: sent, ...template, at: new Date().toISOString() });
    }
    if (sent < count) setTimeout(tick, 1);
    else done(200, { emitted: sent, seconds: (performance.now() - start) / 1000 });
  };
  tick();
}

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/healthz') return reply(res, 200, { status: 'ok' });
  if (req.method !== 'POST') return reply(res, 404, error('NOT_FOUND', 'Not found'));
  const body = await readJson(req);
  if (url.pathname === '/bench/seed') {
    seed(body || {});
    return reply(res, 200, { users: users.size, vaults: vaults.size });
  }
  if (url.pathname === '/bench/fanout') return fanout(body || {}, (status, out) => reply(res, status, out));
  const match = /^\/api\/vaults\/([^/]+)\/sources$/.exec(url.pathname);
  if (!match) return reply(res, 404, error('NOT_FOUND', 'Not found'));
  const user = bearer(req);
  if (!user) return reply(res, 401, error('UNAUTHORIZED', 'A valid session or token is required'));
  const vault = vaults.get(match[1]);
  const role = vault && vault.members.get(user.id);
  if (!role) return reply(res, 404, error('NOT_FOUND', 'Vault not found'));
  if (ROLE_RANK[role] < ROLE_RANK.contributor) {
    return reply(res, 403, error('INSUFFICIENT_PERMISSIONS', 'Insufficient permissions'));
  }
  const bad = validSource(body);
  if (bad) return reply(res, 422, { error: { code: 'VALIDATION_ERROR', message: 'Invalid input', details: [{ field: bad, message: 'invalid' }] } });
  return reply(res, 201, { source: createSource(user, vault, role, body) });
});

const io = new Server(httpServer, { transports: ['polling', 'websocket'], maxHttpBufferSize: 1024 * 1024 });

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  const userId = typeof token === 'string' ? tokens.get(token) : undefined;
  if (userId === undefined) {
    const err = new Error('UNAUTHORIZED');
    err.data = { code: 'UNAUTHORIZED', message: 'A valid session or token is required' };
    return next(err);
  }
  socket.data.user = users.get(userId);
  next();
});

io.on('connection', (socket) => {
  const user = socket.data.user;
  socket.join(`user:${user.id}`);
  socket.on('vault:join', (payload, ack) => {
    if (typeof ack !== 'function') return;
    const vaultId = payload && payload.vaultId;
    const after = payload && payload.after;
    if (typeof vaultId !== 'string' || (after != null && !(Number.isInteger(after) && after >= 0))) {
      return ack({ ok: false, error: { code: 'VALIDATION_ERROR', message: 'Invalid input', details: [] } });
    }
    const vault = vaults.get(vaultId);
    const role = vault && vault.members.get(user.id);
    if (!role) return ack({ ok: false, error: { code: 'ACCESS_DENIED', message: 'Access denied' } });
    socket.join(`vault:${vaultId}`);
    const missed = after == null ? [] : vault.log.slice(after, after + MISSED_LIMIT);
    const hasMore = after != null && vault.log.length > after + MISSED_LIMIT;
    socket.emit('vault:joined', { vaultId, role });
    ack({ ok: true, vaultId, role, seq: vault.seq, missed, hasMore });
  });
  socket.on('vault:leave', (payload, ack) => {
    if (payload && typeof payload.vaultId === 'string') socket.leave(`vault:${payload.vaultId}`);
    if (typeof ack === 'function') ack({ ok: true });
  });
});

if (STATE && fs.existsSync(STATE)) load();

process.on('SIGTERM', () => {
  if (STATE) save();
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

// Several instances: the adapter's own setup, a publisher and a duplicate as subscriber.
async function useRedis() {
  const { createAdapter } = require('@socket.io/redis-adapter');
  const { createClient } = require('redis');
  const pubClient = createClient({ url: REDIS_URL });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient, { key: REDIS_KEY }));
}

(REDIS_URL ? useRedis() : Promise.resolve()).then(() => {
  httpServer.listen(PORT, HOST, () => {
    process.stdout.write(`reference server on http://${HOST}:${PORT}${REDIS_URL ? ` (Redis, key ${REDIS_KEY})` : ''}\n`);
  });
});
