import { isIP } from 'node:net';
import { generate } from 'selfsigned';

/**
 * The simulator's serving certificate: a throwaway CA, and a certificate it signs for the
 * loopback names. The CA goes into the kubeconfig, so kubectl and client-node verify the server
 * as they would a real cluster's (client-node 2.x refuses plain http unless TLS checks are
 * switched off). Generated once per process and host, because key generation is the slow part.
 */

export interface ServingCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Long enough for any test run or demo session; the pair is never persisted. */
const VALIDITY_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

const cache = new Map<string, Promise<ServingCertificate>>();

export function servingCertificate(host: string): Promise<ServingCertificate> {
  let pending = cache.get(host);
  if (!pending) {
    pending = create(host);
    // A failed generation is not cached, so a later start can try again.
    pending.catch(() => cache.delete(host));
    cache.set(host, pending);
  }
  return pending;
}

async function create(host: string): Promise<ServingCertificate> {
  // Validity starts a minute back so a client clock slightly behind still accepts it.
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + VALIDITY_DAYS * DAY_MS);
  const common = { keyType: 'ec' as const, algorithm: 'sha256', notBeforeDate, notAfterDate };
  const ca = await generate([{ name: 'commonName', value: 'ecr-warden-sim-ca' }], {
    ...common,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const names = new Set(['localhost', '127.0.0.1', '::1', host]);
  const altNames = [...names]
    .filter((name) => name !== '0.0.0.0' && name !== '::')
    .map((name) => (isIP(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name }));
  const serving = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    ...common,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { caPem: ca.cert, certPem: serving.cert, keyPem: serving.private };
}
