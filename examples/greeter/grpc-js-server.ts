import { create, type DescMessage, type DescMethodUnary, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  Greeter,
  type HelloReply,
  HelloReplySchema,
  type HelloRequest,
} from "./gen/helloworld/helloworld_pb.js";
import { CallCounter, type GreeterServer, greeting } from "./greeter-server.js";

/**
 * A grpc-js method definition built from a protobuf-es descriptor: the path and the (de)serializers are
 * all grpc-js needs, so no `@grpc/proto-loader` or grpc-tools codegen.
 */
export function grpcUnaryDefinition<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
) {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: (m: unknown) => Buffer.from(toBinary(method.input, m as never)),
    requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
    responseSerialize: (m: unknown) => Buffer.from(toBinary(method.output, m as never)),
    responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
  };
}

/**
 * How long a stop waits, once no call is in flight, for grpc-js's own graceful stop before it drops the
 * connections left. grpc-js 1.14's `tryShutdown` never calls back when a client closed its connection
 * just before (the session is destroyed but its `close` event not delivered yet: `Http2Session.close()`
 * on it registers a callback that never runs), so the stop would hang; nothing of ours is left to finish
 * by then but replies already handed to grpc-js, which this leaves time to be written.
 */
const DRAIN_GRACE_MS = 1_000;

/**
 * Starts a Greeter on `@grpc/grpc-js` at `127.0.0.1:<port>`; port 0 (the default) binds a port the
 * kernel picks, read back into `addr`, so no other process can take it between a pick and the bind.
 */
export async function startGrpcJsGreeter(port = 0, impl = "grpc-js"): Promise<GreeterServer> {
  const server = new grpc.Server();
  const calls = new CallCounter();
  let addr = "";
  server.addService(
    { sayHello: grpcUnaryDefinition(Greeter.method.sayHello) },
    {
      sayHello: (
        call: grpc.ServerUnaryCall<HelloRequest, HelloReply>,
        callback: grpc.sendUnaryData<HelloReply>,
      ) => {
        calls
          .run(() => create(HelloReplySchema, { message: greeting(call.request.name, impl, addr) }))
          .then((reply) => callback(null, reply));
      },
    },
  );
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  addr = `127.0.0.1:${bound}`;
  return {
    addr,
    impl,
    inFlight: () => calls.inFlight,
    // tryShutdown lets calls in flight finish; new calls are refused. Once none is in flight, a stop
    // that grpc-js does not finish within DRAIN_GRACE_MS is forced (see there).
    shutdown: async () => {
      let timer: NodeJS.Timeout | undefined;
      const stopped = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const forced = calls.idle().then(
        () =>
          new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              server.forceShutdown();
              resolve();
            }, DRAIN_GRACE_MS);
            // Armed after a graceful stop that already finished, it must not hold the process.
            timer.unref();
          }),
      );
      try {
        await Promise.race([stopped, forced]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
