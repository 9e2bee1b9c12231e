/**
 * Every log line the application writes during the suite is also appended to a folder made
 * here; teardown.ts scans all of them for secrets once the suite has run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): void {
  process.env.ZOOMJWT_TEST_LOG_DIR = mkdtempSync(join(tmpdir(), 'zoomjwt-test-logs-'));
}
