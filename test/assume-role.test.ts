import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildCore, type Core } from '../src/app.ts';
import { silentLogger } from '../src/log.ts';
import { type EcrSimulator, SIMULATOR_CREDENTIALS, startEcrSimulator } from '../sim/ecr/index.ts';
import { type StsSimulator, startStsSimulator } from '../sim/sts.ts';
import { config, ref } from './helpers/ecr.ts';

const OWN = '123456789012';
const OTHER = '210987654321';
const ROLE = `arn:aws:iam::${OTHER}:role/ecr-warden-read`;

describe('ecr.assumeRoles', () => {
  let ecr: EcrSimulator;
  let sts: StsSimulator;
  let core: Core;

  before(async () => {
    const image = { tags: ['v1'], pushedAt: new Date('2026-11-01T00:00:00Z') };
    ecr = await startEcrSimulator({
      scenario: {
        callerAccount: OWN,
        registries: [
          { accountId: OWN, region: 'us-east-1', repositories: [{ name: 'api', images: [image] }] },
          { accountId: OTHER, region: 'us-east-1', repositories: [{ name: 'shared', images: [image] }] },
        ],
      },
    });
    sts = await startStsSimulator();
    core = buildCore(config({ ecr: { assumeRoles: { [OTHER]: ROLE } } }), {
      log: silentLogger,
      endpoint: ecr.endpoint,
      stsEndpoint: sts.endpoint,
      credentials: SIMULATOR_CREDENTIALS,
    });
  });
  after(async () => {
    core.clients.destroy();
    await Promise.all([ecr.close(), sts.close()]);
  });

  it("asks the other account's registry with the assumed role's credentials, and its own with the base ones", async () => {
    const [own, other] = await core.resolver.resolve([
      ref(`${OWN}.dkr.ecr.us-east-1.amazonaws.com/api:v1`),
      ref(`${OTHER}.dkr.ecr.us-east-1.amazonaws.com/shared:v1`),
    ]);
    assert.equal(own?.status, 'resolved');
    assert.equal(other?.status, 'resolved');
    assert.deepEqual(
      sts.calls().map((c) => [c.roleArn, c.callerAccessKeyId]),
      [[ROLE, SIMULATOR_CREDENTIALS.accessKeyId]],
    );
    const keyByRegistry = new Map(
      ecr.calls().map((c) => [(c.body as { registryId?: string }).registryId, c.accessKeyId]),
    );
    assert.equal(keyByRegistry.get(OWN), SIMULATOR_CREDENTIALS.accessKeyId);
    assert.equal(keyByRegistry.get(OTHER), sts.accessKeyFor(ROLE));
    // One client per (region, credentials): two here, for one region.
    assert.equal(core.clients.size, 2);
  });

  it('reuses the assumed credentials instead of calling STS per lookup', async () => {
    core.resolver.clear();
    await core.resolver.resolveOne(ref(`${OTHER}.dkr.ecr.us-east-1.amazonaws.com/shared:v1`));
    assert.equal(sts.calls().length, 1);
  });
});
