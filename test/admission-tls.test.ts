import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { connect } from 'node:tls';
import { startWebhookServer } from '../src/admission/index.ts';
import { generateCertificateAuthority, issueServingCertificate } from '../sim/self-signed.ts';
import { buildCore } from '../src/app.ts';
import { silentLogger } from '../src/log.ts';
import { SIMULATOR_CREDENTIALS, startEcrSimulator } from '../sim/ecr/index.ts';
import {
  admissionScenario,
  IMAGES,
  reviewOf,
  servedFingerprint,
  startWebhookFixture,
  testConfig,
  WebhookClient,
  writeSecretVolume,
} from './helpers/reviews.ts';

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/**
 * The TLS version negotiated by a client allowing only `min`…`max`, or the handshake error's code.
 * Security level 0 lets the client offer TLS 1.0 and 1.1 at all (OpenSSL 3 refuses to by default), so
 * a refusal is the server's.
 */
function negotiate(
  port: number,
  ca: string,
  min: 'TLSv1' | 'TLSv1.2',
  max: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3',
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca,
      servername: 'localhost',
      minVersion: min,
      maxVersion: max,
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol() ?? 'unknown');
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

describe('the webhook over TLS', () => {
  test('speaks TLS 1.2 and 1.3 and nothing older', async () => {
    const f = await startWebhookFixture();
    try {
      const { port } = f.server.address;
      assert.equal(await negotiate(port, f.certs.ca.cert, 'TLSv1.2', 'TLSv1.3'), 'TLSv1.3');
      assert.equal(await negotiate(port, f.certs.ca.cert, 'TLSv1.2', 'TLSv1.2'), 'TLSv1.2');
      assert.equal(
        await negotiate(port, f.certs.ca.cert, 'TLSv1', 'TLSv1.1'),
        'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      );
    } finally {
      await f.close();
    }
  });

  test('serves a certificate rotated on disk without a restart', async () => {
    const f = await startWebhookFixture();
    try {
      const { port } = f.server.address;
      assert.equal(await servedFingerprint(port, f.certs.ca.cert), fingerprintOf(f.certs.serving.cert));
      const renewed = await issueServingCertificate(f.certs.ca);
      const loaded = once(f.server.certificates, 'loaded');
      await writeSecretVolume(f.certs.dir, renewed);
      const [info] = await loaded;
      assert.equal(info.fingerprint256, fingerprintOf(renewed.cert));
      assert.equal(await servedFingerprint(port, f.certs.ca.cert), fingerprintOf(renewed.cert));
      assert.equal(f.server.ready(), true);
      const { response } = await f.client.review('/validate', reviewOf('Pod', [IMAGES.clean]));
      assert.equal(response.allowed, true);
    } finally {
      await f.close();
    }
  });

  test('keeps serving the previous certificate when the new pair does not load', async () => {
    const f = await startWebhookFixture();
    try {
      const { port } = f.server.address;
      const one = await issueServingCertificate(f.certs.ca);
      const other = await issueServingCertificate(f.certs.ca);
      const rejected = once(f.server.certificates, 'rejected');
      await writeSecretVolume(f.certs.dir, { cert: one.cert, key: other.key });
      const [err] = await rejected;
      assert.equal(err.code, 'ERR_TLS');
      assert.equal(await servedFingerprint(port, f.certs.ca.cert), fingerprintOf(f.certs.serving.cert));
      assert.equal(f.server.ready(), true);
    } finally {
      await f.close();
    }
  });

  test('starts without a certificate, not ready, and becomes ready when the files appear', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ecr-warden-tls-'));
    const config = testConfig({
      webhook: {
        address: '127.0.0.1',
        port: 0,
        certFile: join(dir, 'tls.crt'),
        keyFile: join(dir, 'tls.key'),
      },
    });
    const sim = await startEcrSimulator({ scenario: admissionScenario() });
    const core = buildCore(config, {
      endpoint: sim.endpoint,
      credentials: SIMULATOR_CREDENTIALS,
      log: silentLogger,
    });
    const server = await startWebhookServer({
      config: config.webhook,
      policy: config.policy,
      assessor: core.assessor,
      log: silentLogger,
    });
    const ca = await generateCertificateAuthority();
    const client = new WebhookClient(server.address.port, ca.cert);
    try {
      assert.equal(server.ready(), false);
      await assert.rejects(client.review('/validate', reviewOf('Pod', [IMAGES.clean])));
      const loaded = once(server.certificates, 'loaded');
      await writeSecretVolume(dir, await issueServingCertificate(ca));
      await loaded;
      assert.equal(server.ready(), true);
      const { response } = await client.review('/validate', reviewOf('Pod', [IMAGES.clean]));
      assert.equal(response.allowed, true);
    } finally {
      client.close();
      await server.close();
      await sim.close();
      core.clients.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('slow clients', () => {
  test(
    'a connection that never finishes its request headers is closed by the server',
    {
      timeout: 30_000,
    },
    async () => {
      const f = await startWebhookFixture();
      try {
        const socket = connect({
          host: '127.0.0.1',
          port: f.server.address.port,
          ca: f.certs.ca.cert,
          servername: 'localhost',
        });
        await once(socket, 'secureConnect');
        socket.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n');
        const received: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        socket.on('error', () => {});
        await once(socket, 'close');
        const reply = Buffer.concat(received).toString('latin1');
        assert.ok(reply === '' || reply.startsWith('HTTP/1.1 408'), reply);
      } finally {
        await f.close();
      }
    },
  );
});

describe('closing the webhook (SIGTERM)', () => {
  test('answers the review in flight, then refuses new connections', async () => {
    // ECR answers after a second: inside the 2 s deadline, so the review waits for it while close() runs.
    const f = await startWebhookFixture({ latencyMs: 1_000 });
    try {
      const asked = f.sim.waitForCall();
      const inFlight = f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
      await asked;
      const closed = f.server.close();
      assert.equal(f.server.ready(), false);
      const { status, response } = await inFlight;
      assert.equal(status, 200);
      assert.equal(response.allowed, false);
      assert.equal(
        response.status?.message,
        `container "c0" image ${IMAGES.critical}: 3 CRITICAL findings (max 0)`,
      );
      await closed;
      const fresh = new WebhookClient(f.server.address.port, f.certs.ca.cert);
      await assert.rejects(fresh.review('/validate', reviewOf('Pod', [IMAGES.clean])), {
        code: 'ECONNREFUSED',
      });
      fresh.close();
    } finally {
      await f.close();
    }
  });
});
