/**
 * `work`'s answer if it comes within `ms`, else `late()`'s. The work is not cancelled: it goes on
 * and its answer is simply not waited for (an ECR lookup still fills the cache; a lease update
 * still lands). The timer does not keep the process alive on its own.
 */
export function answerWithin<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const fallback = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms);
    timer.unref();
  });
  return Promise.race([work, fallback]).finally(() => clearTimeout(timer));
}
