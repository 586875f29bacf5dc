import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  type CompareSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import { checkInteger, shownInput } from "../core/validation.js";
import { type Bytes, toBytes } from "../kv/bytes.js";
import { rangeBounds } from "../kv/requests.js";
import type { KeyRange } from "../kv/types.js";

/** Comparison operators of a txn guard. */
export type CompareOperator = "=" | "!=" | "<" | ">";

/** One guard of a txn, made by the functions of {@link compare}. */
export interface Comparison {
  /** The wire form. */
  readonly message: MessageInitShape<typeof CompareSchema>;
}

/** The guards made by {@link compare}: what `txn().if()` accepts. */
const MADE = new WeakSet<Comparison>();

/**
 * Checks the guards given to `if()`: each must come from {@link compare} (a JavaScript caller's `{}`,
 * string or `undefined` would otherwise reach etcd as an empty compare). Throws `InvalidArgumentError`
 * naming `field` and the guard's position.
 */
export function checkComparisons(comparisons: readonly unknown[], field: string): Comparison[] {
  comparisons.forEach((c, i) => {
    if (typeof c !== "object" || c === null || !MADE.has(c as Comparison))
      throw new InvalidArgumentError(
        field,
        `guard ${i + 1} must be made by compare.value, version, createRevision, modRevision or lease, got ${shownInput(c)}`,
      );
  });
  return comparisons as Comparison[];
}

const RESULTS: Readonly<Record<CompareOperator, Compare_CompareResult>> = {
  "=": Compare_CompareResult.EQUAL,
  "!=": Compare_CompareResult.NOT_EQUAL,
  "<": Compare_CompareResult.LESS,
  ">": Compare_CompareResult.GREATER,
};

function build(
  target: Bytes | KeyRange,
  operator: CompareOperator,
  kind: Compare_CompareTarget,
  union: MessageInitShape<typeof CompareSchema>["targetUnion"],
): Comparison {
  const result = Object.hasOwn(RESULTS, operator) ? RESULTS[operator] : undefined;
  if (result === undefined)
    throw new InvalidArgumentError("operator", `must be one of = != < >, got ${shownInput(operator)}`);
  const { key, rangeEnd } = rangeBounds(target);
  const comparison: Comparison = { message: { key, rangeEnd, result, target: kind, targetUnion: union } };
  MADE.add(comparison);
  return comparison;
}

/**
 * Guards for `etcd.txn().if(...)`. Each takes a key (or a range: then every key in it must match),
 * an operator, and the operand. A missing key has version, create and mod revision 0.
 */
export const compare = {
  /** Compares the value's bytes. */
  value(target: Bytes | KeyRange, operator: CompareOperator, value: Bytes): Comparison {
    return build(target, operator, Compare_CompareTarget.VALUE, {
      case: "value",
      value: toBytes(value, "value"),
    });
  },
  /** Compares the version (number of puts since creation; 0 when missing). */
  version(target: Bytes | KeyRange, operator: CompareOperator, version: number | bigint): Comparison {
    const value = checkInteger(version, "version");
    return build(target, operator, Compare_CompareTarget.VERSION, { case: "version", value });
  },
  /** Compares the creation revision. */
  createRevision(target: Bytes | KeyRange, operator: CompareOperator, revision: number | bigint): Comparison {
    const value = checkInteger(revision, "createRevision");
    return build(target, operator, Compare_CompareTarget.CREATE, { case: "createRevision", value });
  },
  /** Compares the last modification revision. */
  modRevision(target: Bytes | KeyRange, operator: CompareOperator, revision: number | bigint): Comparison {
    const value = checkInteger(revision, "modRevision");
    return build(target, operator, Compare_CompareTarget.MOD, { case: "modRevision", value });
  },
  /** Compares the attached lease ID (0 for none). */
  lease(target: Bytes | KeyRange, operator: CompareOperator, lease: number | bigint): Comparison {
    const value = checkInteger(lease, "lease");
    return build(target, operator, Compare_CompareTarget.LEASE, { case: "lease", value });
  },
} as const;
