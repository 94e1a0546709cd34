"""The session cookie, by which a browser sends its session's secret: read by the REST
dependencies and by the Socket.IO handshake, set by the login route."""

COOKIE_NAME = "sourcevault_session"
