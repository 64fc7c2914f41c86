import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, without types
import { schemaSource } from "../../scripts/make_onnx_schema.mjs";

describe("ONNX schema", () => {
  it("schema.generated.ts is current with the committed official onnx.proto", () => {
    const dir = new URL("../../packages/nn/src/formats/onnx/", import.meta.url);
    expect(readFileSync(new URL("schema.generated.ts", dir), "utf8")).toBe(schemaSource());
    const proto = readFileSync(new URL("onnx.proto", dir), "utf8");
    expect(proto).toContain("SPDX-License-Identifier: Apache-2.0");
    expect(proto).toContain("message ModelProto");
  });
});
