/**
 * A fake Slack Socket Mode endpoint on loopback: the WebSocket that `apps.connections.open`
 * points the app at (see `setSocketModeUrl` on the fake Slack). It greets each connection with
 * `hello`, as Slack does, and sends envelopes (slash commands, interactivity, events) that the
 * app acknowledges with `{ envelope_id, payload }`.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface Ack {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface FakeSocketMode {
  url: string;
  /** Resolves once the app has a connection open and greeted. */
  connected(timeoutMs?: number): Promise<void>;
  /** Sends an envelope and resolves with the app's ack (or undefined when none came in time). */
  send(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>, timeoutMs?: number): Promise<Ack | undefined>;
  close(): Promise<void>;
}

export async function startFakeSocketMode(): Promise<FakeSocketMode> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  let socket: WebSocket | undefined;
  const waiting = new Map<string, (ack: Ack) => void>();
  const onConnect: Array<() => void> = [];

  server.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => {
      const ack = JSON.parse(String(data)) as Ack;
      waiting.get(ack.envelope_id)?.(ack);
      waiting.delete(ack.envelope_id);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake', build_number: 1, approximate_connection_time: 18060 }, connection_info: { app_id: 'A0ZOOMJWT' } }));
    onConnect.splice(0).forEach((f) => f());
  });

  return {
    url: `ws://127.0.0.1:${port}/link`,
    connected: (timeoutMs = 10_000) =>
      socket
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('the app never opened its Socket Mode connection')), timeoutMs);
            onConnect.push(() => {
              clearTimeout(t);
              resolve();
            });
          }),
    send: (type, payload, timeoutMs = 5_000) =>
      new Promise((resolve) => {
        if (!socket) throw new Error('no Socket Mode connection');
        const envelopeId = randomUUID();
        const t = setTimeout(() => {
          waiting.delete(envelopeId);
          resolve(undefined);
        }, timeoutMs);
        waiting.set(envelopeId, (ack) => {
          clearTimeout(t);
          resolve(ack);
        });
        socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api' }));
      }),
    close: () =>
      new Promise((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
