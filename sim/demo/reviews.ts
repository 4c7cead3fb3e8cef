import { randomUUID } from 'node:crypto';
import { request } from 'node:https';

/** What the demo's webhook said about one sample Pod. */
export interface SampleAnswer {
  allowed: boolean;
  message: string | null;
  warnings: string[];
  patch: unknown[] | null;
}

function podReview(name: string, namespace: string, images: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'demo-user' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace },
        spec: { containers: Object.entries(images).map(([n, image]) => ({ name: n, image })) },
      },
      oldObject: null,
      dryRun: false,
    },
  });
}

/**
 * Sends a Pod's AdmissionReview to the demo's webhook over HTTPS (trusting the demo CA), as the
 * apiserver would, and returns its answer: the demo shows admission working, not just listening.
 */
export function sendSampleReview(
  webhookUrl: string,
  path: '/validate' | '/mutate',
  ca: string,
  pod: { name: string; namespace: string; images: Record<string, string> },
): Promise<SampleAnswer> {
  const body = podReview(pod.name, pod.namespace, pod.images);
  return new Promise((resolve, reject) => {
    const req = request(
      `${webhookUrl}${path}`,
      {
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          try {
            const review = JSON.parse(text) as {
              response?: {
                allowed?: boolean;
                status?: { message?: string };
                warnings?: string[];
                patch?: string;
              };
            };
            const r = review.response ?? {};
            resolve({
              allowed: r.allowed === true,
              message: r.status?.message ?? null,
              warnings: r.warnings ?? [],
              patch: r.patch
                ? (JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as unknown[])
                : null,
            });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
