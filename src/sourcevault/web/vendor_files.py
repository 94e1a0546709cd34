"""The npm files the pages load, by the name they are served as under ``/vendor/``: (npm
package, path inside it, media type). Plain data with no imports, so that setup.py can read it
while building a wheel, before any dependency is installed."""

VENDOR_FILES: dict[str, tuple[str, str, str]] = {
    "socket.io.min.js": ("socket.io-client", "dist/socket.io.min.js", "text/javascript"),
    "socket.io.min.js.map": ("socket.io-client", "dist/socket.io.min.js.map", "application/json"),
    "preact-htm.js": ("htm", "preact/standalone.module.js", "text/javascript"),
}
