/** Log capture for tests: lines kept in memory and appended to the suite's secrets-check folder. */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

export function logSink(lines: string[] = []): { write(line: string): void; lines: string[] } {
  const dir = process.env.ZOOMJWT_TEST_LOG_DIR;
  const file = dir ? join(dir, `${process.pid}.jsonl`) : undefined;
  return {
    lines,
    write(line: string) {
      lines.push(line);
      if (!file) return;
      try {
        appendFileSync(file, line.endsWith('\n') ? line : `${line}\n`);
      } catch {
        // The folder is gone once the suite's teardown has scanned it; late lines have no reader.
      }
    },
  };
}
