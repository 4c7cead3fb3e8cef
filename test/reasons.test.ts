import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reasonOf } from '../src/ecr/reasons.ts';

/** The `outcome` label of ecr_requests_total and every unresolved image's reason come from here. */
const cases: [string, unknown, string][] = [
  ['a missing image', { name: 'ImageNotFoundException', $metadata: { httpStatusCode: 400 } }, 'not_found'],
  ['no scan yet (an answer, not a failed call)', { name: 'ScanNotFoundException' }, 'not_found'],
  ['a missing repository', { name: 'RepositoryNotFoundException' }, 'repository_not_found'],
  ['an IAM denial', { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }, 'access_denied'],
  ['no credentials at all', { name: 'CredentialsProviderError' }, 'access_denied'],
  ['a bare 403', { name: 'Whatever', $metadata: { httpStatusCode: 403 } }, 'access_denied'],
  ['throttling', { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }, 'throttled'],
  ['a bare 429', { name: 'Whatever', $metadata: { httpStatusCode: 429 } }, 'throttled'],
  ['a silent socket', { name: 'TimeoutError' }, 'timeout'],
  ['a server error', { name: 'ServerException', $metadata: { httpStatusCode: 500 } }, 'error'],
  ['something thrown that is not an object', 'boom', 'error'],
  ['null', null, 'error'],
];

describe('reasonOf', () => {
  for (const [name, err, reason] of cases) {
    it(`reads ${name} as ${reason}`, () => assert.equal(reasonOf(err), reason));
  }
});
