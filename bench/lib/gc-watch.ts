import { PerformanceObserver, performance } from 'node:perf_hooks';

/**
 * The bench process's own garbage collections, to tell how many timed calls it paused in itself: a
 * call's wall time, timed here, includes any GC of this process while it waited for the answer.
 */
export class GcWatch {
  private readonly pauses: Array<{ start: number; end: number }> = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      this.pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** The clock the pauses are on (performance.now()), for a call's start and end. */
  now(): number {
    return performance.now();
  }

  /** Milliseconds of this process's GC pauses between `start` and `end` (0: none). */
  pausedMs(start: number, end: number): number {
    let ms = 0;
    for (const p of this.pauses)
      if (p.start < end && p.end > start) ms += Math.min(p.end, end) - Math.max(p.start, start);
    return ms;
  }

  /**
   * A full collection of this process now, between timed series (the bench runs with `--expose-gc`), so
   * that what earlier targets left behind is not collected in the middle of one.
   */
  collect(): void {
    (globalThis as { gc?: () => void }).gc?.();
  }

  stop(): void {
    this.observer.disconnect();
  }
}
