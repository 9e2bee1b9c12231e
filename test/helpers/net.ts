/** Loopback networking for tests: free ports, and the HTTP servers a test starts of its own. */
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/** A TCP port nobody listens on right now (the OS picks it), for servers a test starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `server` on a port the OS picks, on loopback only; resolves with its base URL. */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops `server` and resolves once its connections are gone. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
