// Server-sent events from a fetch body, after the WHATWG event-stream format: lines end in \n, \r\n or \r;
// `event:` names the event, `data:` lines are joined with \n, a blank line dispatches, `:` lines are comments.
// Only fetch's ReadableStream and TextDecoder: runs in browsers, Node and Workers.

export interface SseMessage {
  event: string; // 'message' when the server named none
  data: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let event = '';
  let data: string[] = [];
  let finished = false;
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', cancel);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      finished = done;
      buf += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A trailing \r may be the first half of \r\n: keep it until the next chunk (or the end).
      let m: RegExpExecArray | null;
      const line = done ? /\r\n|\n|\r/g : /\r\n|\n|\r(?!$)/g;
      let start = 0;
      while ((m = line.exec(buf))) {
        const text = buf.slice(start, m.index);
        start = m.index + m[0].length;
        if (text === '') {
          if (data.length) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (text.startsWith(':')) continue;
        const colon = text.indexOf(':');
        const field = colon < 0 ? text : text.slice(0, colon);
        let value = colon < 0 ? '' : text.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      buf = buf.slice(start);
      if (done) return; // an event without its closing blank line is dropped, as the format says
    }
  } finally {
    signal?.removeEventListener('abort', cancel);
    if (!finished) cancel(); // the consumer stopped early: close the connection
  }
}
