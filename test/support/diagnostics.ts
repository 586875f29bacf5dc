import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { type DiagnosticsChannelName, diagnosticsChannels } from "../../src/client/index.js";

/** One event seen on a diagnostics channel; `payload` is the object as published. */
export interface RecordedEvent {
  readonly channel: DiagnosticsChannelName;
  /** A shallow copy taken when it was published (the library fills start objects in later). */
  readonly snapshot: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

/**
 * Subscribes to every etcd-ts diagnostics channel (as a user's program would, by name) and records what
 * is published, in order, until `close()`.
 */
export class DiagnosticsRecorder {
  readonly events: RecordedEvent[] = [];
  readonly #subscriptions: [string, (message: unknown, name: string | symbol) => void][] = [];

  constructor() {
    for (const channel of Object.values(diagnosticsChannels)) {
      const fn = (message: unknown) => {
        const payload = message as Record<string, unknown>;
        this.events.push({ channel, snapshot: { ...payload }, payload });
      };
      subscribe(channel, fn);
      this.#subscriptions.push([channel, fn]);
    }
  }

  /** The recorded events of `channel` (snapshots), optionally only those matching `filter`. */
  of(channel: DiagnosticsChannelName, filter: (e: Record<string, unknown>) => boolean = () => true) {
    return this.events.filter((e) => e.channel === channel && filter(e.snapshot)).map((e) => e.snapshot);
  }

  close(): void {
    for (const [channel, fn] of this.#subscriptions.splice(0)) unsubscribe(channel, fn);
  }
}
