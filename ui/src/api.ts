/**
 * The dashboard's client of the API: JSON reads and writes with the API key (kept in sessionStorage for this tab
 * only), problem+json errors as ApiError, and Server-Sent Events read with fetch (EventSource cannot send the key).
 */

const KEY = 'model-serving.api-key';

export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

/** A non-2xx answer: the status and the problem's detail (or the body's first line). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Called when the API refuses the key (401), so the page can ask for another. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

function headers(extra: Record<string, string> = {}, key = apiKey.get()): Record<string, string> {
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

async function failure(res: Response, path: string, storedKey = true): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { detail?: string; title?: string; error?: string };
    message = body.detail ?? body.error ?? body.title ?? message;
  } catch {
    if (text) message = text.split('\n')[0] ?? message;
  }
  if (res.status === 401 && storedKey) onUnauthorized();
  return new ApiError(res.status, path, message);
}

export async function getJson<T>(
  path: string,
  options: { signal?: AbortSignal; key?: string } = {},
): Promise<T> {
  const res = await fetch(path, {
    headers: headers({ accept: 'application/json' }, options.key ?? apiKey.get()),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!res.ok) throw await failure(res, path, options.key === undefined);
  return (await res.json()) as T;
}

export async function getText(path: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(path, { headers: headers(), ...(signal ? { signal } : {}) });
  if (!res.ok) throw await failure(res, path);
  return res.text();
}

export async function postJson<T>(
  path: string,
  body: unknown,
  extra: Record<string, string> = {},
): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json', accept: 'application/json', ...extra }),
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await failure(res, path);
  return (await res.json()) as T;
}

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Follows a Server-Sent Events endpoint until `signal` aborts, reconnecting after a drop (with Last-Event-ID,
 * after 1 s, growing to 10 s) as EventSource would.
 */
export async function followSse(
  path: string,
  onMessage: (message: SseMessage) => void,
  signal: AbortSignal,
  onState: (state: 'open' | 'closed') => void = () => {},
): Promise<void> {
  let lastId: string | undefined;
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const res = await fetch(path, {
        headers: headers({ accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }),
        signal,
      });
      if (!res.ok || !res.body) throw await failure(res, path);
      onState('open');
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
          const message = parseBlock(block);
          if (message.id !== undefined) lastId = message.id;
          if (message.data !== '' || message.event !== 'message') onMessage(message);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) return;
    }
    onState('closed');
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

function parseBlock(block: string): SseMessage {
  const message: SseMessage = { id: undefined, event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'event') message.event = value;
    else if (field === 'id') message.id = value;
  }
  message.data = data.join('\n');
  return message;
}
