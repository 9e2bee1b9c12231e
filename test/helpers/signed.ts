/**
 * Signed POSTs to the app's Slack endpoint with the test signing secret, for bodies of any type:
 * Events API JSON, interactions, and the malformed bodies the guard must refuse. Slash commands
 * and clicks as Slack sends them go through `postSigned` of the fakes (`Booted.command`/`click`).
 */
import { jsonOrUndefined, postSigned, sign, type PostResult } from '../../dev/fakes/signing';
import { TEST_SECRETS } from './env';

/** The headers Slack sends with `body`: its content type, the timestamp and the v0 signature over both. */
export function signedHeaders(body: string, contentType: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': sign(TEST_SECRETS.signingSecret, timestamp, body),
  };
}

/** POSTs `body` as `contentType`, signed; the answer's body is parsed as JSON whatever type it declares. */
export async function postSignedAs(url: string, body: string, contentType: string): Promise<PostResult> {
  const answer = await postSigned(url, body, { signingSecret: TEST_SECRETS.signingSecret, contentType });
  return { ...answer, json: jsonOrUndefined(answer.body) };
}
