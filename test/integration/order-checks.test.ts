/**
 * Every reconcile check leaves its result on the order, and the order page says why the order is not
 * credited: a WeChat check failing with SYSTEM_ERROR (the sandbox's API answering 500 for that order) is
 * recorded with its code and counted, the page shows the error, the next check and the attempts, and the
 * next check after the lease finds it paid and credits it; the success page's own check is recorded but not
 * counted. Serial: sandbox API faults and the reconcile run act on the whole deployment.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { RECONCILE_LEASE_SECONDS } from "../../src/reconcile/limits.ts";
import { CRON_RECONCILE } from "../../src/reconcile/scheduled.ts";
import { userHeaders } from "../support/worker/auth.ts";
import { call, sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { pageHtml, signIn, textOf } from "../support/worker/order-pages.ts";
import { dueOrders, runCron } from "../support/worker/reconcile.ts";
import { createWechatOrder, wechatScenario } from "../support/worker/wechat.ts";

interface CheckRow {
  status: string;
  check_attempts: number;
  last_check_outcome: string | null;
  last_check_error: string | null;
  last_check_ms: number;
  next_check_ms: number;
}

async function checkOf(orderId: string): Promise<CheckRow> {
  const [row] = await sql<CheckRow>(
    `select status, check_attempts, last_check_outcome, last_check_error,
            (extract(epoch from last_check_at) * 1000)::float8 as last_check_ms,
            (extract(epoch from next_check_at) * 1000)::float8 as next_check_ms
       from payguard.payment_orders where id = $1`,
    [orderId],
  );
  if (!row) throw new Error(`no order ${orderId}`);
  return row;
}

/** Runs one reconcile tick at `tickMs` while the sandbox answers 500 under each of `paths`. */
async function tickWithFailing(paths: string[], tickMs: number) {
  await sandbox("faults", { api: paths.map((pathPrefix) => ({ kind: "5xx", pathPrefix })) });
  try {
    await runCron(CRON_RECONCILE, tickMs);
  } finally {
    await sandbox("faults", { api: [] });
  }
}

describe("the last provider check of an order", () => {
  beforeAll(seedPackage);

  it("records a WeChat SYSTEM_ERROR, shows it on the order page, then credits the order once it is answered", async () => {
    const [orderId = ""] = await dueOrders("wechatpay", 1);
    // Paid at WeChat; the notification is dropped, so only the reconcile can find the payment.
    await wechatScenario("pay", { orderId, amountMinor: 990 });
    const tickMs = Date.now();
    await tickWithFailing([`/v3/pay/transactions/out-trade-no/${orderId}`], tickMs);

    const failed = await checkOf(orderId);
    expect(failed).toMatchObject({ status: "pending", check_attempts: 1, last_check_outcome: "error" });
    expect(failed.last_check_error).toMatch(/^SYSTEM_ERROR \(HTTP 500\)/);
    expect(failed.last_check_ms).toBe(tickMs);
    // Checked again when the lease runs out.
    expect(failed.next_check_ms).toBe(tickMs + RECONCILE_LEASE_SECONDS * 1000);

    const cookie = await signIn();
    const html = await pageHtml(`/admin/orders/${orderId}`, cookie);
    const sentence = textOf(html, "why-sentence");
    expect(sentence).toContain("not credited");
    expect(sentence).toContain("failed (SYSTEM_ERROR (HTTP 500))");
    expect(sentence).toMatch(/next check in \d+ (s|min)/);
    expect(sentence).toContain("1 attempt;");
    expect(sentence).toMatch(/expires in \d+ min/);
    expect(textOf(html, "last-check-error")).toMatch(/^SYSTEM_ERROR \(HTTP 500\)/);
    expect(textOf(html, "why-attempts")).toBe("1");
    expect(textOf(html, "why-next-check")).not.toBe("");
    const zh = textOf(await pageHtml(`/admin/orders/${orderId}`, cookie, "zh"), "why-sentence");
    expect(zh).toContain("尚未到账");
    expect(zh).toContain("失败（SYSTEM_ERROR (HTTP 500)）");
    expect(zh).toContain("已查 1 次");

    // The failing order is on the "last check failed" list.
    const listed = await pageHtml(`/admin/orders?q=${orderId}&check=failed`, cookie);
    expect(listed).toContain(`href="/admin/orders/${orderId}"`);

    // The lease ran out and WeChat answers again: the payment is found and credited.
    await runCron(CRON_RECONCILE, tickMs + (RECONCILE_LEASE_SECONDS + 1) * 1000);
    const paid = await checkOf(orderId);
    expect(paid).toMatchObject({ status: "fulfilled", last_check_outcome: "paid", last_check_error: null });
    const settled = await pageHtml(`/admin/orders/${orderId}`, cookie);
    expect(settled).not.toContain('id="why-not-credited"');
    expect(await pageHtml(`/admin/orders?q=${orderId}&check=failed`, cookie)).not.toContain(
      `href="/admin/orders/${orderId}"`,
    );
  });

  it("records a Stripe 5xx with its status, and an order WeChat never saw as not found", async () => {
    const [stripeOrder = ""] = await dueOrders("stripe", 1);
    const { sessionId } = await sandbox<{ sessionId: string }>("stripe/abandon", { orderId: stripeOrder });
    await sql("update payguard.payment_orders set provider_ref = $2 where id = $1", [stripeOrder, sessionId]);
    const [unopened = ""] = await dueOrders("wechatpay", 1);
    const tickMs = Date.now();
    await tickWithFailing([`/v1/checkout/sessions/${sessionId}`], tickMs);

    const stripe = await checkOf(stripeOrder);
    expect(stripe).toMatchObject({ status: "pending", check_attempts: 1, last_check_outcome: "error" });
    expect(stripe.last_check_error).toContain("(HTTP 500)");
    const notSeen = await checkOf(unopened);
    expect(notSeen).toMatchObject({
      status: "pending",
      check_attempts: 1,
      last_check_outcome: "not_found",
      last_check_error: null,
    });
    // The first step of the backoff: one minute.
    expect(notSeen.next_check_ms).toBe(tickMs + 60_000);

    const cookie = await signIn();
    const sentence = textOf(await pageHtml(`/admin/orders/${unopened}`, cookie), "why-sentence");
    expect(sentence).toContain("No payment seen at WeChat Pay yet");
    expect(sentence).toContain("answered: no such order at the provider");
    expect(sentence).toMatch(/next check in \d+ (s|min)/);
  });

  it("records the success page's own check without counting it as a reconcile attempt", async () => {
    const user = crypto.randomUUID();
    const orderId = await createWechatOrder(user);
    await sandbox("faults", {
      api: [{ kind: "5xx", pathPrefix: `/v3/pay/transactions/out-trade-no/${orderId}` }],
    });
    try {
      const polled = await call(`/api/orders/${orderId}`, { headers: await userHeaders(user) });
      expect(await polled.json()).toMatchObject({ status: "pending" });
    } finally {
      await sandbox("faults", { api: [] });
    }
    const row = await checkOf(orderId);
    expect(row).toMatchObject({ status: "pending", check_attempts: 0, last_check_outcome: "error" });
    expect(row.last_check_error).toMatch(/^SYSTEM_ERROR \(HTTP 500\)/);
  });
});
