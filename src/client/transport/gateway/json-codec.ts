import {
  create,
  type DescMessage,
  fromJson,
  type JsonValue,
  type MessageInitShape,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * A request as etcd's gateway reads it: proto3 JSON with the proto's own field names (`range_end`, not
 * `rangeEnd`), int64 as strings and bytes as base64, as grpc-gateway's `OrigName` marshaler writes them.
 */
export function encodeJson<I extends DescMessage>(schema: I, input: MessageInitShape<I>): string {
  return JSON.stringify(toJson(schema, create(schema, input), { useProtoFieldName: true }));
}

/**
 * An answer of the gateway as a message. Fields the schema does not know (a newer server's) are skipped,
 * as the binary codec skips them; anything else that does not fit is INTERNAL, as a gRPC transport's
 * undecodable message is.
 */
export function decodeJson<O extends DescMessage>(schema: O, json: unknown, rpc: string): MessageShape<O> {
  try {
    return fromJson(schema, json as JsonValue, { ignoreUnknownFields: true });
  } catch (err) {
    throw new ConnectError(
      `${rpc}: cannot read the gateway's answer: ${err instanceof Error ? err.message : String(err)}`,
      Code.Internal,
      undefined,
      undefined,
      err,
    );
  }
}
