import { Writable } from 'node:stream';
import { watchStall } from './stall-watch';

/** A sink that accepts one small write, then waits for `release()` before taking more. */
function slowSink(): { sink: Writable; release: () => void } {
  let pending: (() => void) | undefined;
  const sink = new Writable({
    highWaterMark: 4,
    write(_chunk, _enc, done) {
      pending = done;
    },
  });
  return {
    sink,
    release: () => {
      const done = pending;
      pending = undefined;
      done?.();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchStall', () => {
  it('destroys a sink that stays full past the limit, with the reason', async () => {
    const { sink } = slowSink();
    const errors: Error[] = [];
    sink.on('error', (e) => errors.push(e));
    const watch = watchStall(sink, 100);
    const closed = new Promise((resolve) => sink.once('close', resolve));
    expect(sink.write('0123456789')).toBe(false);
    await closed;
    expect(watch.stalled).toBe(true);
    expect(errors.map((e) => e.message)).toEqual(['the client read nothing for 100 ms']);
  });

  it('leaves alone a sink that drains, however long the writing lasts', async () => {
    const { sink, release } = slowSink();
    const watch = watchStall(sink, 100);
    for (let i = 0; i < 8; i++) {
      sink.write('0123456789');
      await sleep(40);
      release();
    }
    await sleep(150);
    expect(sink.destroyed).toBe(false);
    expect(watch.stalled).toBe(false);
    watch.stop();
  });

  it('does nothing once stopped', async () => {
    const { sink } = slowSink();
    const watch = watchStall(sink, 100);
    watch.stop();
    sink.write('0123456789');
    await sleep(250);
    expect(sink.destroyed).toBe(false);
    expect(watch.stalled).toBe(false);
  });
});
