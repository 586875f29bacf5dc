/** Why the CLI was asked to stop: the signal's name is the reason of the aborted signal. */
export interface Interrupt {
  /** Aborted on the first SIGINT or SIGTERM (or when stdout's reader went away); `reason` names it. */
  readonly signal: AbortSignal;
  /** Stops listening for the signals. */
  dispose(): void;
}

/**
 * Turns SIGINT and SIGTERM into an aborted signal, so that streaming commands end cleanly and close
 * the client; a second signal exits at once with 130, for a command stuck in its cleanup. A closed
 * stdout (`etcd-ts watch x | head -1`) stops the command the same way.
 */
export function listenForInterrupt(): Interrupt {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(signal);
  };
  // Nothing more can be printed (EPIPE, mostly): stop as a signal would. Kept after dispose(), so that
  // a write still pending then cannot crash the process with an unhandled "error" event.
  const onStdoutError = () => controller.abort("EPIPE");
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.stdout.on("error", onStdoutError);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
