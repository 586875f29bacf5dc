/** The name `server-process.ts` answers with (`Hello <name> from child-process@<addr>`). */
export const CHILD_IMPL = "child-process";

/** What the demo needs from a Greeter server, whichever library serves it. */
export interface GreeterServer {
  /** `127.0.0.1:<port>`: what it listens on and registers. */
  readonly addr: string;
  /** Which implementation answers (`grpc-js`, `connect-node`, ...); part of every reply. */
  readonly impl: string;
  /** SayHello calls being served right now (a graceful stop waits for 0). */
  inFlight(): number;
  /** Stops accepting new connections and waits for the calls in flight to finish. */
  shutdown(): Promise<void>;
}

/** The reply every demo server sends: who answered, so the client can print it. */
export function greeting(name: string, impl: string, addr: string): string {
  return `Hello ${name || "stranger"} from ${impl}@${addr}`;
}

/** Counts calls in flight around a handler. */
export class CallCounter {
  #inFlight = 0;

  /** Calls being served now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  #idle: (() => void)[] = [];

  /** Runs `fn`, counted as in flight until it settles. */
  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await fn();
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Resolves once no call is in flight (at once when none is). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
