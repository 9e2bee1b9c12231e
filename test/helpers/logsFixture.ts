/** Call logs for tests: `count` entries spread over the last day, mostly SCIM calls. */
import type { FakeZoom } from '../../dev/fakes/zoomServer';

export function generateLogsFor(zoom: FakeZoom, appId: string, now: number, count: number): void {
  zoom.generateLogs(appId, { count, fromMs: now - 86_400_000, toMs: now - 60_000 });
}
