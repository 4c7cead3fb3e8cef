/**
 * Errors with stable codes. Callers match on `code`, never on the message text,
 * so messages can be improved without breaking anything that reacts to them.
 */
export type ErrorCode =
  | 'ERR_CONFIG' // a configuration file or value is invalid (exit 2)
  | 'ERR_USAGE' // command-line usage error (exit 2)
  | 'ERR_KUBE_CONFIG' // no way to reach a Kubernetes API
  | 'ERR_KUBE_API' // the Kubernetes API answered with an error
  | 'ERR_KUBE_TIMEOUT' // the Kubernetes API did not answer (in full) in time
  | 'ERR_TLS' // webhook certificate could not be loaded
  | 'ERR_ADMISSION'; // an AdmissionReview could not be handled

export class WardenError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WardenError';
    this.code = code;
  }
}

/** A configuration error always names the key path it is about, e.g. `ecr.tagTTL`. */
export class ConfigError extends WardenError {
  readonly path: string;
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', path ? `${path}: ${problem}` : problem, options);
    this.name = 'ConfigError';
    this.path = path;
  }
}

export class UsageError extends WardenError {
  constructor(message: string) {
    super('ERR_USAGE', message);
    this.name = 'UsageError';
  }
}

export function isWardenError(err: unknown): err is WardenError {
  return err instanceof WardenError;
}

/** The message of anything thrown, for one-line user output. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
