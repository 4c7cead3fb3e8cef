import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

/**
 * A kubeconfig for the simulator that kubectl and client-node both load: one cluster (with the
 * CA that signed the simulator's certificate), one context (current, with a default namespace)
 * and one user with a bearer token the simulator accepts like any other.
 */

export const SIM_CONTEXT = 'ecr-warden-sim';

export interface KubeconfigOptions {
  server: string;
  namespace: string;
  token: string;
  /** The CA to trust for an https server; without it the server is plain http. */
  caPem?: string;
}

export function kubeconfigYaml(options: KubeconfigOptions): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: SIM_CONTEXT,
        cluster: options.caPem
          ? {
              server: options.server,
              'certificate-authority-data': Buffer.from(options.caPem).toString('base64'),
            }
          : // client-node 2.x only talks plain http to a cluster marked this way.
            { server: options.server, 'insecure-skip-tls-verify': true },
      },
    ],
    users: [{ name: SIM_CONTEXT, user: { token: options.token } }],
    contexts: [
      {
        name: SIM_CONTEXT,
        context: { cluster: SIM_CONTEXT, user: SIM_CONTEXT, namespace: options.namespace },
      },
    ],
    'current-context': SIM_CONTEXT,
    preferences: {},
  });
}

export function loadKubeConfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}
