/**
 * SIGTERM as `docker compose stop` sends it: the compiled app (ROLE=all) with a job stuck in a
 * Zoom call that never answers and a Slack request whose body never finishes arriving. Compose
 * sends SIGKILL after `stop_grace_period`; the app must be gone before that, exit 0, and close in
 * the right order: the HTTP server first (no new work), then the workers (running jobs get their
 * grace), then the queues, and Redis last.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { baseEnv } from '../helpers/env';
import { dropPrefix, uniquePrefix } from '../helpers/redis';
import { until } from '../helpers/polls';
import { harnessEnv, startFakes } from '../integration/approvals.harness';
import { spawnApp } from './appProcess';

jest.setTimeout(120_000);

/** The web service's `stop_grace_period` in docker-compose.yml, in ms. */
function composeGraceMs(): number {
  const compose = readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8');
  const periods = [...compose.matchAll(/stop_grace_period:\s*(\d+)s/g)].map((m) => Number(m[1]) * 1000);
  expect(periods.length).toBeGreaterThan(0);
  return Math.min(...periods);
}

test('SIGTERM with a stuck job and a half-sent request: exits 0 within the compose grace period, HTTP first and Redis last', async () => {
  const grace = composeGraceMs();
  const { zoom, slack } = await startFakes();
  const prefix = uniquePrefix('shutdown');
  let socket: Socket | undefined;
  try {
    // Every Zoom API call hangs: the first poll (its scheduler runs at start) stays in listApps.
    zoom.hangNext(1_000);
    const app = await spawnApp(
      baseEnv({
        ...harnessEnv(zoom, { REDIS_PREFIX: prefix, LOG_LEVEL: 'info', POLL_EVERY: '1h', ZOOM_APP_IDS: 'appStuck1' }),
        SLACK_API_URL: slack.apiUrl,
        ROLE: 'all',
      }),
    );
    try {
      await until(() => zoom.requests.length > 0, 'the poll job to be inside a Zoom call', { timeoutMs: 30_000, everyMs: 50 });
      // A client that announces a body and never sends it: an HTTP request in flight.
      const s = connect(app.port, '127.0.0.1');
      socket = s;
      s.on('error', () => undefined);
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      s.write('POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ncommand=');

      // As compose does it: SIGTERM, then SIGKILL once the grace period is over.
      const exit = await app.stop(grace);

      expect(exit).toBe(0);
      const steps = app.lines().filter((l) => l.msg === 'shutdown step done').map((l) => l.step);
      expect(steps).toEqual(['http', 'workers', 'queues', 'redis', 'slack-transport']);
      expect(app.lines().some((l) => l.msg === 'stopped')).toBe(true);
    } finally {
      await app.kill();
    }
  } finally {
    socket?.destroy();
    await slack.close();
    await zoom.close();
    await dropPrefix(prefix);
  }
});
