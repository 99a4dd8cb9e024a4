/**
 * One webhook POST for the activities that notify (batch summaries, monitoring alerts): a network error or a
 * non-2xx answer throws an ApplicationFailure, so the activity's retry policy backs off and tries again; the
 * answer's body is discarded. The URL is never part of an error (webhook URLs often carry their token).
 */
import { ApplicationFailure } from '@temporalio/common';

export async function postWebhook(
  url: string,
  body: unknown,
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw ApplicationFailure.create({
      type: 'WebhookUnreachable',
      message: `webhook unreachable: ${(err as Error).message}`,
    });
  }
  await res.body?.cancel();
  if (!res.ok)
    throw ApplicationFailure.create({ type: 'WebhookRejected', message: `webhook answered ${res.status}` });
  return `delivered ${res.status}`;
}
