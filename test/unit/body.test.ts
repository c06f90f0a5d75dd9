import { describe, expect, it } from "vitest";
import { readBodyLimited } from "../../src/http/body.ts";

function streamed(parts: string[], headers: Record<string, string> = {}): Request {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
  return new Request("https://x.test", { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

describe("readBodyLimited", () => {
  it("returns the exact text, byte for byte, across chunks", async () => {
    expect(await readBodyLimited(streamed(['{"a":', ' "é"}\n']), 100)).toEqual({
      ok: true,
      text: '{"a": "é"}\n',
    });
  });

  it("refuses a declared length over the limit without reading", async () => {
    const request = streamed(["x"], { "content-length": "101" });
    expect(await readBodyLimited(request, 100)).toEqual({ ok: false, reason: "too_large" });
  });

  it("reads a body with a declared length in one piece, and still refuses more than the limit", async () => {
    expect(await readBodyLimited(streamed(['{"a":', ' "é"}'], { "content-length": "11" }), 100)).toEqual({
      ok: true,
      text: '{"a": "é"}',
    });
    const understated = streamed(["x".repeat(60), "x".repeat(60)], { "content-length": "10" });
    expect(await readBodyLimited(understated, 100)).toEqual({ ok: false, reason: "too_large" });
  });

  it("refuses a body that grows past the limit even when no length was declared", async () => {
    expect(await readBodyLimited(streamed(["x".repeat(60), "x".repeat(60)]), 100)).toEqual({
      ok: false,
      reason: "too_large",
    });
  });
});
