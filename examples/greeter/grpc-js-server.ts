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

/** Starts a Greeter on `@grpc/grpc-js` at `127.0.0.1:<port>`. */
export async function startGrpcJsGreeter(port: number, impl = "grpc-js"): Promise<GreeterServer> {
  const addr = `127.0.0.1:${port}`;
  const server = new grpc.Server();
  const calls = new CallCounter();
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
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return {
    addr,
    impl,
    inFlight: () => calls.inFlight,
    // tryShutdown lets calls in flight finish; new calls are refused.
    shutdown: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
