// The refund request of WeChat Pay API v3 as the simulator answers it: signed like every answer,
// idempotent by out_refund_no, never beyond what is left, and followed by a REFUND.SUCCESS notification.
import { beforeAll, describe, expect, it } from "vitest";
import type { SandboxResponse } from "../http.ts";
import { generateWechatKeys, type WechatCredentials, type WechatPlatformKeys } from "./index.ts";
import { decryptResource, merchantRequest, verifyWechatSignature } from "./merchant-kit.ts";
import { simulatorForTest, TEST_NOTIFY_URL } from "./testing.ts";

let credentials: WechatCredentials;
let platformKeys: WechatPlatformKeys;
const START_MS = Date.parse("2024-05-20T10:00:00+08:00");

beforeAll(async () => {
  ({ credentials, platformKeys } = await generateWechatKeys());
});

function setup() {
  const test = simulatorForTest(
    { credentials, platformKeys },
    { mode: "public_key", seed: 3, startMs: START_MS },
  );
  const refund = async (body: Record<string, unknown>): Promise<SandboxResponse> => {
    const request = merchantRequest(credentials, {
      method: "POST",
      url: "/v3/refund/domestic/refunds",
      body,
      nowMs: test.now(),
    });
    const response = await test.sandbox.handle(request);
    if (!response) throw new Error("the simulator did not answer");
    return response;
  };
  return { ...test, refund };
}

const bodyOf = (response: SandboxResponse) =>
  JSON.parse(String(response.body ?? "null")) as Record<string, unknown>;
const request = (outRefundNo: string, refund: number) => ({
  out_trade_no: "order_r_1",
  out_refund_no: outRefundNo,
  notify_url: TEST_NOTIFY_URL,
  amount: { refund, total: 990, currency: "CNY" },
});

describe("WeChat Pay refund request", () => {
  it("answers PROCESSING, signed, and notifies REFUND.SUCCESS for the refund", async () => {
    const { sandbox, deliveries, refund } = setup();
    sandbox.pay({ outTradeNo: "order_r_1", amountMinor: 990 });
    deliveries.length = 0;
    const response = await refund(request("R1", 495));
    expect(response.status).toBe(200);
    expect(verifyWechatSignature(credentials, response.headers ?? {}, String(response.body))).toBe(true);
    const answer = bodyOf(response);
    expect(answer).toMatchObject({
      out_refund_no: "R1",
      status: "PROCESSING",
      amount: { refund: 495, total: 990 },
    });
    const [delivery] = deliveries;
    if (!delivery) throw new Error("no notification");
    const envelope = JSON.parse(delivery.body) as {
      event_type: string;
      resource: Parameters<typeof decryptResource>[1];
    };
    expect(envelope.event_type).toBe("REFUND.SUCCESS");
    expect(decryptResource(credentials.apiV3Key, envelope.resource)).toMatchObject({
      refund_id: answer.refund_id,
      out_trade_no: "order_r_1",
      refund_status: "SUCCESS",
      amount: { refund: 495 },
    });
  });

  it("returns the same refund for a repeated out_refund_no and refuses more than is left", async () => {
    const { sandbox, refund } = setup();
    sandbox.pay({ outTradeNo: "order_r_1", amountMinor: 990 });
    const first = bodyOf(await refund(request("R1", 600)));
    const repeat = bodyOf(await refund(request("R1", 600)));
    expect(repeat.refund_id).toBe(first.refund_id);
    expect(repeat.status).toBe("SUCCESS");
    const tooMuch = await refund(request("R2", 400));
    expect(tooMuch.status).toBe(403);
    expect(bodyOf(tooMuch)).toMatchObject({ code: "NOT_ENOUGH" });
    expect((await refund(request("R3", 390))).status).toBe(200);
  });

  it("refuses an unpaid order and a malformed request", async () => {
    const { refund } = setup();
    expect((await refund(request("R1", 100))).status).toBe(404);
    expect(bodyOf(await refund({ out_refund_no: "R1" }))).toMatchObject({ code: "PARAM_ERROR" });
  });
});

describe("WeChat Pay refund query by out_refund_no", () => {
  it("answers the refund as it stands, signed, and 404 RESOURCE_NOT_EXISTS for an unknown one", async () => {
    const { sandbox, refund, now } = setup();
    sandbox.pay({ outTradeNo: "order_r_1", amountMinor: 990 });
    const created = bodyOf(await refund(request("R1", 300)));
    const query = async (outRefundNo: string) => {
      const response = await sandbox.handle(
        merchantRequest(credentials, {
          method: "GET",
          url: `/v3/refund/domestic/refunds/${outRefundNo}`,
          nowMs: now(),
        }),
      );
      if (!response) throw new Error("the simulator did not answer");
      return response;
    };
    const found = await query("R1");
    expect(found.status).toBe(200);
    expect(verifyWechatSignature(credentials, found.headers ?? {}, String(found.body))).toBe(true);
    expect(bodyOf(found)).toMatchObject({
      refund_id: created.refund_id,
      out_refund_no: "R1",
      out_trade_no: "order_r_1",
      status: "SUCCESS",
      amount: { refund: 300, total: 990, currency: "CNY" },
    });
    expect(bodyOf(found).success_time).toEqual(expect.any(String));
    const missing = await query("R404");
    expect(missing.status).toBe(404);
    expect(bodyOf(missing)).toMatchObject({ code: "RESOURCE_NOT_EXISTS" });
  });
});
