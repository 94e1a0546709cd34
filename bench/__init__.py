"""The benchmark harness: our server beside the stock Node Socket.IO server, in one run.

It lives beside the product, not in it: ``make bench`` runs it (``python -m bench`` from the
repository root, see ``__main__``), and the installed ``sourcevault`` package knows nothing of it.

Each scenario (B1-B8, see ``scenarios``) gets a fresh server of ours (``serve``: exactly
``sourcevault serve`` on a fresh migrated database, plus one loopback route that drives the
sustained fan-out) and a fresh reference server (``bench/reference-server.js``), B8 two of each
over Redis (``multi``), and the same
load generator drives both (``bench/loadgen.js``: the stock ``socket.io-client`` over the
websocket transport, in its own process). Servers run on one core, the generator and this
orchestrator on the other (``procs``). ``report`` prints the table, writes the JSON and draws
the latency distributions; ``runner`` ties it together.
"""
