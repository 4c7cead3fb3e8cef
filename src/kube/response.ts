import type { ResponseContext } from '@kubernetes/client-node';
import { WardenError } from '../errors.ts';

/**
 * A response body as text, decoded chunk by chunk as it arrives rather than collected into one
 * Buffer first, so no body-sized native buffer is allocated (and freed) per response. A body longer
 * than `maxBytes` is not read further (its stream is cancelled, which ends the request) and fails
 * with ERR_KUBE_API: one oversized answer must not take the process's memory with it.
 */
export async function readText(response: ResponseContext, maxBytes = Infinity): Promise<string> {
  const stream = response.body.stream();
  // Only a body made from bytes already in memory has no stream (client-node's SelfDecodingBody).
  if (!stream) return response.body.text();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += chunk.byteLength;
    // Leaving the loop cancels the stream.
    if (bytes > maxBytes)
      throw new WardenError('ERR_KUBE_API', `the apiserver's answer is larger than ${maxBytes} bytes`);
    text += decoder.decode(chunk, { stream: true });
  }
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
