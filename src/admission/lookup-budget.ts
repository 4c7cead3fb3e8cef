/**
 * The time a review may spend waiting on ECR. `webhook.deadline` bounds the whole answer, counted
 * from the request's arrival; what is left after the lookups covers judging the facts and writing the
 * reply. That work itself takes well under a millisecond; the headroom is for event-loop delay (other
 * reviews' JSON parsing, garbage collection) that falls between the lookup's timer firing and the reply
 * being written, which reaches tens of milliseconds under hundreds of reviews per second. Hence 10 %
 * of the deadline, at least 20 ms and at most 250 ms: 200 ms of the default 2 s.
 */
const HEADROOM_SHARE = 0.1;
const MIN_HEADROOM_MS = 20;
const MAX_HEADROOM_MS = 250;

export function headroomMs(deadlineMs: number): number {
  return Math.min(MAX_HEADROOM_MS, Math.max(MIN_HEADROOM_MS, deadlineMs * HEADROOM_SHARE));
}

/** Milliseconds the lookups of a review that arrived at `receivedAt` (performance.now()) may take; ≥ 0. */
export function lookupBudgetMs(
  deadlineMs: number,
  receivedAt: number,
  now: number = performance.now(),
): number {
  return Math.max(0, Math.floor(deadlineMs - headroomMs(deadlineMs) - (now - receivedAt)));
}
