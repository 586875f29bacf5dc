import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";

/** The gRPC path of a method, e.g. `/etcdserverpb.KV/Range`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** grpc-js serializer for `schema`: accepts a message or its init shape. */
export function serializer<I extends DescMessage>(schema: I): (value: MessageInitShape<I>) => Buffer {
  return (value) => {
    const bytes = toBinary(schema, create(schema, value));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/**
 * grpc-js deserializer for `schema`. Reads through a plain Uint8Array view so bytes fields come out as
 * Uint8Array (as with every other transport), not as Buffer slices.
 */
export function deserializer<O extends DescMessage>(schema: O): (bytes: Buffer) => MessageShape<O> {
  return (bytes) => fromBinary(schema, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
