import { generateCertificateAuthority, issueServingCertificate } from '../self-signed.ts';

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
  const ca = await generateCertificateAuthority('ecr-warden-sim-ca');
  // A wildcard listen address is no name a client connects to.
  const names = [...new Set(['localhost', '127.0.0.1', '::1', host])].filter(
    (n) => n !== '0.0.0.0' && n !== '::',
  );
  const serving = await issueServingCertificate(ca, names);
  return { caPem: ca.cert, certPem: serving.cert, keyPem: serving.key };
}
