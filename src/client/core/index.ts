/**
 * The core floor as the package's other entry points reach it (`etcd-ts/discovery`, the grpc-js and
 * connect-node transports, the test kit): the errors, the failure rule, validation, waiting (sleep, waitSignal), backoff,
 * lifecycle, the event emitter of live objects, async queue and queued iterator the client itself is built with. Internal: no `package.json` export
 * names it, so users cannot come to depend on these helpers; the errors reach them through `etcd-ts`.
 * @packageDocumentation
 */
export * from "./async-queue.js";
export * from "./backoff.js";
export * from "./errors.js";
export * from "./event-emitter.js";
export * from "./failure.js";
export * from "./lifecycle.js";
export * from "./queued-iterator.js";
export * from "./signals.js";
export * from "./validation.js";
