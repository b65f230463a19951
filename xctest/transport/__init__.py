"""Network adapters: websocket client (``ws``) and the HTTP/WebSocket server (``server``)."""
