import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { generate } from 'selfsigned';
import { isWardenError } from '../src/errors.ts';
import { KeptConnection } from '../src/kube/kept-connection.ts';
import { PodWatcher, type WatchRestartReason } from '../src/kube/pod-watcher.ts';
import { type WatchEnd, watchStream } from '../src/kube/watch-stream.ts';
import { silentLogger } from '../src/log.ts';
import { VERSION } from '../src/version.ts';
import { generateCertificateAuthority, issueServingCertificate, type PemPair } from '../sim/self-signed.ts';

/**
 * The controller's own HTTP side of the Kubernetes API: KeptConnection (node:https with the
 * kubeconfig's TLS material and headers, one kept-alive pool) and the watch reader, against small
 * servers that misbehave on purpose.
 */

const b64 = (text: string) => Buffer.from(text).toString('base64');

function plainKubeConfig(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function clientCertificate(
  ca: PemPair,
  commonName = 'system:serviceaccount:ecr-warden:warden',
): Promise<PemPair> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: { cert: ca.cert, key: ca.key },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

describe('KeptConnection over HTTPS with the kubeconfig’s TLS material', () => {
  let server: ReturnType<typeof createHttpsServer>;
  let port: number;
  let handshakes = 0;
  let ca: PemPair;
  let client: PemPair;
  before(async () => {
    ca = await generateCertificateAuthority();
    const serving = await issueServingCertificate(ca);
    client = await clientCertificate(ca);
    // Like an apiserver with client-certificate authentication: no certificate, no answer.
    server = createHttpsServer(
      { ...serving, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ user: peer.subject?.CN, path: req.url, agent: req.headers['user-agent'] }));
      },
    );
    server.on('secureConnection', () => handshakes++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const kubeConfig = (withClientCertificate: boolean) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caData: b64(ca.cert) }],
      users: [
        withClientCertificate
          ? { name: 'u', certData: b64(client.cert), keyData: b64(client.key) }
          : { name: 'u', token: 'not-enough' },
      ],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };

  it('presents the kubeconfig’s client certificate, trusts its CA, and keeps one connection', async () => {
    const connection = new KeptConnection(kubeConfig(true));
    const before = handshakes;
    try {
      for (const path of ['/api/v1/pods', '/api/v1/pods?limit=1', '/apis']) {
        const answer = await connection.request({ method: 'GET', path });
        assert.equal(answer.status, 200);
        assert.deepEqual(JSON.parse(answer.text), {
          user: 'system:serviceaccount:ecr-warden:warden',
          path,
          agent: `ecr-warden/${VERSION}`,
        });
      }
      assert.equal(handshakes - before, 1, 'three requests, one TLS handshake');
      connection.reset();
      await connection.request({ method: 'GET', path: '/again' });
      assert.equal(handshakes - before, 2, 'a reset pool opens a new connection');
    } finally {
      connection.reset();
    }
  });

  it('builds a new connection when the kubeconfig’s client certificate changes (rotated, or from an exec plugin)', async () => {
    const kc = kubeConfig(true);
    const connection = new KeptConnection(kc);
    try {
      const first = await connection.request({ method: 'GET', path: '/a' });
      assert.equal(JSON.parse(first.text).user, 'system:serviceaccount:ecr-warden:warden');
      const before = handshakes;
      const rotated = await clientCertificate(ca, 'system:serviceaccount:ecr-warden:rotated');
      const user = kc.getCurrentUser() as { certData?: string; keyData?: string };
      user.certData = b64(rotated.cert);
      user.keyData = b64(rotated.key);
      const second = await connection.request({ method: 'GET', path: '/b' });
      assert.equal(JSON.parse(second.text).user, 'system:serviceaccount:ecr-warden:rotated');
      assert.equal(handshakes - before, 1);
    } finally {
      connection.reset();
    }
  });

  it('fails, and says so, where the apiserver refuses a client without a certificate', async () => {
    const connection = new KeptConnection(kubeConfig(false));
    try {
      await assert.rejects(connection.request({ method: 'GET', path: '/api/v1/pods' }));
    } finally {
      connection.reset();
    }
  });
});

describe('KeptConnection reading answers', () => {
  it('fails with ERR_KUBE_API when the connection closes before the answer ends', async () => {
    const server = await listen((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
      res.write('{"items":[');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const connection = new KeptConnection(plainKubeConfig(server.port));
    try {
      const err = await connection.request({ method: 'GET', path: '/api/v1/pods' }).catch((e: unknown) => e);
      assert.ok(isWardenError(err), String(err));
      assert.equal(err.code, 'ERR_KUBE_API');
      assert.match(err.message, /closed before the answer ended/);
    } finally {
      connection.reset();
      await server.close();
    }
  });
});

describe('watchStream', () => {
  /** A watch server that writes `chunks` (strings or raw bytes) with a pause between them, then `end`. */
  async function watchOnce(
    chunks: Array<string | Buffer>,
    options: { end?: boolean; status?: number; idleTimeoutMs?: number; maxEventBytes?: number } = {},
  ): Promise<{ end: WatchEnd; events: Array<[string, unknown]> }> {
    const server = await listen((_req, res) => {
      res.writeHead(options.status ?? 200, { 'Content-Type': 'application/json' });
      let i = 0;
      const next = () => {
        if (i < chunks.length) {
          res.write(chunks[i++]!);
          setTimeout(next, 5);
        } else if (options.end ?? true) res.end();
      };
      next();
    });
    const connection = new KeptConnection(plainKubeConfig(server.port));
    const events: Array<[string, unknown]> = [];
    try {
      const end = await watchStream({
        connection,
        path: '/api/v1/pods?watch=true',
        idleTimeoutMs: options.idleTimeoutMs ?? 5_000,
        signal: new AbortController().signal,
        onEvent: (type, object) => events.push([type, object]),
        ...(options.maxEventBytes ? { maxEventBytes: options.maxEventBytes } : {}),
      });
      return { end, events };
    } finally {
      connection.reset();
      await server.close();
    }
  }

  it('delivers events whole and in order however the bytes are cut, then ends as closed', async () => {
    const event = (name: string) => JSON.stringify({ type: 'ADDED', object: { metadata: { name } } }) + '\n';
    const all = Buffer.from(event('a') + event('ü-b') + event('c'));
    // Cut inside a line and inside the two bytes of "ü".
    const cut = all.indexOf(Buffer.from('ü')) + 1;
    const { end, events } = await watchOnce([all.subarray(0, 7), all.subarray(7, cut), all.subarray(cut)]);
    assert.deepEqual(end, { kind: 'closed' });
    assert.deepEqual(
      events.map(([type, object]) => `${type} ${(object as { metadata: { name: string } }).metadata.name}`),
      ['ADDED a', 'ADDED ü-b', 'ADDED c'],
    );
  });

  it('ends as malformed at a line that is not an event, after the events before it', async () => {
    const { end, events } = await watchOnce([
      '{"type":"ADDED","object":{}}\n',
      'not json\n',
      '{"type":"ADDED"}\n',
    ]);
    assert.equal(end.kind, 'malformed');
    assert.match((end as { message: string }).message, /not JSON: not json/);
    assert.equal(events.length, 1);
  });

  it('ends as malformed at a line longer than its bound, without reading on', async () => {
    const { end } = await watchOnce(['{"type":"ADDED","object":{"x":"', 'y'.repeat(500), '"}}\n'], {
      maxEventBytes: 256,
    });
    assert.deepEqual(end, { kind: 'malformed', message: 'a watch event is longer than 256 bytes' });
  });

  it('answers a refused watch with its status and the Status the server sent', async () => {
    const gone = { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 };
    const { end } = await watchOnce([JSON.stringify(gone)], { status: 410 });
    assert.deepEqual(end, { kind: 'status', code: 410, body: gone });
  });

  it('ends as idle when nothing arrives within idleTimeoutMs', async () => {
    const { end, events } = await watchOnce(['{"type":"BOOKMARK","object":{}}\n'], {
      end: false,
      idleTimeoutMs: 150,
    });
    assert.deepEqual(end, { kind: 'idle' });
    assert.equal(events.length, 1);
  });
});

describe('PodWatcher on a malformed watch stream', () => {
  it('relists (reason apply_error) rather than skip the event the line held', async () => {
    let lists = 0;
    let watches = 0;
    const pod = (name: string) => ({
      metadata: { name, namespace: 'shop', uid: name, resourceVersion: '5' },
      spec: { containers: [{ name: 'app', image: 'nginx:1' }] },
      status: { phase: 'Running' },
    });
    const server = await listen((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (url.searchParams.get('watch') !== 'true') {
        lists++;
        res.end(JSON.stringify({ metadata: { resourceVersion: '5' }, items: [pod(`p${lists}`)] }));
      } else if (++watches === 1) {
        res.write('{"type":"MODIFIED","object":{"metadata":{"name":"p1"'); // cut off, then garbage
        res.write('\n');
      }
      // Later watches stay open and quiet.
    });
    const reasons: WatchRestartReason[] = [];
    const delivered: string[] = [];
    const watcher = new PodWatcher({
      kubeConfig: plainKubeConfig(server.port),
      namespaces: [],
      idleTimeoutMs: 60_000,
      log: silentLogger,
      observer: { watchRestart: (reason) => reasons.push(reason) },
      sink: {
        replaceAll: (pods) => delivered.push(`list ${pods.map((p) => p.name).join(',')}`),
        upsert: (p) => delivered.push(`upsert ${p.name}`),
        remove: (_ns, name) => delivered.push(`remove ${name}`),
      },
    });
    try {
      watcher.start();
      const deadline = Date.now() + 10_000;
      // Until the second list is delivered, not merely asked for.
      while (delivered.length < 2 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(lists, 2, 'listed again after the malformed line');
      assert.deepEqual(reasons, ['apply_error']);
      assert.deepEqual(delivered.slice(0, 2), ['list p1', 'list p2']);
    } finally {
      await watcher.stop();
      await server.close();
    }
  });
});

describe('PodWatcher over many namespaces', () => {
  it('lists and watches every namespace at once, however many (each watch holds a connection)', async () => {
    const namespaces = Array.from({ length: 12 }, (_, i) => `team-${i}`);
    const openWatches = new Set<string>();
    const server = await listen((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const namespace = /\/namespaces\/([^/]+)\//.exec(url.pathname)?.[1] ?? '';
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (url.searchParams.get('watch') === 'true') {
        openWatches.add(namespace);
        res.write('');
        return; // held open, quiet
      }
      res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
    });
    const watcher = new PodWatcher({
      kubeConfig: plainKubeConfig(server.port),
      namespaces,
      idleTimeoutMs: 60_000,
      log: silentLogger,
      sink: { replaceAll: () => undefined, upsert: () => undefined, remove: () => undefined },
    });
    try {
      watcher.start();
      await watcher.whenSynced();
      const deadline = Date.now() + 10_000;
      while (openWatches.size < namespaces.length && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(openWatches.size, namespaces.length, 'a watch open in every namespace at once');
    } finally {
      await watcher.stop();
      await server.close();
    }
  });
});
