import type { IncomingMessage } from 'node:http';
import { ApiException } from '@kubernetes/client-node';
import { WardenError } from '../errors.ts';
import type { ApiAnswer } from './kept-connection.ts';

/**
 * Feeds a response's body, chunk by chunk as it arrives, to `onChunk` until it ends (resolves). It
 * rejects, the response destroyed (which ends the request), when `onChunk` throws (with what it
 * threw), when `signal` aborts (with its reason), or when the connection closes before the body ends
 * (ERR_KUBE_API; Node reports that as an 'aborted' error, or only as a close).
 */
export function readChunks(
  response: IncomingMessage,
  signal: AbortSignal | undefined,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fail: unknown): void => {
      if (settled) return;
      settled = true;
      response.off('data', onData);
      signal?.removeEventListener('abort', onAbort);
      if (fail === null) {
        resolve();
        return;
      }
      response.destroy();
      reject(fail);
    };
    const onData = (chunk: Buffer): void => {
      try {
        onChunk(chunk);
      } catch (err) {
        settle(err);
      }
    };
    const onAbort = (): void => settle(signal!.reason);
    const cut = (cause?: Error): void =>
      settle(
        signal?.aborted
          ? signal.reason
          : new WardenError('ERR_KUBE_API', 'the connection closed before the answer ended', { cause }),
      );
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    response.on('data', onData);
    response.once('end', () => settle(null));
    response.once('error', cut);
    response.once('close', () => {
      if (!response.complete) cut();
    });
  });
}

/**
 * A response's body as text, decoded chunk by chunk as it arrives rather than collected into one
 * Buffer first, so no body-sized native buffer is allocated (and freed) per response. A body longer
 * than `maxBytes` is not read further and fails with ERR_KUBE_API: one oversized answer must not take
 * the process's memory with it. It fails as readChunks does otherwise.
 */
export async function readBody(
  response: IncomingMessage,
  maxBytes = Infinity,
  signal?: AbortSignal,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  await readChunks(response, signal, (chunk) => {
    bytes += chunk.length;
    if (bytes > maxBytes)
      throw new WardenError('ERR_KUBE_API', `the apiserver's answer is larger than ${maxBytes} bytes`);
    text += decoder.decode(chunk, { stream: true });
  });
  return text + decoder.decode();
}

/** A body as JSON when it is JSON (a Status, say), else as the text it is. */
export function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Response headers as ApiException carries them: one string per name. */
export function headersOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * An answer the apiserver refused, as the error client-node's API classes throw (`code`, `body`
 * parsed when it is JSON, `headers`), so callers read failures as before.
 */
export function refusal(answer: ApiAnswer, message: string): ApiException<unknown> {
  return new ApiException(answer.status, message, parseOrText(answer.text), headersOf(answer.headers));
}
