"""The Socket.IO server, connect auth, rooms, handlers and the broadcaster."""
