import { isIP } from 'node:net';
import { generate } from 'selfsigned';

/**
 * Throwaway certificates for the webhook where no cert-manager or chart issues them: `ecr-warden
 * demo`, tests and benchmarks. A CA, as the apiserver's `caBundle` would hold, and serving
 * certificates it signs. EC P-256 keys: generated in milliseconds, where RSA takes a second each.
 */
export interface PemPair {
  cert: string;
  key: string;
}

/** Short-lived on purpose: these certificates are for one run, never for a cluster. */
const VALIDITY_MS = 7 * 24 * 3_600_000;

/** Validity starts a minute back, so a client whose clock is slightly behind still accepts it. */
function validFrom(): Date {
  return new Date(Date.now() - 60_000);
}

export async function generateCertificateAuthority(commonName = 'ecr-warden test CA'): Promise<PemPair> {
  const now = validFrom();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + VALIDITY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A serving certificate for `hosts` (DNS names and IP addresses), signed by `ca`. */
export async function issueServingCertificate(
  ca: PemPair,
  hosts: readonly string[] = ['localhost', '127.0.0.1', '::1'],
): Promise<PemPair> {
  const now = validFrom();
  const pems = await generate([{ name: 'commonName', value: hosts[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + VALIDITY_MS),
    ca: { cert: ca.cert, key: ca.key },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: hosts.map((host) =>
          isIP(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host },
        ),
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
