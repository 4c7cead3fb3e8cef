/** Admission webhooks: /validate enforces the policy at the door, /mutate pins ECR tags to digests. */
export type { CertificateInfo, CertificateWatcher } from './certificates.ts';
export { MAX_BODY_BYTES } from './http.ts';
export { startWebhookServer, type WebhookServer, type WebhookServerOptions } from './server.ts';
export type { AdmissionObserver, Decision, WebhookName } from './types.ts';
