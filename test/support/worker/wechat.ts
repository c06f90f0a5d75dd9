/** WeChat Pay helpers for integration tests: drive the sandbox, deliver notifications, create orders. */
import { type Delivery, deliver, sandbox, sql } from "./harness.ts";

export interface WechatAnswer {
  eventIds: string[];
  deliveries: Delivery[];
}

export function wechatScenario(action: string, body: Record<string, unknown>): Promise<WechatAnswer> {
  return sandbox<WechatAnswer>(`wechat/${action}`, { ...body, deliver: false });
}

export const setWechatMode = (mode: "public_key" | "certificate" | "mixed") =>
  sandbox("wechat/mode", { mode });

export const deliverWechat = (delivery: Delivery) => deliver(delivery, "/webhooks/wechatpay");

export async function createWechatOrder(userId: string): Promise<string> {
  const rows = await sql<{ order: { id: string } }>(
    "select payguard.create_order($1::uuid, 'credits_cny', 'wechatpay', $2::timestamptz) as order",
    [userId, new Date().toISOString()],
  );
  const id = rows[0]?.order.id;
  if (!id) throw new Error("create_order returned nothing");
  return id;
}

/** The one delivery a scenario step produced. */
export function only(answer: WechatAnswer): Delivery {
  const [delivery] = answer.deliveries;
  if (!delivery || answer.deliveries.length !== 1)
    throw new Error(`expected one delivery, got ${answer.deliveries.length}`);
  return delivery;
}
