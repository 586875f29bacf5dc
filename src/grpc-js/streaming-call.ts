import type { DescMessage, DescMethodStreaming, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse } from "@connectrpc/connect";
import {
  type CallOptions,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  type Metadata,
  status as Status,
  type StatusObject,
} from "@grpc/grpc-js";
import type { HeadersInit } from "../client/transport/index.js";
import { deserializer, methodPath, serializer } from "./codec.js";
import { headersFromMetadata, metadataFromHeaders } from "./metadata.js";
import { ResponseQueue } from "./response-queue.js";
import { connectErrorFromStatus } from "./status-error.js";

/** What the transport needs of any grpc-js call: a way to cancel it. */
export interface CancellableCall {
  cancel(): void;
}

/** Parameters of {@link startStreamingCall}. */
export interface StreamingCallSpec<I extends DescMessage, O extends DescMessage> {
  method: DescMethodStreaming<I, O>;
  signal: AbortSignal | undefined;
  header: HeadersInit | undefined;
  input: AsyncIterable<MessageInitShape<I>>;
  options: CallOptions;
  /** Registers the call with the transport; returns the cleanup run when the call ends. */
  track(call: CancellableCall): () => void;
}

type AnyGrpcStream<I extends DescMessage, O extends DescMessage> =
  | ClientDuplexStream<MessageInitShape<I>, MessageShape<O>>
  | ClientReadableStream<MessageShape<O>>
  | ClientWritableStream<MessageInitShape<I>>;

/**
 * Starts a server-, client- or bidi-streaming call and resolves with Connect's StreamResponse once
 * response headers arrive. Messages flow through a ResponseQueue (pausing grpc-js when the reader lags);
 * the stream ends when both the readable side ended and the status arrived, so no message is lost.
 */
export async function startStreamingCall<I extends DescMessage, O extends DescMessage>(
  client: Client,
  spec: StreamingCallSpec<I, O>,
): Promise<StreamResponse<I, O>> {
  const { method, signal, options } = spec;
  const path = methodPath(method);
  const ser = serializer(method.input);
  const de = deserializer(method.output);
  const metadata = metadataFromHeaders(spec.header);

  let call: AnyGrpcStream<I, O>;
  let clientStreamResult: MessageShape<O> | undefined;
  switch (method.methodKind) {
    case "server_streaming": {
      const first = await firstMessage(spec.input);
      call = client.makeServerStreamRequest(path, ser, de, first, metadata, options);
      break;
    }
    case "client_streaming":
      call = client.makeClientStreamRequest(path, ser, de, metadata, options, (_error, value) => {
        clientStreamResult = value;
      });
      break;
    case "bidi_streaming":
      call = client.makeBidiStreamRequest(path, ser, de, metadata, options);
      break;
  }
  const release = spec.track(call);
  const readable = method.methodKind !== "client_streaming";
  const trailer = new Headers();
  let inputError: unknown;
  let finalStatus: StatusObject | undefined;
  let readableEnded = !readable;

  const queue = new ResponseQueue<MessageShape<O>>({
    onPressure: (paused) => {
      if (!readable) return;
      const r = call as ClientReadableStream<MessageShape<O>>;
      if (paused) r.pause();
      else r.resume();
    },
    onReturn: () => call.cancel(),
  });

  const errorOf = (status: StatusObject): ConnectError =>
    inputError !== undefined && !signal?.aborted
      ? ConnectError.from(inputError, Code.Internal)
      : connectErrorFromStatus(status, signal);

  const finish = () => {
    if (!finalStatus || !readableEnded) return;
    if (finalStatus.code === Status.OK) {
      if (clientStreamResult !== undefined) queue.push(clientStreamResult);
      queue.end();
    } else {
      queue.end(errorOf(finalStatus));
    }
  };

  // Errors are handled through "status"; without a listener Node would throw them.
  call.on("error", () => {});
  if (readable) {
    call.on("data", (message: MessageShape<O>) => queue.push(message));
    call.on("end", () => {
      readableEnded = true;
      finish();
    });
  }

  let statusArrived!: () => void;
  const statusPromise = new Promise<void>((resolve) => {
    statusArrived = resolve;
  });

  const response = new Promise<StreamResponse<I, O>>((resolve, reject) => {
    const respond = (header: Headers) =>
      resolve({ stream: true, service: method.parent, method, header, trailer, message: queue });
    call.on("metadata", (received: Metadata) => respond(headersFromMetadata(received)));
    call.on("status", (status: StatusObject) => {
      release();
      finalStatus = status;
      headersFromMetadata(status.metadata).forEach((value, key) => {
        trailer.append(key, value);
      });
      statusArrived();
      // Trailers-only answer (an error before any header): the caller sees it from stream() itself.
      if (status.code !== Status.OK) reject(errorOf(status));
      else respond(new Headers());
      finish();
    });
  });

  if (method.methodKind !== "server_streaming") {
    void pumpInput(call as ClientWritableStream<MessageInitShape<I>>, spec.input, statusPromise, (error) => {
      inputError = error;
      call.cancel();
    });
  }
  return response;
}

/**
 * Writes `input` to the call with backpressure, then half-closes. Once the call has ended it stops
 * waiting for `input` and calls its `return()`, so a generator behind it runs its `finally` blocks
 * instead of hanging forever on a message nobody will send.
 */
async function pumpInput<T>(
  call: ClientWritableStream<T>,
  input: AsyncIterable<T>,
  ended: Promise<void>,
  onError: (error: unknown) => void,
): Promise<void> {
  const ENDED = Symbol("ended");
  // Not `Promise.race([x, callEnded])`: every race leaves a reaction on the one long-lived `ended`
  // promise, which keeps each race's result (every request written) alive until the call ends
  // (nodejs/node#17469). One reaction on `ended` wakes whichever wait is current.
  let hasEnded = false;
  let wake: ((value: typeof ENDED) => void) | undefined;
  void ended.then(() => {
    hasEnded = true;
    const current = wake;
    wake = undefined;
    current?.(ENDED);
  });
  const untilEnded = <V>(promise: Promise<V>): Promise<V | typeof ENDED> => {
    if (hasEnded) {
      promise.then(undefined, () => {});
      return Promise.resolve(ENDED);
    }
    return new Promise((resolve, reject) => {
      wake = resolve;
      promise.then(
        (value) => {
          wake = undefined;
          resolve(value);
        },
        (error: unknown) => {
          wake = undefined;
          reject(error);
        },
      );
    });
  };
  const iterator = input[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await untilEnded(iterator.next());
      if (next === ENDED) {
        void Promise.resolve(iterator.return?.()).catch(() => {});
        return;
      }
      if (next.done) break;
      if (!call.write(next.value)) {
        const drained = new Promise<void>((resolve) => call.once("drain", () => resolve()));
        if ((await untilEnded(drained)) === ENDED) {
          void Promise.resolve(iterator.return?.()).catch(() => {});
          return;
        }
      }
    }
    call.end();
  } catch (error) {
    onError(error);
  }
}

async function firstMessage<T>(input: AsyncIterable<T>): Promise<T> {
  for await (const message of input) return message;
  throw new ConnectError("server-streaming call needs one request message", Code.Internal);
}
