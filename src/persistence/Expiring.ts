import { isLibraryInstance, LIBRARY_CLASS } from './shared';
import { ConfigurationError, keepNames } from '../errors';

/**
 * A time to live: milliseconds, or a number with a unit — `'500ms'`, `'30s'`, `'15m'`, `'4h'`,
 * `'7d'`.
 *
 * @example
 * ```ts
 * const ttl: Duration = '4h'; // the same as 4 * 60 * 60 * 1000
 * ```
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a {@link Duration}; a clear error for anything else. */
export function durationMs(ttl: Duration, option = 'ttl'): number {
  const match = typeof ttl === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(ttl) : null;
  const ms = typeof ttl === 'number' ? ttl : match ? Number(match[1]) * UNIT_MS[match[2]!]! : NaN;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new ConfigurationError(
      option,
      `${option} must be a positive number of milliseconds or a string such as '30s', '15m', '4h' or '7d'; got ${JSON.stringify(ttl)}.`,
    );
  }
  return ms;
}

/**
 * A value that is only good for a while: it reads back until its expiry and is absent after. The
 * expiry is stored beside the value (tagged `Expiring`, see docs/storage-format.md), so it holds
 * across cold starts and environments. Hold one in a persistent field, a `withPersistence` state
 * or a {@link PersistentMap}; its changes are saved like any in-place change (at the end of the
 * invocation; in a map by `flush()`, or use `PersistentMap.remember`, which saves at once).
 *
 * The expiry is checked when the value is read, against this machine's clock; the row itself
 * never expires (DynamoDB TTL would delete the whole row).
 *
 * @typeParam T - the value's type
 *
 * @example
 * ```ts
 * class Handler extends PersistentHandler<Event, Result> {
 *   @Persistent() rates = new Expiring<Rates>();
 *
 *   async handler(event: Event) {
 *     // Fetched at most once every four hours, by whichever environment finds it expired.
 *     const rates = await this.rates.getOrCompute('4h', fetchRates);
 *     return convert(event, rates);
 *   }
 * }
 * ```
 */
export class Expiring<T> {
  /** Marks the library's classes (src/persistence/shared.ts). */
  static readonly [LIBRARY_CLASS] = true;

  /** `value instanceof Expiring` holds for an Expiring of either copy of the library (CommonJS and ES module build). */
  static [Symbol.hasInstance](value: unknown): boolean {
    return isLibraryInstance(this, value);
  }

  // Plain properties (not #private): the change check compares them, and the codec stores them.
  private stored: T | undefined;
  private expiry: number | undefined;

  /** An empty value, or `value` good for `ttl`. */
  constructor(value?: T, ttl?: Duration) {
    if (value !== undefined) {
      if (ttl === undefined) throw new ConfigurationError('ttl', 'new Expiring(value, ttl) needs a ttl with the value, e.g. new Expiring(rates, "4h").');
      this.set(value, ttl);
    }
  }

  /** The value until it expires; undefined after (or when none was set). */
  get value(): T | undefined {
    return this.fresh ? this.stored : undefined;
  }

  /** When the value expires (or expired); undefined when none was set. */
  get expiresAt(): Date | undefined {
    return this.expiry === undefined ? undefined : new Date(this.expiry);
  }

  /** Whether a value is set and has not expired. */
  get fresh(): boolean {
    return this.expiry !== undefined && Date.now() < this.expiry;
  }

  /**
   * Sets the value, good for `ttl` from now.
   *
   * @example
   * ```ts
   * this.token.set(await login(), '50m');
   * ```
   */
  set(value: T, ttl: Duration): this {
    const ms = durationMs(ttl);
    this.stored = value;
    this.expiry = Date.now() + ms;
    return this;
  }

  /** Drops the value. */
  clear(): this {
    this.stored = undefined;
    this.expiry = undefined;
    return this;
  }

  /**
   * The value while it is fresh; otherwise computes a new one, keeps it for `ttl` and returns it.
   * A failing `compute` leaves the old value (expired or not) as it was.
   *
   * @example
   * ```ts
   * const config = await this.config.getOrCompute('15m', () => loadConfig());
   * ```
   */
  async getOrCompute(ttl: Duration, compute: () => T | Promise<T>): Promise<T> {
    const ms = durationMs(ttl);
    if (this.fresh) return this.stored as T;
    const value = await compute();
    this.stored = value;
    this.expiry = Date.now() + ms;
    return value;
  }

  /** @internal The stored parts, for the codec. */
  static parts(expiring: Expiring<unknown>): { value: unknown; expiresAt: number | undefined } {
    return { value: expiring.stored, expiresAt: expiring.expiry };
  }

  /** @internal Rebuilds a stored value, for the codec. */
  static restore<T>(value: T | undefined, expiresAt: number | undefined): Expiring<T> {
    const expiring = new Expiring<T>();
    expiring.stored = value;
    expiring.expiry = expiresAt;
    return expiring;
  }
}

keepNames({ Expiring });
