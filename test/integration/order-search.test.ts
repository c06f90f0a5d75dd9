/**
 * The orders list's search: a recorded Stripe payment intent or WeChat transaction id finds its order; a
 * provider reference recorded nowhere here says so and offers the runbook's repair dry run, prefilled.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { pageHtml, signIn, textOf } from "../support/worker/order-pages.ts";
import {
  type ControlAnswer,
  createOrder,
  deliverStripe,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";
import { createWechatOrder, deliverWechat, only, wechatScenario } from "../support/worker/wechat.ts";

type Paid = ControlAnswer & { sessionId: string; paymentIntentId: string };

let cookie = "";
beforeAll(async () => {
  await seedPackage();
  cookie = await signIn();
});

describe("order search", () => {
  it("finds a paid Stripe order by its payment intent, with paid-at, package and refunded columns", async () => {
    const orderId = await createOrder(crypto.randomUUID());
    const paid = (await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" })) as Paid;
    await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, paid.sessionId]);
    for (const delivery of paid.deliveries) await deliverStripe(delivery);
    expect(await orderStatus(orderId)).toBe("fulfilled");

    const html = await pageHtml(`/admin/orders?q=${paid.paymentIntentId}`, cookie);
    expect(html).toContain(`href="/admin/orders/${orderId}"`);
    expect(html).not.toContain('id="search-fallback"');
    const table = textOf(html, "orders");
    expect(table).toContain("credits_100");
    expect(table).toContain("19.99 USD");
    // Found by the session too.
    expect(await pageHtml(`/admin/orders?q=${paid.sessionId}`, cookie)).toContain(
      `href="/admin/orders/${orderId}"`,
    );
  });

  it("finds a paid WeChat order by its transaction id", async () => {
    const orderId = await createWechatOrder(crypto.randomUUID());
    await deliverWechat(only(await wechatScenario("pay", { orderId, amountMinor: 990 })));
    const [row] = await sql<{ payment_ref: string }>(
      "select payment_ref from payguard.payment_orders where id = $1",
      [orderId],
    );
    expect(row?.payment_ref).toMatch(/^\d{28}$/);
    const html = await pageHtml(`/admin/orders?q=${row?.payment_ref}`, cookie);
    expect(html).toContain(`href="/admin/orders/${orderId}"`);
  });

  it("offers a repair dry run for a payment intent recorded nowhere here", async () => {
    const user = crypto.randomUUID();
    // Paid at Stripe for an order that was never written here (its webhook lost too).
    const paid = (await sandbox("stripe/pay", {
      orderId: `ord_search_${Date.now()}`,
      amountMinor: 1999,
      currency: "usd",
      metadata: { user_id: user, package_id: "credits_100" },
      deliver: false,
    })) as Paid;
    const html = await pageHtml(`/admin/orders?q=${paid.paymentIntentId}`, cookie);
    expect(textOf(html, "search-fallback")).toContain(`${paid.paymentIntentId} is not recorded here.`);
    expect(html).toContain(`href="/admin/runbook?repair_ref=${paid.paymentIntentId}#repair-form"`);
    const zh = await pageHtml(`/admin/orders?q=${paid.paymentIntentId}`, cookie, "zh");
    expect(textOf(zh, "search-fallback")).toContain(`本系统没有 ${paid.paymentIntentId} 的记录。`);
    expect(zh).toContain("对其试运行修复");
  });

  it("explains a Stripe charge id, and offers nothing for text that is no reference", async () => {
    const charge = await pageHtml("/admin/orders?q=ch_3NotRecordedHere0001", cookie);
    expect(textOf(charge, "search-fallback")).toContain("payment intent (pi_…)");
    expect(charge).not.toContain("repair_ref=");
    const text = await pageHtml(`/admin/orders?q=${encodeURIComponent("no such thing at all")}`, cookie);
    expect(text).not.toContain('id="search-fallback"');
  });
});
