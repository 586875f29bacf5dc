import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { EmulatedStream, type OpenRequest } from "./emulated-stream.js";
import { decodeJson, encodeJson } from "./json-codec.js";

/**
 * A server-streaming RPC over etcd's gateway (`Maintenance/Snapshot`, `Election/Observe`): the one request
 * message is POSTed, and each `{"result": ...}` line of the answer is one message, read as it arrives (a
 * snapshot is never held whole). The stream ends when the answer does.
 */
export class GatewayServerStream<I extends DescMessage, O extends DescMessage> extends EmulatedStream<
  MessageInitShape<I>,
  MessageShape<O>
> {
  readonly #input: I;
  readonly #output: O;
  #sent = false;

  constructor(open: OpenRequest, rpc: string, input: I, output: O) {
    super(open, rpc);
    this.#input = input;
    this.#output = output;
  }

  protected receive(message: MessageInitShape<I>): void {
    if (this.#sent) return;
    this.#sent = true;
    void this.#read(encodeJson(this.#input, message));
  }

  /** The request went out with the first message; the answer decides when the stream ends. */
  protected override inputEnded(): void {
    if (!this.#sent) this.end();
  }

  async #read(body: string): Promise<void> {
    const request = this.request(body);
    try {
      const response = await request.send();
      for await (const result of request.results(response))
        this.push(decodeJson(this.#output, result, this.rpc));
      this.end();
    } catch (err) {
      this.fail(err);
    }
  }
}
