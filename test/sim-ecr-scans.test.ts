/**
 * Scans over simulated time, through the real SDK: a scan runs PENDING / IN_PROGRESS and ends COMPLETE
 * (or ACTIVE under enhanced scanning, or FAILED / UNSUPPORTED_IMAGE), enhanced scans expire out of
 * Inspector's re-scan window, and StartImageScan keeps ECR's limits. The test moves the clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  type ECRClient,
  ImageNotFoundException,
  LimitExceededException,
  StartImageScanCommand,
} from '@aws-sdk/client-ecr';
import type { EcrScenario, ScanKind, SimImage, SimRegistry, SimScanning } from '../sim/ecr/index.ts';
import { ACCOUNT, DAY, ecrFailure, NOW, REGION, scanned, simFor } from './helpers/ecr.ts';

const MINUTE = 60_000;
const at = (ms: number): Date => new Date(NOW + ms);
const ref = { registryId: ACCOUNT, region: REGION, repository: 'shop/api' };

function scenario(images: SimImage[], extra: Partial<SimRegistry> = {}): EcrScenario {
  return {
    callerAccount: ACCOUNT,
    registries: [
      { accountId: ACCOUNT, region: REGION, ...extra, repositories: [{ name: 'shop/api', images }] },
    ],
  };
}

/** What DescribeImageScanFindings says of `shop/api:v1` now: status and severity counts. */
async function findingsOf(api: ECRClient, tag = 'v1'): Promise<[string | undefined, unknown]> {
  const out = await api.send(
    new DescribeImageScanFindingsCommand({ repositoryName: 'shop/api', imageId: { imageTag: tag } }),
  );
  return [out.imageScanStatus?.status, out.imageScanFindings?.findingSeverityCounts];
}

describe('simulated ECR: a scan runs over simulated time', () => {
  const timelines: { kind: ScanKind; steps: [number, string, unknown][] }[] = [
    {
      kind: 'native-basic',
      steps: [
        [0, 'PENDING', undefined],
        [2 * MINUTE, 'IN_PROGRESS', undefined],
        [5 * MINUTE, 'COMPLETE', { CRITICAL: 2 }],
        [30 * DAY, 'COMPLETE', { CRITICAL: 2 }],
      ],
    },
    {
      kind: 'legacy-basic',
      steps: [
        [MINUTE + 1, 'IN_PROGRESS', undefined],
        [5 * MINUTE, 'COMPLETE', { CRITICAL: 2 }],
      ],
    },
    {
      kind: 'enhanced',
      steps: [
        [0, 'PENDING', undefined],
        [4 * MINUTE, 'PENDING', undefined],
        [5 * MINUTE, 'ACTIVE', { CRITICAL: 2 }],
      ],
    },
  ];
  for (const row of timelines) {
    it(`moves a scan (${row.kind}) from queued to finished as the clock advances`, async (t) => {
      const scan = {
        ...scanned({ CRITICAL: 2 }, row.kind),
        startedAt: at(0),
        durationMs: 5 * MINUTE,
        pendingMs: MINUTE,
      };
      const { client, clock } = await simFor(t, scenario([{ tags: ['v1'], pushedAt: at(0), scan }]));
      const api = client();
      for (const [ms, status, counts] of row.steps) {
        clock.now = at(ms);
        assert.deepEqual(await findingsOf(api), [status, counts], `${row.kind} at +${ms / MINUTE} min`);
      }
      const done = await api.send(
        new DescribeImageScanFindingsCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'v1' } }),
      );
      assert.deepEqual(done.imageScanFindings?.imageScanCompletedAt, at(5 * MINUTE));
    });
  }

  it('shows a legacy scan running and then finished in DescribeImages too', async (t) => {
    const scan = { ...scanned({ HIGH: 1 }, 'legacy-basic'), durationMs: 10 * MINUTE };
    const { client, clock } = await simFor(t, scenario([{ tags: ['v1'], pushedAt: at(0), scan }]));
    const detail = async () =>
      (
        await client().send(
          new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] }),
        )
      ).imageDetails![0]!;
    const running = await detail();
    assert.equal(running.imageScanStatus?.status, 'IN_PROGRESS');
    assert.equal(running.imageScanFindingsSummary, undefined);
    clock.now = at(10 * MINUTE);
    const finished = await detail();
    assert.equal(finished.imageScanStatus?.status, 'COMPLETE');
    assert.deepEqual(finished.imageScanFindingsSummary?.findingSeverityCounts, { HIGH: 1 });
  });

  it('keeps a scan the scenario fixes at a status there, however far the clock moves', async (t) => {
    const { client, clock } = await simFor(
      t,
      scenario([{ tags: ['v1'], pushedAt: at(0), scan: { kind: 'native-basic', status: 'IN_PROGRESS' } }]),
    );
    clock.now = at(400 * DAY);
    assert.deepEqual(await findingsOf(client()), ['IN_PROGRESS', undefined]);
  });
});

describe("simulated ECR: scanning as the registry's configuration says", () => {
  const basic: SimScanning = { kind: 'native-basic', scanDurationMs: 2 * MINUTE };
  const outcomes: { name: string; image: Partial<SimImage>; status: string; counts: unknown }[] = [
    {
      name: 'its findings',
      image: { vulnerabilities: { MEDIUM: 4 } },
      status: 'COMPLETE',
      counts: { MEDIUM: 4 },
    },
    { name: 'no findings', image: {}, status: 'COMPLETE', counts: {} },
    {
      name: 'UNSUPPORTED_IMAGE for a scratch image',
      image: { unscannable: 'UNSUPPORTED_IMAGE' },
      status: 'UNSUPPORTED_IMAGE',
      counts: undefined,
    },
    {
      name: 'FAILED for an image the scanner cannot read',
      image: { unscannable: 'FAILED' },
      status: 'FAILED',
      counts: undefined,
    },
  ];
  for (const row of outcomes) {
    it(`scans a pushed image on push and ends with ${row.name}`, async (t) => {
      const { sim, client, clock } = await simFor(t, scenario([], { scanning: basic }));
      sim.pushImage(ref, { tags: ['v1'], pushedAt: clock.now, ...row.image });
      assert.deepEqual(await findingsOf(client()), ['IN_PROGRESS', undefined]);
      clock.now = at(2 * MINUTE);
      assert.deepEqual(await findingsOf(client()), [row.status, row.counts]);
    });
  }

  it('scans only the repositories its filters name', async (t) => {
    const { sim, client, clock } = await simFor(
      t,
      scenario([], { scanning: { ...basic, repositoryFilters: ['prod-*'] } }),
    );
    sim.pushImage(ref, { tags: ['v1'], pushedAt: clock.now });
    sim.pushImage({ ...ref, repository: 'prod-api' }, { tags: ['v1'], pushedAt: clock.now });
    assert.equal(sim.image({ ...ref, tag: 'v1' })!.scan, undefined);
    assert.equal(sim.image({ ...ref, repository: 'prod-api', tag: 'v1' })!.scan?.status, 'IN_PROGRESS');
    const err = await ecrFailure(
      client().send(
        new DescribeImageScanFindingsCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'v1' } }),
      ),
    );
    assert.equal(err.name, 'ScanNotFoundException');
  });

  it("expires an enhanced scan out of Inspector's re-scan window, unless a pull renews it", async (t) => {
    const enhanced: SimScanning = {
      kind: 'enhanced',
      scanDurationMs: MINUTE,
      rescanDuration: { pushDays: 14, pullDays: 30 },
    };
    const { sim, client, clock } = await simFor(t, scenario([], { scanning: enhanced }));
    sim.pushImage(ref, { tags: ['v1', 'v2'], pushedAt: clock.now, vulnerabilities: { HIGH: 2 } });
    sim.pushImage(ref, { tags: ['v3'], pushedAt: clock.now, vulnerabilities: { LOW: 1 } });
    const api = client();
    clock.now = at(MINUTE);
    assert.deepEqual(await findingsOf(api), ['ACTIVE', { HIGH: 2 }]);
    clock.now = at(10 * DAY);
    await api.send(new BatchGetImageCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] }));
    const steps: [number, string, string, unknown][] = [
      [14 * DAY + MINUTE, 'v3', 'SCAN_ELIGIBILITY_EXPIRED', undefined],
      [14 * DAY + MINUTE, 'v1', 'ACTIVE', { HIGH: 2 }],
      [40 * DAY, 'v1', 'ACTIVE', { HIGH: 2 }],
      [40 * DAY + MINUTE, 'v1', 'SCAN_ELIGIBILITY_EXPIRED', undefined],
    ];
    for (const [ms, tag, status, counts] of steps) {
      clock.now = at(ms);
      assert.deepEqual(await findingsOf(api, tag), [status, counts], `${tag} at +${ms / DAY} days`);
    }
  });

  it('never expires an enhanced scan with a LIFETIME push window', async (t) => {
    const { sim, client, clock } = await simFor(
      t,
      scenario([], {
        scanning: { kind: 'enhanced', scanDurationMs: 0, rescanDuration: { pushDays: 'LIFETIME' } },
      }),
    );
    sim.pushImage(ref, { tags: ['v1'], pushedAt: clock.now, vulnerabilities: { LOW: 1 } });
    clock.now = at(1000 * DAY);
    assert.deepEqual(await findingsOf(client()), ['ACTIVE', { LOW: 1 }]);
  });
});

describe('simulated ECR: StartImageScan', () => {
  const manual: SimScanning = { kind: 'native-basic', scanOnPush: false, scanDurationMs: 3 * MINUTE };

  it('scans an image that scan on push left alone, then refuses a second scan within 24 hours', async (t) => {
    const { sim, client, clock } = await simFor(t, scenario([], { scanning: manual }));
    sim.pushImage(ref, { tags: ['v1'], pushedAt: clock.now, vulnerabilities: { CRITICAL: 1 } });
    const api = client();
    assert.equal((await ecrFailure(findingsOf(api))).name, 'ScanNotFoundException');

    clock.now = at(MINUTE);
    const started = await api.send(
      new StartImageScanCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'v1' } }),
    );
    assert.equal(started.imageScanStatus?.status, 'IN_PROGRESS');
    assert.deepEqual(started.imageId, {
      imageDigest: sim.image({ ...ref, tag: 'v1' })!.digest,
      imageTag: 'v1',
    });
    assert.equal(started.registryId, ACCOUNT);
    clock.now = at(4 * MINUTE);
    assert.deepEqual(await findingsOf(api), ['COMPLETE', { CRITICAL: 1 }]);

    clock.now = at(MINUTE + DAY - 1);
    const again = await ecrFailure(
      api.send(new StartImageScanCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'v1' } })),
    );
    assert.ok(again instanceof LimitExceededException);
    assert.equal(again.message, 'The scan quota per image has been exceeded. Wait and try again.');
    clock.now = at(MINUTE + DAY);
    const rescan = await api.send(
      new StartImageScanCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'v1' } }),
    );
    assert.equal(rescan.imageScanStatus?.status, 'IN_PROGRESS');
  });

  it('counts the scan on push within the 24 hours', async (t) => {
    const { sim, client, clock } = await simFor(t, scenario([], { scanning: { kind: 'native-basic' } }));
    sim.pushImage(ref, { tags: ['v1'], pushedAt: clock.now });
    clock.now = at(2 * 3_600_000);
    const err = await ecrFailure(
      client().send(new StartImageScanCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'v1' } })),
    );
    assert.equal(err.name, 'LimitExceededException');
  });

  const refusals: { name: string; image: SimImage; scanning?: SimScanning; tag: string; type: string }[] = [
    {
      name: 'a missing image',
      image: { tags: ['v1'], pushedAt: at(0) },
      tag: 'nope',
      type: 'ImageNotFoundException',
    },
    {
      name: 'an archived image',
      image: { tags: ['v1'], pushedAt: at(-DAY), imageStatus: 'ARCHIVED' },
      tag: 'v1',
      type: 'ImageArchivedException',
    },
    {
      name: 'an image under enhanced scanning',
      image: { tags: ['v1'], pushedAt: at(-30 * DAY) },
      scanning: { kind: 'enhanced' },
      tag: 'v1',
      type: 'ValidationException',
    },
  ];
  for (const row of refusals) {
    it(`answers StartImageScan on ${row.name} with ${row.type}`, async (t) => {
      const { client } = await simFor(
        t,
        scenario([row.image], row.scanning ? { scanning: row.scanning } : {}),
      );
      const err = await ecrFailure(
        client().send(
          new StartImageScanCommand({ repositoryName: 'shop/api', imageId: { imageTag: row.tag } }),
        ),
      );
      assert.equal(err.name, row.type);
      assert.equal(err.$metadata.httpStatusCode, 400);
      if (row.type === 'ImageNotFoundException') assert.ok(err instanceof ImageNotFoundException);
    });
  }

  it('rescans an image whose scenario scan finished long ago, finding what that scan found', async (t) => {
    const { client, clock } = await simFor(
      t,
      scenario([{ tags: ['v1'], pushedAt: at(-90 * DAY), scan: scanned({ HIGH: 5 }) }]),
    );
    const api = client();
    await api.send(new StartImageScanCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'v1' } }));
    assert.deepEqual(await findingsOf(api), ['IN_PROGRESS', undefined]);
    clock.now = at(MINUTE);
    assert.deepEqual(await findingsOf(api), ['COMPLETE', { HIGH: 5 }]);
  });
});
