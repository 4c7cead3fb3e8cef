import type { IncomingMessage } from 'node:http';
import { WardenError } from '../errors.ts';

/**
 * A response's body as text, decoded chunk by chunk as it arrives rather than collected into one
 * Buffer first, so no body-sized native buffer is allocated (and freed) per response. A body longer
 * than `maxBytes` is not read further (the response is destroyed, which ends the request) and fails
 * with ERR_KUBE_API: one oversized answer must not take the process's memory with it. An aborted
 * `signal` fails the read with its reason; a connection that closes before the body ends fails it
 * with ERR_KUBE_API.
 */
export function readBody(
  response: IncomingMessage,
  maxBytes = Infinity,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new TextDecoder();
    let text = '';
    let bytes = 0;
    let settled = false;
    const settle = (fail: Error | null): void => {
      if (settled) return;
      settled = true;
      response.off('data', onData);
      signal?.removeEventListener('abort', onAbort);
      if (fail) {
        response.destroy();
        reject(fail);
      } else resolve(text + decoder.decode());
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        settle(new WardenError('ERR_KUBE_API', `the apiserver's answer is larger than ${maxBytes} bytes`));
        return;
      }
      text += decoder.decode(chunk, { stream: true });
    };
    const onAbort = (): void => settle(signal!.reason as Error);
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    response.on('data', onData);
    response.once('end', () => settle(null));
    // Node reports a connection lost mid-body as an 'aborted' error, or only as a close.
    const cut = (cause?: Error): void =>
      settle(
        signal?.aborted
          ? (signal.reason as Error)
          : new WardenError('ERR_KUBE_API', 'the connection closed before the answer ended', { cause }),
      );
    response.once('error', cut);
    response.once('close', () => {
      if (!response.complete) cut();
    });
  });
}

/** A body as JSON when it is JSON (a Status, say), else as the text it is. */
export function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
