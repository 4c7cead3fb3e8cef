import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { WardenError } from '../errors.ts';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The Kubernetes connection, as SPEC section 1 orders it: in-cluster, else KUBECONFIG or
 * ~/.kube/config (current context), else a clear error. client-node's loadFromDefault() would fall
 * back to http://localhost:8080 instead, which fails later with a confusing connection error.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    return kc;
  }
  const files = (env.KUBECONFIG ?? '').split(':').filter(Boolean);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  const existing = files.length ? files.filter((f) => existsSync(f)) : existsSync(home) ? [home] : [];
  if (!existing.length) {
    throw new WardenError(
      'ERR_KUBE_CONFIG',
      `no Kubernetes connection: not in a cluster, and ${files.length ? `KUBECONFIG (${files.join(':')})` : '~/.kube/config'} not found — try 'ecr-warden demo' for a simulated cluster`,
    );
  }
  try {
    if (existing.length === 1) kc.loadFromFile(existing[0]!);
    else kc.loadFromDefault({}, false);
  } catch (err) {
    throw new WardenError(
      'ERR_KUBE_CONFIG',
      `cannot load kubeconfig ${existing.join(':')}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new WardenError(
      'ERR_KUBE_CONFIG',
      `kubeconfig ${existing.join(':')} has no current context with a cluster`,
    );
  }
  return kc;
}
