import type { Writable } from 'node:stream';

export interface StallWatch {
  /** Stops watching (the stream is left as it is). */
  stop(): void;
  /** Whether the watch destroyed the stream. */
  readonly stalled: boolean;
}

/**
 * Destroys `sink` once it has refused more data (backpressure) for `ms` on end without draining: its
 * reader stopped reading. A stream destroyed this way emits `close` and an `error` carrying the reason,
 * as when the client goes away, so a writer waiting for `drain` finds out at once.
 */
export function watchStall(sink: Writable, ms: number): StallWatch {
  // Since when the sink has been full without draining (each `drain` starts the wait afresh).
  let waitingSince: number | undefined;
  let stalled = false;
  const drained = (): void => {
    waitingSince = undefined;
  };
  const stop = (): void => {
    clearInterval(timer);
    sink.off('drain', drained);
  };
  sink.on('drain', drained);
  const timer = setInterval(
    () => {
      if (sink.destroyed || sink.writableEnded) return stop();
      if (!sink.writableNeedDrain) return drained();
      const now = Date.now();
      waitingSince ??= now;
      if (now - waitingSince < ms) return;
      stalled = true;
      stop();
      sink.destroy(new Error(`the client read nothing for ${ms} ms`));
    },
    Math.max(25, Math.min(1000, Math.floor(ms / 4))),
  );
  timer.unref();
  return {
    stop,
    get stalled() {
      return stalled;
    },
  };
}
