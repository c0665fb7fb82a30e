/**
 * `work`, or a failure saying `what` once `ms` have passed: a deadline against a deadlock (a request
 * stuck behind another), not a timing figure. The timer does not keep the test process alive.
 */
export function within<T>(work: Promise<T>, what: string, ms = 15_000): Promise<T> {
  return Promise.race([
    work,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref()),
  ]);
}
