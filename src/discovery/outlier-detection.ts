import { classifyFailure, InvalidArgumentError, shownInput } from "../client/core/index.js";
import { FailureRateWindow } from "./failure-rate-window.js";

/**
 * Passive outlier detection of a balanced transport: an instance whose calls fail at the connection level,
 * or fail too often, is taken out of picking for a while. Only the caller's own observations count; there
 * are no probes.
 */
export interface OutlierDetectionOptions {
  /**
   * Consecutive UNAVAILABLE failures that eject an instance when the request may have reached it (a
   * dropped connection, or UNAVAILABLE from the server itself, which can be a momentary overload). Default 3.
   */
  consecutiveFailures?: number | undefined;
  /**
   * Consecutive failures that eject an instance when the request provably never reached it: an UNAVAILABLE
   * marked `wasNotSent` (but not an HTTP/2 REFUSED_STREAM, which a live server sends), or the connection
   * itself could not be made (connection refused and other `connect` errors). Default 1:
   * a refused connection is the signature of a crashed process whose lease has not expired yet, and
   * ejecting on it costs nothing the caller could have had (the request never left).
   */
  consecutiveRefusals?: number | undefined;
  /**
   * Ejection time of a first ejection, in ms. An instance ejected again without answering in between stays
   * out `baseEjectionMs × n` for its n-th ejection (Envoy's rule), up to `maxEjectionMs`. Default 10000.
   */
  baseEjectionMs?: number | undefined;
  /** Cap of the ejection time, in ms. Default 300000 (5 minutes, Envoy's default). */
  maxEjectionMs?: number | undefined;
  /**
   * Success-rate ejection: the share of failed calls (by `callVerdict`: UNAVAILABLE, INTERNAL,
   * UNKNOWN, DEADLINE_EXCEEDED, a lost or refused connection) among an instance's last
   * `failureRateWindow` calls at or above which it is ejected, a number in (0, 1]. Default 0.5.
   */
  failureRate?: number | undefined;
  /** Calls judged by `failureRate` (the last ones; a rate is judged once this many ended). 0 turns success-rate ejection off. Default 20. */
  failureRateWindow?: number | undefined;
}

/** {@link OutlierDetectionOptions} with every default applied. */
export type OutlierDetectionSettings = Readonly<Required<OutlierDetectionOptions>>;

/** Applies the defaults of {@link OutlierDetectionOptions}. */
export function outlierDetectionSettings(options: OutlierDetectionOptions = {}): OutlierDetectionSettings {
  const { failureRate, failureRateWindow } = options;
  if (failureRate !== undefined && !(typeof failureRate === "number" && failureRate > 0 && failureRate <= 1))
    throw new InvalidArgumentError(
      "outlierDetection.failureRate",
      `must be a number in (0, 1], got ${shownInput(failureRate)}`,
    );
  if (failureRateWindow !== undefined && !(Number.isInteger(failureRateWindow) && failureRateWindow >= 0))
    throw new InvalidArgumentError(
      "outlierDetection.failureRateWindow",
      `must be an integer >= 0, got ${shownInput(failureRateWindow)}`,
    );
  return {
    consecutiveFailures: Math.max(1, options.consecutiveFailures ?? 3),
    consecutiveRefusals: Math.max(1, options.consecutiveRefusals ?? 1),
    baseEjectionMs: Math.max(0, options.baseEjectionMs ?? 10_000),
    maxEjectionMs: Math.max(0, options.maxEjectionMs ?? 300_000),
    failureRate: failureRate ?? 0.5,
    failureRateWindow: failureRateWindow ?? 20,
  };
}

/**
 * What one call says about the health of the instance it went to:
 * - `answered`: the instance answered (a response, or an application error such as NOT_FOUND);
 * - `refused`: the request provably never reached it (no connection could be made);
 * - `unavailable`: UNAVAILABLE after the request may have reached it, or a stream the server refused;
 * - `neutral`: says nothing (cancelled by the caller, deadline, UNKNOWN/INTERNAL from a broken stream,
 *   a local error that kept the request from leaving).
 */
export type CallOutcome = "answered" | "refused" | "unavailable" | "neutral";

/** Classifies how a call ended (by the client's failure rule, `classifyFailure`): `error` undefined means it succeeded. */
export function callOutcome(error: unknown, aborted = false): CallOutcome {
  if (error === undefined) return "answered";
  if (aborted) return "neutral";
  const failure = classifyFailure(error);
  switch (failure.kind) {
    case "unreachable":
      return "refused";
    // A stream the server refused (REFUSED_STREAM: e.g. it is rotating its connection with GOAWAY) was not
    // processed, but the server is up: it counts like any UNAVAILABLE, not as a refused connection.
    case "unavailable":
      return "unavailable";
    // Not the instance's answer: the caller gave up, or a stream broke in a way the transport could not name.
    case "cancelled":
    case "deadline":
    case "unknown":
      return "neutral";
    default:
      // Never-sent refusals are local (message too large, bad header, no token): not about the instance.
      return failure.sent ? "answered" : "neutral";
  }
}

/**
 * Whether a call counts as a failure of the instance for success rates (success-rate ejection, p2c-ewma),
 * by the client's failure rule (`classifyFailure`): `true` for a connection refused or lost, UNAVAILABLE,
 * UNKNOWN or INTERNAL, and a deadline that passed after sending; `false` for an answer, application errors
 * included (NOT_FOUND, INVALID_ARGUMENT, ...); `undefined` when the call says nothing about the instance
 * (cancelled by the caller, UNAUTHENTICATED, a local error that kept the request from leaving).
 */
export function callVerdict(error: unknown, aborted = false): boolean | undefined {
  if (error === undefined) return false;
  if (aborted) return undefined;
  const failure = classifyFailure(error);
  switch (failure.kind) {
    case "unreachable":
    case "unavailable":
      return true;
    case "unknown":
    case "deadline":
      return failure.sent ? true : undefined;
    case "refused":
      return failure.sent ? false : undefined;
    default:
      return undefined;
  }
}

/**
 * The ejection bookkeeping of one instance. Time is passed in (no timers): an instance is ejected while
 * `now < ejectedUntil`, then back on probation, where a single failure ejects it again for longer and one
 * answer clears its record. Beside the consecutive-failure rule, a window of the last calls' verdicts
 * ejects an instance whose share of failures reaches `failureRate` (success-rate ejection).
 */
export class InstanceHealth {
  readonly #settings: OutlierDetectionSettings;
  /** End of the current ejection (ms since the epoch); 0 when never ejected. */
  ejectedUntil = 0;
  /** Ejections since the instance last answered. */
  ejections = 0;
  #failures = 0;
  #refusals = 0;
  /** Undefined when success-rate ejection is off. */
  readonly #window: FailureRateWindow | undefined;

  constructor(settings: OutlierDetectionSettings) {
    this.#settings = settings;
    this.#window =
      settings.failureRateWindow > 0 ? new FailureRateWindow(settings.failureRateWindow) : undefined;
  }

  /** Whether the instance is out of picking at `now`. */
  isEjected(now: number): boolean {
    return now < this.ejectedUntil;
  }

  /**
   * Records the outcome of a call that ended at `now`; returns true when it ejected the instance. While
   * ejected, outcomes are ignored: the ejection is time-based, so that calls already in flight when it
   * began (or sent to it because every instance was ejected) neither lengthen nor end it. `failed` is the
   * call's `callVerdict` for success-rate ejection (undefined: not counted there).
   */
  record(outcome: CallOutcome, now: number, failed?: boolean): boolean {
    if (this.isEjected(now)) return false;
    if (failed !== undefined && this.#window) {
      this.#window.add(failed);
      const rate = this.#window.rate();
      if (rate !== undefined && rate >= this.#settings.failureRate) {
        this.#eject(now);
        return true;
      }
    }
    if (outcome === "neutral") return false;
    if (outcome === "answered") {
      this.#failures = 0;
      this.#refusals = 0;
      this.ejections = 0;
      return false;
    }
    this.#failures++;
    this.#refusals = outcome === "refused" ? this.#refusals + 1 : 0;
    const onProbation = this.ejections > 0;
    if (
      !onProbation &&
      this.#failures < this.#settings.consecutiveFailures &&
      this.#refusals < this.#settings.consecutiveRefusals
    ) {
      return false;
    }
    this.#eject(now);
    return true;
  }

  #eject(now: number): void {
    this.ejections++;
    const { baseEjectionMs, maxEjectionMs } = this.#settings;
    this.ejectedUntil = now + Math.min(baseEjectionMs * this.ejections, maxEjectionMs);
    this.#failures = 0;
    this.#refusals = 0;
    this.#window?.clear();
  }
}
