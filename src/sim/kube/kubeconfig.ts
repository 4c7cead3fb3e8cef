import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

/**
 * A kubeconfig for the simulator that kubectl and client-node both load: one cluster, one
 * context (current, with a default namespace) and one user with a bearer token the simulator
 * accepts like any other.
 */

export const SIM_CONTEXT = 'ecr-warden-sim';

export interface KubeconfigOptions {
  server: string;
  namespace: string;
  token: string;
}

export function kubeconfigYaml(options: KubeconfigOptions): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: SIM_CONTEXT, cluster: { server: options.server } }],
    users: [{ name: SIM_CONTEXT, user: { token: options.token } }],
    contexts: [{ name: SIM_CONTEXT, context: { cluster: SIM_CONTEXT, user: SIM_CONTEXT, namespace: options.namespace } }],
    'current-context': SIM_CONTEXT,
    preferences: {},
  });
}

export function loadKubeConfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}
