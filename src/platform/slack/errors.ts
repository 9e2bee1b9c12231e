/** What a failed Slack call says, for a log line: Slack's error code when it gave one, else the message. */
export function slackErrorText(err: unknown): string {
  const data = (err as { data?: { error?: string } }).data;
  return data?.error ?? (err as Error).message ?? 'unknown';
}
