import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { EcrApiError } from './errors.ts';

/** The AWS JSON 1.1 wire details ECR uses. */
export const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';
export const CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * The region a SigV4-signed request was signed for, from the Authorization header's credential scope
 * (`Credential=AKID/20250101/us-east-1/ecr/aws4_request`). One loopback endpoint serves every region,
 * so this is the only place the region can come from.
 */
export function regionFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/.exec(header);
  return match?.[1];
}

/** The access key a request was signed with: tells which credentials (an assumed role's, say) were used. */
export function accessKeyFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return /Credential=([^/,\s]+)\//.exec(header)?.[1];
}

/** The operation an `X-Amz-Target` header names, or undefined when it is not an ECR target. */
export function operationFromTarget(target: string | undefined): string | undefined {
  if (!target?.startsWith(TARGET_PREFIX)) return undefined;
  return target.slice(TARGET_PREFIX.length);
}

function send(res: ServerResponse, status: number, payload: string): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(payload);
}

export function sendResult(res: ServerResponse, result: unknown): void {
  send(res, 200, JSON.stringify(result));
}

/** An error as AWS JSON protocols send it: the name in `__type`, the text in `message`. */
export function sendError(res: ServerResponse, error: EcrApiError): void {
  send(res, error.status, JSON.stringify({ __type: error.type, message: error.message }));
}

/** A 200 whose body is cut off mid-document, as a truncated or corrupted response would arrive. */
export function sendMalformed(res: ServerResponse): void {
  send(res, 200, '{"imageDetails":[{"registryId":"');
}
