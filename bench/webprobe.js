// The benchmark's page-side probe (bench/web.py adds it to each page with Playwright's
// add_init_script, so it runs before any of the page's own scripts). It changes nothing the app
// does: it wraps socket.io-client's `io` as the vendor script defines it, to see each message
// as it arrives, and watches the DOM with one MutationObserver. Times are performance.now()
// (milliseconds from the navigation's start) unless named `epoch`.
(() => {
  const probe = {
    marks: {}, // name -> the first time its watcher held, or an input's time
    watchers: new Map(), // name -> predicate, dropped once it held
    longTasks: [], // [start, end] of every task over 50 ms
    pending: new Map(), // source id -> {arrived, epoch, at}, until its row is in the DOM
    events: [], // [source id, arrived, in the DOM, next frame, commit-to-arrival (epoch ms)]
    errors: [],
  };
  window.__probe = probe;

  probe.watch = (name, predicate) => {
    probe.watchers.set(name, predicate);
    check();
  };
  probe.reset = () => {
    probe.pending.clear();
    probe.events = [];
  };

  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) probe.longTasks.push([e.startTime, e.startTime + e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (err) {
    probe.errors.push(`no longtask observer: ${err}`);
  }

  // A click's time is the input's own timestamp, taken before any handler of the page runs.
  document.addEventListener("click", (e) => {
    probe.marks[`click:${e.target.className || e.target.tagName}`] = e.timeStamp;
  }, true);

  function check() {
    const now = performance.now();
    for (const [name, predicate] of probe.watchers) {
      let held = false;
      try {
        held = predicate();
      } catch {
        held = false;
      }
      if (held) {
        probe.marks[name] = now;
        probe.watchers.delete(name);
      }
    }
    if (!probe.pending.size) return;
    for (const [id, seen] of probe.pending) {
      if (!document.querySelector(`li.source[data-id="${CSS.escape(id)}"]`)) continue;
      probe.pending.delete(id);
      const row = [id, seen.arrived, now, null, seen.commitToArrival];
      probe.events.push(row);
      requestAnimationFrame(() => {
        row[3] = performance.now();
      });
    }
  }
  // The observer's callback runs once the task that changed the DOM (the app's render) ends.
  new MutationObserver(check).observe(document, {
    childList: true,
    subtree: true,
    characterData: true,
    attributes: true,
  });

  // socket.io-client's script sets `io` on the global object: wrap the function it sets so
  // that every socket the app opens gets a listener first, ahead of the app's own.
  let io;
  Object.defineProperty(window, "io", {
    configurable: true,
    get: () => io,
    set(value) {
      io = typeof value !== "function" ? value : new Proxy(value, {
        apply(target, self, args) {
          const socket = Reflect.apply(target, self, args);
          socket.onAny((name, data) => {
            if (name !== "source:created" || !data || !data.source) return;
            const arrived = performance.now();
            const epoch = performance.timeOrigin + arrived;
            probe.pending.set(data.source.id, { arrived, commitToArrival: epoch - Date.parse(data.at) });
          });
          return socket;
        },
      });
    },
  });
})();
