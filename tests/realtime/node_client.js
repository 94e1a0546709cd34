// The stock socket.io-client 4.x under Node, driven by the Python tests: it connects with
// the options given as JSON in argv[2], optionally joins a vault and emits one event, and
// prints everything it sees as JSON lines on stdout.
const { io } = require("socket.io-client");

const opts = JSON.parse(process.argv[2]);
const out = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const socket = io(opts.url, {
  auth: opts.auth,
  extraHeaders: opts.cookie ? { Cookie: opts.cookie } : undefined,
  transports: opts.transports || ["polling", "websocket"],
  reconnection: false,
  timeout: 5000,
});

socket.on("connect_error", (err) => {
  out({ type: "connect_error", message: err.message, data: err.data });
  process.exit(0);
});

socket.onAny((name, data) => out({ type: "event", name, data }));

socket.on("connect", async () => {
  out({ type: "connected" });
  if (opts.join) {
    const ack = await socket.timeout(5000).emitWithAck("vault:join", { vaultId: opts.join });
    out({ type: "ack", event: "vault:join", ack });
  }
  if (opts.emit) {
    const ack = await socket.timeout(5000).emitWithAck(opts.emit.event, opts.emit.data);
    out({ type: "ack", event: opts.emit.event, ack });
  }
  out({ type: "ready" });
});

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
