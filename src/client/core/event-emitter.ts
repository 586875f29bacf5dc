/**
 * The event-emitter face of etcd-ts's live objects (watchers, leases, caches, discoveries, ...): Node's
 * `EventEmitter` API and rules, written on web-standard JavaScript alone so that the same classes load
 * in a browser or an edge runtime (`etcd-ts/web`), where `node:events` does not exist.
 *
 * The rules are Node's, so code written against `node:events` keeps working, `events.once(watcher,
 * "close")` and `events.on(...)` included: listeners run synchronously in the order added, with `this`
 * the emitter, on a copy of the list taken when `emit` starts; `newListener` is emitted before a listener
 * is added and `removeListener` after one is removed (each with the listener the user passed, not a
 * `once` wrapper); an `"error"` event nobody listens to throws; more than `getMaxListeners()` listeners
 * of one event (default 10, 0 for no limit) is a `MaxListenersExceededWarning` where the runtime has
 * `process.emitWarning`, once per event. What it does not have: `captureRejections`, `errorMonitor`,
 * and `instanceof` of `node:events`' class.
 *
 * One listener is stored as is and more in an array, in an object made on the first listener: a client
 * may hold 100,000 watchers, most with one listener or none.
 */
export class EventEmitter<T extends EventMap<T> = DefaultEventMap> {
  #events: Record<string | symbol, StoredListener | StoredListener[]> | undefined;
  #maxListeners: number | undefined;
  #warned: Set<string | symbol> | undefined;

  /** Adds `listener` at the end of the list of `eventName`'s listeners (no check for duplicates). */
  on<K>(eventName: Key<K, T>, listener: Listener<K, T>): this {
    return this.#add(eventName, listener as StoredListener, false);
  }

  /** The same as `on`. */
  addListener<K>(eventName: Key<K, T>, listener: Listener<K, T>): this {
    return this.#add(eventName, listener as StoredListener, false);
  }

  /** Adds `listener` at the start of the list of `eventName`'s listeners. */
  prependListener<K>(eventName: Key<K, T>, listener: Listener<K, T>): this {
    return this.#add(eventName, listener as StoredListener, true);
  }

  /** Adds a listener called at most once: it is removed before it runs. */
  once<K>(eventName: Key<K, T>, listener: Listener<K, T>): this {
    return this.#add(eventName, this.#onceWrapper(eventName, listener as StoredListener), false);
  }

  /** `once`, added at the start of the list. */
  prependOnceListener<K>(eventName: Key<K, T>, listener: Listener<K, T>): this {
    return this.#add(eventName, this.#onceWrapper(eventName, listener as StoredListener), true);
  }

  /** Removes the most recently added instance of `listener` (once-wrapped or not) from `eventName`. */
  removeListener<K>(eventName: Key<K, T>, listener: Listener<K, T>): this {
    const name = eventName as string | symbol;
    const stored = this.#events?.[name];
    if (stored === undefined) return this;
    let removed: StoredListener | undefined;
    if (typeof stored === "function") {
      if (stored === listener || stored.listener === listener) {
        removed = stored;
        delete this.#events![name];
      }
    } else {
      for (let i = stored.length - 1; i >= 0; i--) {
        const candidate = stored[i]!;
        if (candidate === listener || candidate.listener === listener) {
          removed = candidate;
          // A new array: an emit under way goes on with the list it copied.
          const rest = stored.slice(0, i).concat(stored.slice(i + 1));
          if (rest.length === 1) this.#events![name] = rest[0]!;
          else this.#events![name] = rest;
          break;
        }
      }
    }
    if (removed !== undefined && this.#events?.removeListener !== undefined)
      this.emit("removeListener" as Key<K, T>, ...([name, removed.listener ?? removed] as Args<K, T>));
    return this;
  }

  /** The same as `removeListener`. */
  off<K>(eventName: Key<K, T>, listener: Listener<K, T>): this {
    return this.removeListener(eventName, listener);
  }

  /** Removes every listener of `eventName`, or of every event when none is named. */
  removeAllListeners(eventName?: Key<unknown, T>): this {
    const events = this.#events;
    if (events === undefined) return this;
    const names = eventName === undefined ? Reflect.ownKeys(events) : [eventName as string | symbol];
    // Like Node: `removeListener` listeners go last, and each removal is reported, newest first.
    const ordered = names.filter((n) => n !== "removeListener");
    if (eventName === undefined && names.includes("removeListener")) ordered.push("removeListener");
    for (const name of ordered) {
      const stored = this.#events?.[name];
      if (stored === undefined) continue;
      if (this.#events?.removeListener === undefined) delete this.#events![name];
      else {
        const list = typeof stored === "function" ? [stored] : stored;
        for (let i = list.length - 1; i >= 0; i--)
          this.removeListener(name as Key<unknown, T>, list[i] as Listener<unknown, T>);
      }
    }
    return this;
  }

  /**
   * Calls every listener of `eventName` with `args`, synchronously, in order; true when there was one.
   * An `"error"` event without a listener throws its error.
   */
  emit<K>(eventName: Key<K, T>, ...args: Args<K, T>): boolean {
    const stored = this.#events?.[eventName as string | symbol];
    if (stored === undefined) {
      if (eventName === "error") {
        const error = (args as unknown[])[0];
        if (error instanceof Error) throw error;
        throw new Error(`Unhandled error. (${String(error)})`, { cause: error });
      }
      return false;
    }
    if (typeof stored === "function") stored.apply(this, args as unknown[]);
    else for (const listener of stored.slice()) listener.apply(this, args as unknown[]);
    return true;
  }

  /** How many listeners `eventName` has (of them, how many are `listener`, when given). */
  listenerCount<K>(eventName: Key<K, T>, listener?: Listener<K, T>): number {
    const stored = this.#events?.[eventName as string | symbol];
    if (stored === undefined) return 0;
    // On the path of every watch event (`Watcher` asks before it emits): no array for the common answer.
    if (listener === undefined) return typeof stored === "function" ? 1 : stored.length;
    const list = typeof stored === "function" ? [stored] : stored;
    return list.filter((l) => l === listener || l.listener === listener).length;
  }

  /** A copy of `eventName`'s listeners, as the user added them. */
  listeners<K>(eventName: Key<K, T>): Listener<K, T>[] {
    return this.rawListeners(eventName).map((l) => ((l as StoredListener).listener ?? l) as Listener<K, T>);
  }

  /** A copy of `eventName`'s listeners, `once` wrappers included. */
  rawListeners<K>(eventName: Key<K, T>): Listener<K, T>[] {
    const stored = this.#events?.[eventName as string | symbol];
    if (stored === undefined) return [];
    return (typeof stored === "function" ? [stored] : stored.slice()) as Listener<K, T>[];
  }

  /** The events that have listeners. */
  eventNames(): (string | symbol)[] {
    return this.#events === undefined ? [] : Reflect.ownKeys(this.#events);
  }

  /** Sets how many listeners of one event are expected (above it, one warning); 0 for no limit. */
  setMaxListeners(n: number): this {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(
        `The value of "n" is out of range. It must be a non-negative integer. Received ${n}`,
      );
    this.#maxListeners = n;
    return this;
  }

  /** The limit of `setMaxListeners`; 10 unless set. */
  getMaxListeners(): number {
    return this.#maxListeners ?? DEFAULT_MAX_LISTENERS;
  }

  #add(eventName: Key<unknown, T>, listener: StoredListener, prepend: boolean): this {
    if (typeof listener !== "function")
      throw new TypeError(`The "listener" argument must be of type function. Received ${typeof listener}`);
    const name = eventName as string | symbol;
    if (this.#events?.newListener !== undefined)
      this.emit(
        "newListener" as Key<unknown, T>,
        ...([name, listener.listener ?? listener] as Args<unknown, T>),
      );
    // A null prototype, as Node's: an event named "toString" is an event like any other.
    this.#events ??= Object.create(null) as Record<string | symbol, StoredListener | StoredListener[]>;
    const stored = this.#events[name];
    let count = 1;
    if (stored === undefined) this.#events[name] = listener;
    else {
      const list = typeof stored === "function" ? [stored] : stored;
      this.#events[name] = prepend ? [listener, ...list] : [...list, listener];
      count = list.length + 1;
    }
    const max = this.getMaxListeners();
    if (max > 0 && count > max && !this.#warned?.has(name)) {
      this.#warned ??= new Set();
      this.#warned.add(name);
      warnListeners(this, name, count, max);
    }
    return this;
  }

  #onceWrapper(eventName: Key<unknown, T>, listener: StoredListener): StoredListener {
    if (typeof listener !== "function")
      throw new TypeError(`The "listener" argument must be of type function. Received ${typeof listener}`);
    let fired = false;
    const wrapper: StoredListener = (...args: unknown[]) => {
      if (fired) return;
      fired = true;
      this.removeListener(eventName, wrapper as Listener<unknown, T>);
      listener.apply(this, args);
    };
    wrapper.listener = listener;
    return wrapper;
  }
}

/** Node's `events.defaultMaxListeners`. */
const DEFAULT_MAX_LISTENERS = 10;

/** Node's warning, where the runtime has `process.emitWarning` (Node, Bun, Deno); nothing elsewhere. */
function warnListeners(emitter: object, name: string | symbol, count: number, max: number): void {
  const process = (globalThis as { process?: { emitWarning?: (warning: Error) => void } }).process;
  if (typeof process?.emitWarning !== "function") return;
  const warning = new Error(
    `Possible EventEmitter memory leak detected. ${count} ${String(name)} listeners added to ` +
      `[${emitter.constructor.name}]. MaxListeners is ${max}. Use emitter.setMaxListeners() to increase limit`,
  );
  warning.name = "MaxListenersExceededWarning";
  process.emitWarning(warning);
}

/** A listener as stored: a `once` wrapper names the listener it wraps. */
type StoredListener = ((...args: unknown[]) => void) & { listener?: StoredListener };

// The type parameters are those of `@types/node`'s `EventEmitter<T>`, so that a class typed against
// `node:events` types the same against this one.

/** An event map: event name to the tuple of its listener's arguments. */
export type EventMap<T> = Record<keyof T, unknown[]> | DefaultEventMap;
/** The map of an emitter without one: any name, any arguments. */
export type DefaultEventMap = [never];
type Key<K, T> = T extends DefaultEventMap ? string | symbol : K | keyof T;
type Args<K, T> = T extends DefaultEventMap ? unknown[] : K extends keyof T ? T[K] : never;
type Listener<K, T> = T extends DefaultEventMap
  ? (...args: never[]) => void
  : K extends keyof T
    ? T[K] extends unknown[]
      ? (...args: T[K]) => void
      : never
    : never;
