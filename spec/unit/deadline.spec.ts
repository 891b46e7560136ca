import { Deadline } from '../../src/persistence/Deadline';

describe('Deadline: the abort signal requests carry', () => {
  afterEach(() => jest.useRealTimers());

  it('has no signal without a deadline', () => {
    expect(new Deadline(undefined).requestSignal()).toBeUndefined();
  });

  it('arms its timer on the first request, not before, and hands every request the same signal', () => {
    jest.useFakeTimers();
    const deadline = new Deadline(Date.now() + 1_000);
    expect(jest.getTimerCount()).toBe(0);
    const signal = deadline.requestSignal();
    expect(jest.getTimerCount()).toBe(1);
    expect(deadline.requestSignal()).toBe(signal);
    expect(jest.getTimerCount()).toBe(1);
    expect(signal?.aborted).toBe(false);
  });

  it('aborts at the deadline with a TimeoutError: listeners once each, onabort, removed listeners not', () => {
    jest.useFakeTimers();
    const deadline = new Deadline(Date.now() + 1_000);
    const signal = deadline.requestSignal()!;
    const calls: string[] = [];
    const first = () => calls.push('first');
    const removed = () => calls.push('removed');
    signal.addEventListener('abort', first, { once: true });
    signal.addEventListener('abort', first);
    signal.addEventListener('abort', removed);
    signal.removeEventListener('abort', removed);
    signal.onabort = (event) => calls.push(`onabort ${event.type} ${event.target === signal}`);
    jest.advanceTimersByTime(999);
    expect(signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(Error);
    expect((signal.reason as Error).name).toBe('TimeoutError');
    expect(calls).toEqual(['first', 'onabort abort true']);
    jest.advanceTimersByTime(10_000);
    expect(calls).toHaveLength(2);
  });

  it('calls every listener even when one throws, and reports that error afterwards', async () => {
    const signal = new Deadline(Date.now() + 20).requestSignal()!;
    const calls: string[] = [];
    signal.addEventListener('abort', () => {
      throw new Error('listener broke');
    });
    signal.addEventListener('abort', () => calls.push('second'));
    signal.onabort = () => calls.push('onabort');
    // The error is rethrown from a microtask (an uncaught exception, as Node's EventTarget reports
    // a listener's): caught here instead of failing the test run.
    const reported: (() => void)[] = [];
    const queue = jest.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) => void reported.push(task));
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      queue.mockRestore();
    }
    expect(calls).toEqual(['second', 'onabort']);
    expect(reported).toHaveLength(1);
    expect(() => reported[0]!()).toThrow('listener broke');
  });

  it('is aborted at once when the deadline has already passed', () => {
    const signal = new Deadline(Date.now() - 1).requestSignal();
    expect(signal?.aborted).toBe(true);
  });

  it('disarms at the end of the invocation: no timer left, no signal for later requests', () => {
    jest.useFakeTimers();
    const deadline = new Deadline(Date.now() + 1_000);
    const signal = deadline.requestSignal()!;
    deadline.end();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5_000);
    expect(signal.aborted).toBe(false);
    expect(deadline.requestSignal()).toBeUndefined();
  });
});
