import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  checkNumber,
  checkOptionsObject,
  InvalidArgumentError,
  shownInput,
  sleep,
} from "../client/core/index.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";

/**
 * Active health checking of a balanced transport with gRPC's standard `grpc.health.v1.Health` service:
 * each instance is asked about `service`, and one that answers anything but SERVING gets no calls until
 * it answers SERVING again.
 */
export interface HealthCheckOptions {
  /** The service name asked about (`HealthCheckRequest.service`). Default `""`: the server as a whole. */
  service?: string | undefined;
  /**
   * `"watch"`: one `Watch` stream per instance, whose messages act at once; a server that answers
   * UNIMPLEMENTED is polled with `Check` instead. `"check"`: `Check` every `intervalMs`. Default `"watch"`.
   */
  mode?: "watch" | "check" | undefined;
  /** Time between two `Check`s of an instance, and before a broken `Watch` is opened again, in ms. Default 5000. */
  intervalMs?: number | undefined;
  /** How long a `Check` may take before it counts as failed, in ms. Default 1000. */
  timeoutMs?: number | undefined;
  /**
   * Failed checks in a row (no answer within `timeoutMs`, a connection error, a `Watch` that broke) that
   * take an instance out. An answer other than SERVING (NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN, or
   * NOT_FOUND for a service the server does not know) takes it out at once. Default 2.
   */
  unhealthyThreshold?: number | undefined;
  /**
   * SERVING answers to `Check` in a row that bring an instance that was out back. A SERVING message on a
   * `Watch` brings it back at once (a watch sends one message per change). Default 1.
   */
  healthyThreshold?: number | undefined;
  /**
   * What a server without the health service (UNIMPLEMENTED to `Check`) is: `"serving"` (gRPC's rule
   * for client-side health checks: it cannot say, so it is used) or `"not-serving"`. Default `"serving"`.
   */
  unimplemented?: "serving" | "not-serving" | undefined;
}

/** {@link HealthCheckOptions} with every default applied. */
export type HealthCheckSettings = Readonly<Required<HealthCheckOptions>>;

/**
 * Checks {@link HealthCheckOptions} (as a JavaScript caller may give them) and applies their defaults.
 * Throws `InvalidArgumentError` naming the option.
 */
export function healthCheckSettings(options: HealthCheckOptions = {}): HealthCheckSettings {
  checkOptionsObject(options, "healthCheck");
  if (options.service !== undefined && typeof options.service !== "string")
    throw new InvalidArgumentError(
      "healthCheck.service",
      `must be a string, got ${shownInput(options.service)}`,
    );
  if (options.mode !== undefined && options.mode !== "watch" && options.mode !== "check")
    throw new InvalidArgumentError(
      "healthCheck.mode",
      `must be "watch" or "check", got ${shownInput(options.mode)}`,
    );
  if (
    options.unimplemented !== undefined &&
    options.unimplemented !== "serving" &&
    options.unimplemented !== "not-serving"
  )
    throw new InvalidArgumentError(
      "healthCheck.unimplemented",
      `must be "serving" or "not-serving", got ${shownInput(options.unimplemented)}`,
    );
  checkNumber(options.intervalMs, "healthCheck.intervalMs", 1);
  checkNumber(options.timeoutMs, "healthCheck.timeoutMs", 1);
  for (const field of ["unhealthyThreshold", "healthyThreshold"] as const) {
    const value = options[field];
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      throw new InvalidArgumentError(
        `healthCheck.${field}`,
        `must be an integer >= 1, got ${shownInput(value)}`,
      );
  }
  return {
    service: options.service ?? "",
    mode: options.mode ?? "watch",
    intervalMs: options.intervalMs ?? 5000,
    timeoutMs: options.timeoutMs ?? 1000,
    unhealthyThreshold: options.unhealthyThreshold ?? 2,
    healthyThreshold: options.healthyThreshold ?? 1,
    unimplemented: options.unimplemented ?? "serving",
  };
}

/** What one health check said: an explicit status, or a failure that counts toward the threshold. */
type Verdict = "serving" | "not-serving" | "failed";

/**
 * The health checks of one instance, on its own transport (the connection its calls use), until
 * `stop()`. It starts serving (an instance is used until a check says otherwise) and reports every
 * change of its verdict to `onChange`.
 */
export class InstanceHealthCheck {
  readonly #settings: HealthCheckSettings;
  readonly #client;
  readonly #onChange: (serving: boolean) => void;
  readonly #stopping = new AbortController();
  readonly #running: Promise<void>;
  #serving = true;
  #failures = 0;
  #successes = 0;

  constructor(settings: HealthCheckSettings, transport: Transport, onChange: (serving: boolean) => void) {
    this.#settings = settings;
    this.#client = createClient(Health, transport);
    this.#onChange = onChange;
    this.#running = this.#run().catch(() => {});
  }

  /** Whether the instance may get calls now. */
  get serving(): boolean {
    return this.#serving;
  }

  /** Ends the checks (and an open `Watch`); resolves once nothing of them is left. */
  stop(): Promise<void> {
    this.#stopping.abort();
    return this.#running;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    let watching = this.#settings.mode === "watch";
    while (!signal.aborted) {
      if (watching) {
        const ended = await this.#watch(signal);
        if (ended === "unimplemented") {
          watching = false;
          continue;
        }
      } else {
        this.#record(await this.#check(signal), false);
      }
      await sleep(this.#settings.intervalMs, signal);
    }
  }

  /** One `Watch` stream, until it ends: "unimplemented" when the server does not serve it. */
  async #watch(signal: AbortSignal): Promise<"unimplemented" | "ended"> {
    try {
      for await (const res of this.#client.watch({ service: this.#settings.service }, { signal })) {
        this.#record(res.status === Status.SERVING ? "serving" : "not-serving", true);
      }
    } catch (err) {
      if (signal.aborted) return "ended";
      if (ConnectError.from(err).code === Code.Unimplemented) return "unimplemented";
    }
    // A stream that ended or broke says nothing about the status: it counts as a failed check.
    if (!signal.aborted) this.#record("failed", true);
    return "ended";
  }

  /** One `Check`, bounded by `timeoutMs`. */
  async #check(signal: AbortSignal): Promise<Verdict> {
    try {
      const res = await this.#client.check(
        { service: this.#settings.service },
        { signal, timeoutMs: this.#settings.timeoutMs },
      );
      return res.status === Status.SERVING ? "serving" : "not-serving";
    } catch (err) {
      const code = ConnectError.from(err).code;
      if (code === Code.NotFound) return "not-serving";
      if (code === Code.Unimplemented)
        return this.#settings.unimplemented === "serving" ? "serving" : "not-serving";
      return "failed";
    }
  }

  #record(verdict: Verdict, fromWatch: boolean): void {
    if (this.#stopping.signal.aborted) return;
    if (verdict === "failed") {
      this.#successes = 0;
      if (++this.#failures >= this.#settings.unhealthyThreshold) this.#set(false);
    } else if (verdict === "not-serving") {
      this.#successes = 0;
      this.#failures = 0;
      this.#set(false);
    } else {
      this.#failures = 0;
      if (fromWatch || this.#serving || ++this.#successes >= this.#settings.healthyThreshold) {
        this.#successes = 0;
        this.#set(true);
      }
    }
  }

  #set(serving: boolean): void {
    if (serving === this.#serving) return;
    this.#serving = serving;
    this.#onChange(serving);
  }
}
