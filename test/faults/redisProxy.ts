/**
 * A TCP proxy in front of the test Redis that can freeze a connection at an exact command: once a
 * client sends bytes containing a pattern (a request id, a dedupe key…), that chunk and everything
 * after it on that connection are dropped, so Redis never runs the command. A process stuck there
 * is between the command before and this one, which is where a crash test wants to kill it.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RedisProxy {
  /** `redis://127.0.0.1:PORT` — the REDIS_URL for the process under test. */
  url: string;
  /** Freezes the first connection that sends `pattern`; resolves once that happened. */
  freezeOn(pattern: string): Promise<void>;
  close(): Promise<void>;
}

export async function startRedisProxy(target = { host: '127.0.0.1', port: 6379 }): Promise<RedisProxy> {
  let trigger: { pattern: Buffer; fired: () => void } | undefined;
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    let frozen = false;
    // The last bytes of the previous chunk: a pattern may straddle two chunks. Its first part has
    // then gone through, but Redis does not run a command it has only part of.
    let tail = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (frozen) return;
      if (trigger) {
        const window = Buffer.concat([tail, chunk]);
        if (window.includes(trigger.pattern)) {
          frozen = true;
          const fired = trigger.fired;
          trigger = undefined;
          fired();
          return;
        }
        tail = window.subarray(Math.max(0, window.length - trigger.pattern.length));
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!client.destroyed) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `redis://127.0.0.1:${port}`,
    freezeOn(pattern) {
      if (trigger) throw new Error('redis proxy: a freeze is already armed');
      return new Promise<void>((resolve) => {
        trigger = { pattern: Buffer.from(pattern), fired: resolve };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
