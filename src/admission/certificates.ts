import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** What the metrics and logs may want to know about the certificate being served. */
export interface CertificateInfo {
  /** SHA-256 fingerprint, `AB:CD:…` as openssl prints it. */
  fingerprint256: string;
  subject: string;
  validFrom: Date;
  validTo: Date;
}

export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
  info: CertificateInfo;
}

export interface CertificateWatcherOptions {
  certFile: string;
  keyFile: string;
  /** TLS settings every secure context is built with (minVersion…), so a reload cannot weaken them. */
  secureOptions: SecureContextOptions;
  log: Logger;
  /**
   * The fallback for changes the directory watch misses (a volume remounted, a watch that died, file
   * systems without inotify): stat both files this often. 10 s: a rotation is noticed well within the
   * hours that cert-manager leaves between renewal and expiry, and two stat calls cost nothing.
   */
  pollIntervalMs?: number;
  /**
   * Events arrive in bursts (the `..data` symlink swap of a Secret volume is several; a writer that
   * copies the certificate, then the key, is two): wait this long after the last one before reading,
   * so the pair is read once, complete.
   */
  settleMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 10_000;
const DEFAULT_SETTLE_MS = 100;

type Events = { loaded: [CertificateInfo]; rejected: [Error] };

/**
 * The webhook's serving certificate, kept in step with `certFile`/`keyFile` on disk, as
 * controller-runtime's certwatcher does. Kubernetes updates a Secret volume by writing a new
 * directory and swapping the `..data` symlink, so the file names never see an event of their own:
 * the watch is on the directories that hold them, and any event there triggers a re-read. A pair
 * that does not load (half written, key and certificate not matching) is refused and the previous one
 * kept; `loaded` and `rejected` report each outcome.
 */
export class CertificateWatcher extends EventEmitter<Events> {
  readonly #options: CertificateWatcherOptions;
  readonly #log: Logger;
  #current: CertificatePair | null = null;
  #watchers: FSWatcher[] = [];
  #poll: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #lastStat = '';
  #lastProblem = '';
  #loading: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: CertificateWatcherOptions) {
    super();
    this.#options = options;
    this.#log = options.log;
  }

  current(): CertificatePair | null {
    return this.#current;
  }

  /** Reads the pair once (a failure leaves `current()` null, to be retried on change), then watches. */
  async start(): Promise<void> {
    this.#lastStat = await this.#statSignature();
    await this.reload();
    this.#watch();
    this.#poll = setInterval(
      () => void this.#check(),
      this.#options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    );
    this.#poll.unref();
  }

  /** Reads both files and serves them if they differ from the current pair and load. Never rejects. */
  reload(): Promise<void> {
    if (this.#loading) {
      // A change seen while reading: read again once this read is done, so the last state wins.
      this.#again = true;
      return this.#loading;
    }
    this.#loading = this.#load().finally(() => {
      this.#loading = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.reload();
      }
    });
    return this.#loading;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#settle);
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
  }

  async #load(): Promise<void> {
    const { certFile, keyFile, secureOptions } = this.#options;
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
    } catch (err) {
      this.#reject(new WardenError('ERR_TLS', `cannot read ${certFile} and ${keyFile}`, { cause: err }));
      return;
    }
    if (this.#current?.cert.equals(cert) && this.#current.key.equals(key)) return;
    let info: CertificateInfo;
    try {
      // Building a context checks what the TLS stack will check: PEM syntax and that the key fits.
      createSecureContext({ ...secureOptions, cert, key });
      info = infoOf(new X509Certificate(cert));
    } catch (err) {
      this.#reject(
        new WardenError('ERR_TLS', `cannot load the certificate in ${certFile} with the key in ${keyFile}`, {
          cause: err,
        }),
      );
      return;
    }
    if (this.#closed) return;
    this.#current = { cert, key, info };
    this.#lastProblem = '';
    this.#log.info(
      { certFile, fingerprint256: info.fingerprint256, validTo: info.validTo },
      'webhook certificate loaded',
    );
    this.emit('loaded', info);
  }

  #reject(err: WardenError): void {
    if (this.#closed) return;
    const cause = err.cause instanceof Error ? err.cause.message : '';
    // The poll retries a broken pair every interval: log each distinct problem once, not every 10 s.
    if (`${err.message}${cause}` !== this.#lastProblem) {
      this.#lastProblem = `${err.message}${cause}`;
      const keeping = this.#current ? 'keeping the previous certificate' : 'no certificate to serve yet';
      this.#log.error({ err }, `webhook certificate not loaded; ${keeping}`);
    }
    this.emit('rejected', err);
  }

  #watch(): void {
    if (this.#closed || this.#watchers.length) return;
    const dirs = new Set([dirname(this.#options.certFile), dirname(this.#options.keyFile)]);
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.#changed());
        watcher.on('error', (err) => {
          this.#log.warn(
            { err, dir },
            'certificate directory watch failed; polling until it can be watched again',
          );
          this.#unwatch();
        });
        this.#watchers.push(watcher);
      } catch (err) {
        // The directory may not exist yet (a volume not mounted): the poll keeps trying.
        this.#log.debug({ err, dir }, 'cannot watch certificate directory yet');
      }
    }
  }

  #unwatch(): void {
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
  }

  #changed(): void {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => {
      void this.#statSignature().then((signature) => {
        this.#lastStat = signature;
        return this.reload();
      });
    }, this.#options.settleMs ?? DEFAULT_SETTLE_MS);
    this.#settle.unref();
  }

  async #check(): Promise<void> {
    if (this.#closed) return;
    if (!this.#watchers.length) this.#watch();
    const signature = await this.#statSignature();
    // Without a certificate yet, every poll retries: the files may have become readable in place.
    if (signature === this.#lastStat && this.#current) return;
    this.#lastStat = signature;
    await this.reload();
  }

  /** Identity and version of both files, symlinks followed: a swapped `..data` changes the inode. */
  async #statSignature(): Promise<string> {
    const parts = await Promise.all(
      [this.#options.certFile, this.#options.keyFile].map((file) =>
        stat(file).then(
          (s) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`,
          () => 'missing',
        ),
      ),
    );
    return parts.join('|');
  }
}

function infoOf(x509: X509Certificate): CertificateInfo {
  return {
    fingerprint256: x509.fingerprint256,
    subject: x509.subject,
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
  };
}
