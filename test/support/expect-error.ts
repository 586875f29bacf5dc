import { type Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";

/** Awaits `promise`, expects it to reject with a ConnectError of `code` whose raw message is `message`. */
export async function expectConnectError(
  promise: Promise<unknown>,
  code: Code,
  message?: string | RegExp,
): Promise<ConnectError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected a ConnectError with code ${code}, got a result: ${String(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  const connectError = error as ConnectError;
  expect({ code: connectError.code, message: connectError.rawMessage }).toEqual({
    code,
    message:
      message === undefined
        ? expect.any(String)
        : typeof message === "string"
          ? message
          : expect.stringMatching(message),
  });
  return connectError;
}

/** Collects the messages of a stream until it ends or throws; returns them and the error, if any. */
export async function drain<T>(stream: AsyncIterable<T>): Promise<{ messages: T[]; error: unknown }> {
  const messages: T[] = [];
  try {
    for await (const m of stream) messages.push(m);
    return { messages, error: undefined };
  } catch (error) {
    return { messages, error };
  }
}
