// graphql-sse's "distinct connections" protocol, read with fetch: one POST per subscription,
// answered with a text/event-stream of `next` events (each an ExecutionResult) and one
// `complete`. fetch (unlike EventSource) can send the API key in the Authorization header.

/**
 * The server refused the operation: an HTTP status before the stream started (401 for a bad
 * key, 400 for a bad operation), or GraphQL errors in the stream (status 200). Retrying the same
 * request would be refused again.
 */
export class Refusal extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The message of a GraphQL error body, else the status text. */
export async function errorMessage(res) {
  try {
    const body = await res.json();
    return body.errors?.[0]?.message ?? body.error?.message ?? res.statusText;
  } catch {
    return res.statusText || `HTTP ${res.status}`;
  }
}

/**
 * Streams one subscription until the server completes it ('complete'), the connection ends
 * without completing ('ended': resubscribe), or `signal` aborts (an AbortError is thrown).
 * onNext gets each result's data; a result with errors throws them.
 */
export async function streamOnce({ key, query, variables, signal, onNext }) {
  const res = await fetch('/graphql/stream', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  if (!res.ok || !res.body) throw new Refusal(res.status, await errorMessage(res));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return 'ended';
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue; // a keep-alive comment
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = val;
        else if (field === 'data') data.push(val);
      }
      if (event === 'complete') {
        await reader.cancel();
        return 'complete';
      }
      if (event === 'next' && data.length) {
        const result = JSON.parse(data.join('\n'));
        if (result.errors?.length) {
          throw new Refusal(200, result.errors.map((e) => e.message).join('; '));
        }
        onNext(result.data);
      }
    }
  }
}

/**
 * Keeps a subscription alive: resubscribes after a dropped connection (variables() is asked
 * again, so a stream can resume after what it has seen), stops on completion, on abort, or on
 * a refusal (a bad key does not get better by retrying). onState reports
 * 'live' | 'reconnecting' | 'done' | an Error.
 */
export async function subscribe({ key, query, variables, signal, onNext, onState }) {
  let delay = 500;
  while (!signal.aborted) {
    try {
      onState('live');
      const how = await streamOnce({ key, query, variables: variables(), signal, onNext });
      if (how === 'complete') {
        onState('done');
        return;
      }
      delay = 500;
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof Refusal) {
        onState(err);
        return;
      }
      onState('reconnecting');
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}
