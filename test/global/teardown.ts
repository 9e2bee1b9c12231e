/**
 * The secrets check over the whole suite: no configured secret, no Zoom access token and no
 * Basic credential may appear in any log line any test produced. Fails the run if one does.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_SECRETS } from '../helpers/env';

/** Fake Zoom access tokens look like `eyJ` + 40 url-safe base64 characters. */
const ZOOM_TOKEN = /eyJ[A-Za-z0-9_-]{40}/;
const BASIC = /Basic [A-Za-z0-9+/=]{12,}/;

export default function teardown(): void {
  const dir = process.env.ZOOMJWT_TEST_LOG_DIR;
  if (!dir) return;
  let lines = 0;
  const leaks: string[] = [];
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      lines += 1;
      for (const [name, secret] of Object.entries(TEST_SECRETS)) {
        if (line.includes(secret)) leaks.push(`${name} in ${file}: ${line.slice(0, 200)}`);
      }
      if (ZOOM_TOKEN.test(line)) leaks.push(`a Zoom access token in ${file}: ${line.slice(0, 200)}`);
      if (BASIC.test(line)) leaks.push(`a Basic credential in ${file}: ${line.slice(0, 200)}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (leaks.length) {
    throw new Error(`secrets found in ${leaks.length} of ${lines} log lines:\n${leaks.slice(0, 10).join('\n')}`);
  }
  process.stdout.write(`\nsecrets check: ${lines} log lines scanned, no secret found\n`);
}
