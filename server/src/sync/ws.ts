/**
 * Re-export of the `ws` package as the server resolves it, so code outside server/ (tests,
 * benchmarks) uses the same WebSocket implementation without depending on it directly.
 */
export { WebSocket, WebSocketServer } from 'ws';
