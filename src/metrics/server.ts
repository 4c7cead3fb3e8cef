import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '../log.ts';
import type { WardenMetrics } from './registry.ts';

export interface HealthServerOptions {
  address: string;
  port: number;
  metrics: WardenMetrics;
  /** Why the process is not ready yet, or null when it is (SPEC section 5: first list in, certificate loaded). */
  notReadyReason: () => string | null;
  log?: Logger;
}

export interface HealthServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Plain HTTP on metrics.port: /metrics, /healthz (the event loop answers), /readyz (200 once every
 * enabled part can do its job, else 503 with the reason). GET and HEAD only; nothing else is served.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const log = (options.log ?? silentLogger).child({ component: 'metrics-server' });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/metrics':
        options.metrics.exposition().then(
          (chunks) => {
            let length = 0;
            for (const chunk of chunks) length += chunk.length;
            res.writeHead(200, { 'content-type': options.metrics.contentType, 'content-length': length });
            // The Buffers are written as they are: a scrape copies nothing it does not have to.
            // Hundreds of slices: corked (end() uncorks), they leave in a few writes rather than one each.
            res.cork();
            if (req.method !== 'HEAD') for (const chunk of chunks) res.write(chunk);
            res.end();
          },
          (err: unknown) => {
            log.error({ err }, 'metrics render failed');
            res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics render failed\n');
          },
        );
        return;
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz': {
        const reason = options.notReadyReason();
        if (reason === null) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${reason}\n`);
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  // A scraper that opens a connection and sends nothing must not hold a socket forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  log.info({ address: options.address, port }, 'metrics listening');
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
