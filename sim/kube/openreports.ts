import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { CrdJson } from './crd.ts';

/**
 * The OpenReports CRDs (openreports.io/v1alpha1 Report and ClusterReport) as the chart ships them:
 * charts/ecr-warden/files/crds holds the OpenReports project's published files unchanged, so the
 * simulator serves exactly the API a cluster with the chart's CRDs installed serves.
 */

export const OPENREPORTS_GROUP = 'openreports.io';
export const OPENREPORTS_VERSION = 'v1alpha1';

const CRD_DIR = new URL('../../charts/ecr-warden/files/crds/', import.meta.url);
const FILES = ['openreports.io_reports.yaml', 'openreports.io_clusterreports.yaml'];

let cached: readonly CrdJson[] | undefined;

/** Both CRDs, parsed once per process; each call returns fresh copies. */
export function openReportsCrds(): CrdJson[] {
  cached ??= FILES.flatMap((file) =>
    parseAllDocuments(readFileSync(new URL(file, CRD_DIR), 'utf8'))
      .map((doc) => doc.toJS() as CrdJson | null)
      .filter((doc): doc is CrdJson => doc !== null),
  );
  return structuredClone(cached) as CrdJson[];
}
