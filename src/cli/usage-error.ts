import { Code } from "@connectrpc/connect";
import { EtcdError } from "../client/index.js";

/**
 * The command line is wrong (unknown option, missing argument, a value that does not parse): the CLI
 * says so in one line and exits with code 2, before anything is sent.
 */
export class UsageError extends EtcdError {
  override name = "UsageError";
  constructor(message: string) {
    super(message, { code: Code.InvalidArgument });
  }
}
