/**
 * The webhook under load and hostile input: what it holds at once is bounded (webhook.maxInFlight,
 * webhook.maxInFlightBytes, open connections), the excess gets 429, and nothing of a review's body or
 * parsed object is kept while the review waits for ECR. All over real HTTPS; the flood runs against
 * the webhook in a process of its own, with V8's heap sized as the Helm chart sizes it.
 */
import assert from 'node:assert/strict';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { maxConnectionsFor } from '../src/admission/server.ts';
import {
  admissionScenario,
  type AdmissionResponseJson,
  IMAGES,
  reviewOf,
  startWebhookFixture,
  type WebhookFixture,
} from './helpers/reviews.ts';
import {
  bulkyReview,
  chartNodeOptions,
  post,
  startWebhookProcess,
  type WebhookProcess,
} from './helpers/webhook-process.ts';
import { eventually } from './helpers/world.ts';
import { startEcrSimulator, type EcrSimulator } from '../sim/ecr/index.ts';

const MiB = 1024 * 1024;
/** The largest review the webhook reads (SPEC section 6), less room for the HTTP framing. */
const NEAR_8_MIB = 8 * MiB - 1024;

/** A POST whose body is sent when the test says, on a connection of its own. */
interface OpenPost {
  req: ClientRequest;
  response: Promise<{
    status: number;
    headers: IncomingMessage['headers'];
    json: { response: AdmissionResponseJson };
  }>;
}

function openPost(f: WebhookFixture, headers: Record<string, string | number> = {}): OpenPost {
  let req!: ClientRequest;
  const response = new Promise<Awaited<OpenPost['response']>>((resolve, reject) => {
    req = request(
      {
        host: '127.0.0.1',
        port: f.server.address.port,
        path: '/validate',
        method: 'POST',
        ca: f.certs.ca.cert,
        servername: 'localhost',
        agent: false,
        headers: { 'Content-Type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response: AdmissionResponseJson },
          }),
        );
      },
    );
    // Refused bodies are answered before they are all sent, and the connection then closed.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
  });
  return { req, response };
}

const rejection = (reason: string, uid = '') => ({
  uid,
  allowed: false,
  status: { status: 'Failure', code: 429, reason: 'TooManyRequests', message: reason },
});
const TOO_MANY_REVIEWS = '1 reviews are in flight (webhook.maxInFlight); retry later';
const TOO_MANY_BYTES = `request bodies in flight would pass ${8 * MiB} bytes (webhook.maxInFlightBytes); retry later`;

describe('webhook.maxInFlight', () => {
  let f: WebhookFixture;
  before(async () => {
    // Every ECR answer takes 1 s: a review waits for it, well within the 2 s deadline.
    f = await startWebhookFixture({ settings: { webhook: { maxInFlight: 1 } }, latencyMs: 1_000 });
  });
  after(() => f.close());

  test('answers 429 with a reason past it, counts it as rejected, and takes reviews again once one is done', async () => {
    const first = f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
    await f.sim.waitForCall();
    assert.deepEqual(f.server.load().reviews, 1);
    const refused = await f.client.send('/validate', reviewOf('Pod', [IMAGES.clean]));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '1');
    // Its body read and dropped, the connection stays open: the next review needs no new handshake.
    assert.notEqual(refused.headers.connection, 'close');
    assert.deepEqual(JSON.parse(refused.text).response, rejection(TOO_MANY_REVIEWS));

    assert.equal((await first).response.allowed, false, 'the review in flight is judged as ever');
    await eventually(() => assert.equal(f.server.load().reviews, 0));
    const later = await f.client.review('/validate', reviewOf('Pod', [IMAGES.clean]));
    assert.equal(later.status, 200);
    assert.equal(later.response.allowed, true);
    assert.deepEqual(
      f.observer.reviews.map((r) => `${r.kind} ${r.decision}`),
      ['other rejected', 'Pod denied', 'Pod allowed'],
    );
  });
});

describe('webhook.maxInFlightBytes', () => {
  let f: WebhookFixture;
  before(async () => {
    f = await startWebhookFixture({ settings: { webhook: { maxInFlightBytes: '8Mi' } }, latencyMs: 1_000 });
  });
  after(() => f.close());

  test('reserves a declared Content-Length before reading: a client that sends slowly holds it, and the excess gets 429', async () => {
    const body = bulkyReview(IMAGES.clean, 6 * MiB);
    const slow = openPost(f, { 'Content-Length': body.length });
    slow.req.write(body.subarray(0, 1024));
    await eventually(() => assert.deepEqual(f.server.load(), { reviews: 1, bytes: body.length }));

    const second = openPost(f, { 'Content-Length': 3 * MiB });
    second.req.end(Buffer.alloc(3 * MiB, 0x20));
    const refused = await second.response;
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.json.response, rejection(TOO_MANY_BYTES));

    slow.req.end(body.subarray(1024));
    const answered = await slow.response;
    assert.equal(answered.status, 200);
    assert.equal(answered.json.response.allowed, true);
    await eventually(() => assert.deepEqual(f.server.load(), { reviews: 0, bytes: 0 }));
  });

  test('counts a chunked body as it arrives, refusing it partway with the uid its first bytes show', async () => {
    const held = openPost(f);
    const heldBody = bulkyReview(IMAGES.clean, 6 * MiB);
    held.req.write(heldBody);
    await eventually(() => assert.deepEqual(f.server.load(), { reviews: 1, bytes: heldBody.length }));

    const chunked = openPost(f);
    const body = bulkyReview(IMAGES.clean, 4 * MiB);
    const uid = (JSON.parse(body.toString('utf8')) as { request: { uid: string } }).request.uid;
    // Written before end(): sent chunked, with no Content-Length.
    chunked.req.write(body);
    chunked.req.end();
    const refused = await chunked.response;
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.json.response, rejection(TOO_MANY_BYTES, uid));

    held.req.end();
    assert.equal((await held.response).status, 200);
    await eventually(() => assert.deepEqual(f.server.load(), { reviews: 0, bytes: 0 }));
  });

  test('stops counting a body once it is decoded: two large reviews that wait for ECR together both pass', async () => {
    const images = [IMAGES.critical, IMAGES.scanning];
    const first = post(f.server.address.port, f.certs.ca.cert, '/validate', bulkyReview(images[0]!, 6 * MiB));
    await f.sim.waitForCall();
    // The first review waits for ECR: it holds its place, not its 6 MiB.
    assert.deepEqual(f.server.load(), { reviews: 1, bytes: 0 });
    const second = await post(
      f.server.address.port,
      f.certs.ca.cert,
      '/validate',
      bulkyReview(images[1]!, 6 * MiB),
    );
    assert.equal(second.status, 200);
    assert.equal((await first).status, 200);
  });
});

describe('open connections', () => {
  let f: WebhookFixture;
  before(async () => {
    f = await startWebhookFixture({ settings: { webhook: { maxInFlight: 1 } } });
  });
  after(() => f.close());

  /** Resolves true once the TLS handshake completes, false when the server closes the connection first. */
  const handshake = (sockets: TLSSocket[]): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port: f.server.address.port,
        ca: f.certs.ca.cert,
        servername: 'localhost',
      });
      sockets.push(socket);
      socket.once('secureConnect', () => resolve(true));
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
    });

  test('are capped at twice maxInFlight plus 16; past the cap a new connection is closed at once', async () => {
    const cap = maxConnectionsFor(1);
    assert.equal(cap, 18);
    const sockets: TLSSocket[] = [];
    try {
      const opened = [];
      for (let i = 0; i < cap; i++) opened.push(await handshake(sockets));
      assert.deepEqual(opened, Array(cap).fill(true));
      assert.equal(await handshake(sockets), false, 'a connection past the cap was kept');
      sockets[0]!.destroy();
      await eventually(async () => assert.equal(await handshake(sockets), true));
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe('a review waiting for ECR', () => {
  let f: WebhookFixture;
  before(async () => {
    f = await startWebhookFixture({ latencyMs: 1_000 });
  });
  after(() => f.close());

  test('holds neither its parsed review nor its object once the images are extracted', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Every JSON.parse of an AdmissionReview in this process, weakly: the webhook's own decoding.
    const parsed: WeakRef<{ request: { object: object } }>[] = [];
    const objects: WeakRef<object>[] = [];
    const parse = JSON.parse;
    JSON.parse = (text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      const value = parse(text, reviver) as unknown;
      const review = value as { kind?: string; request?: { object?: object } };
      if (review?.kind === 'AdmissionReview' && review.request?.object) {
        parsed.push(new WeakRef(review as { request: { object: object } }));
        objects.push(new WeakRef(review.request.object));
      }
      return value;
    };
    let answer: ReturnType<WebhookFixture['client']['review']>;
    try {
      answer = f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
      await f.sim.waitForCall();
    } finally {
      JSON.parse = parse;
    }
    assert.equal(parsed.length, 1, 'the webhook parsed the review once');
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(f.server.load().reviews, 1, 'the review is still waiting for ECR');
    assert.equal(parsed[0]!.deref(), undefined, 'the parsed review is still held');
    assert.equal(objects[0]!.deref(), undefined, 'the pod object is still held');
    const { status, response } = await answer;
    assert.equal(status, 200);
    assert.equal(response.allowed, false);
  });
});

describe('40 concurrent near-8 MiB reviews, ECR 5 s slow, heap as the chart sizes it', () => {
  let sim: EcrSimulator;
  let webhook: WebhookProcess;
  let nodeOptions: string;
  before(async () => {
    nodeOptions = await chartNodeOptions();
    sim = await startEcrSimulator({ scenario: admissionScenario(), latencyMs: 5_000 });
    webhook = await startWebhookProcess({ nodeOptions, ecrEndpoint: sim.endpoint });
  });
  after(async () => {
    await webhook?.stop();
    await sim?.close();
  });

  test('the process lives, the excess gets 429, and a normal review afterwards is answered correctly', async () => {
    const body = bulkyReview(IMAGES.clean, NEAR_8_MIB);
    assert.ok(body.length > 8 * MiB - 2048);
    const replies = await Promise.all(
      Array.from({ length: 40 }, () => post(webhook.port, webhook.ca, '/validate', body)),
    );
    const statuses = replies.map((r) => r.status);
    assert.deepEqual(
      statuses.filter((s) => s !== 200 && s !== 429),
      [],
      'every review is answered, or refused with 429',
    );
    assert.ok(statuses.includes(429), 'nothing was refused');
    assert.ok(statuses.includes(200), 'nothing was answered');
    for (const reply of replies.filter((r) => r.status === 429)) {
      assert.equal(JSON.parse(reply.text).response.status.reason, 'TooManyRequests');
    }
    assert.ok(webhook.alive(), `the webhook process ended: ${JSON.stringify(webhook.exit())}`);
    const peak = await webhook.peak();
    assert.equal(peak.nodeOptions, nodeOptions);
    // Node's default on this machine is far larger: the chart's options took effect.
    assert.ok(
      peak.heapLimit < getHeapStatistics().heap_size_limit,
      'the heap was not sized as the chart sizes it',
    );
    const { rss } = peak;
    assert.ok(rss < 512 * MiB, `RSS reached ${(rss / MiB).toFixed(0)} MiB, past the chart's 512Mi limit`);

    // ECR answers at once again: a small review of an image with findings is judged as ever.
    sim.setLatency(0);
    const normal = reviewOf('Pod', [IMAGES.critical]);
    const reply = await post(webhook.port, webhook.ca, '/validate', Buffer.from(JSON.stringify(normal)));
    assert.equal(reply.status, 200);
    const { response } = JSON.parse(reply.text) as {
      response: { uid: string; allowed: boolean; status: { code: number; reason: string; message: string } };
    };
    assert.equal(response.uid, (normal.request as { uid: string }).uid);
    assert.equal(response.allowed, false);
    assert.equal(response.status.code, 403);
    assert.equal(response.status.reason, 'Forbidden');
    // The repository's lifecycle policy may still be on its way from the slow minutes (the flood asked
    // for it): then the message says so after the findings, which decide.
    assert.match(
      response.status.message,
      new RegExp(
        `^container "c0" image ${IMAGES.critical.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 3 CRITICAL findings \\(max 0\\)(; could not check lifecycleRisk: .*)?$`,
      ),
    );
    assert.ok(webhook.alive());
  });
});
