import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../client/core/errors.js";
import { failpointsVariable } from "./failpoints.js";

describe("failpointsVariable", () => {
  it("joins name=term pairs as GOFAIL_FAILPOINTS wants them", () => {
    expect(failpointsVariable({})).toBe("");
    expect(failpointsVariable({ beforeSyncWatchers: "sleep(8000)", raftBeforeSave: "1*panic" })).toBe(
      "beforeSyncWatchers=sleep(8000);raftBeforeSave=1*panic",
    );
  });

  it("refuses names and terms that would garble the variable", () => {
    expect(() => failpointsVariable({ "a=b": "sleep(1)" })).toThrow(InvalidArgumentError);
    expect(() => failpointsVariable({ a: "" })).toThrow(/non-empty gofail term/);
    expect(() => failpointsVariable({ a: "sleep(1);b=panic" })).toThrow(/without ";"/);
    expect(() => failpointsVariable(null as unknown as Record<string, string>)).toThrow(/must be an object/);
  });
});
