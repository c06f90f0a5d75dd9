/**
 * The order page's money actions in workerd, signed in, against the stand-in and the Stripe sandbox over
 * HTTP: refunds typed in major units with a confirmation that states the amounts, the credits the
 * settlement's clawback takes and the balance; refusals that change nothing; review orders that lead
 * with their reason, offer no default and refund the mismatched or extra payment; reject behind a
 * confirmation; the runbook's dry run carried into the real run. Each test asserts on its own orders.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE_URL, call, sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import {
  type ControlAnswer,
  createOrder,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";

const ORIGIN = new URL(BASE_URL).origin;
let addresses = 0;

beforeAll(async () => {
  await seedPackage();
  await sql(
    `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
     values ('money_usd_99', '1,200 credits', 9900, 'USD', 1200, true),
            ('money_jpy', '100 credits (JPY)', 1200, 'JPY', 100, true)
     on conflict (id) do nothing`,
  );
});

const cookiesSetBy = (response: Response) =>
  response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0] ?? "")
    .filter((pair) => !pair.endsWith("="));

/** Signed in from an address of its own (the sign-in throttle counts per address), in `lang`: the cookies. */
async function signIn(lang: "en" | "zh" = "en"): Promise<string> {
  const response = await call("/admin/login", {
    method: "POST",
    headers: {
      origin: ORIGIN,
      "content-type": "application/x-www-form-urlencoded",
      "cf-connecting-ip": `198.51.100.${200 + (++addresses % 50)}`,
    },
    body: new URLSearchParams({ token: env.ADMIN_TOKEN }).toString(),
    redirect: "manual",
  });
  const session = cookiesSetBy(response).join("; ");
  expect(session).not.toBe("");
  const switched = await call(`/admin/lang/${lang}?back=/admin`, {
    headers: { cookie: session },
    redirect: "manual",
  });
  return [session, ...cookiesSetBy(switched)].join("; ");
}

const open = async (path: string, cookie: string) => {
  const response = await call(path, { headers: { cookie }, redirect: "manual" });
  expect(response.status).toBe(200);
  return response.text();
};

const csrfIn = (html: string) => {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error("no csrf token");
  return match[1];
};

const post = (path: string, cookie: string, fields: Record<string, string>) =>
  call(path, {
    method: "POST",
    headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });

const decodeHtml = (text: string) =>
  text
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");

/** The fields of one form of a page, as a browser would submit them (hidden and prefilled inputs). */
function formFields(html: string, formId: string): Record<string, string> {
  const form = new RegExp(`<form[^>]*id="${formId}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1];
  if (form === undefined) throw new Error(`no form ${formId}`);
  const fields: Record<string, string> = {};
  for (const input of form.matchAll(/<input([^>]*)>/g)) {
    const name = /name="([^"]*)"/.exec(input[1] ?? "")?.[1];
    const value = /value="([^"]*)"/.exec(input[1] ?? "")?.[1];
    if (name && value !== undefined) fields[name] = decodeHtml(value);
  }
  for (const area of form.matchAll(/<textarea[^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/textarea>/g)) {
    if (area[1]) fields[area[1]] = decodeHtml(area[2] ?? "");
  }
  return fields;
}

const confirmLine = (html: string) =>
  decodeHtml(
    /id="confirm-line"[^>]*>\s*<strong>([^<]*)<\/strong>/.exec(html)?.[1] ?? "(no confirmation line)",
  );

const refusal = (html: string) =>
  decodeHtml(/id="refused"[^>]*>([^<]*)</.exec(html)?.[1] ?? "(no refusal)").trim();

/** An order of `packageId` paid at the Stripe sandbox, the webhooks delivered to the worker. */
async function paidAtStripe(user: string, packageId: string, amountMinor: number, currency: string) {
  const orderId = await createOrder(user, packageId);
  const paymentIntentId = await payAgain(orderId, amountMinor, currency);
  return { orderId, paymentIntentId };
}

/** One more payment of the order (a new Checkout Session), delivered; its PaymentIntent id. */
async function payAgain(orderId: string, amountMinor: number, currency: string): Promise<string> {
  const paid = (await stripeScenario("pay", { orderId, amountMinor, currency })) as ControlAnswer & {
    paymentIntentId: string;
  };
  for (const delivery of paid.deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
  return paid.paymentIntentId;
}

const refundsOf = (orderId: string) =>
  sql<{ payment_ref: string; amount_minor: number; status: string }>(
    "select payment_ref, amount_minor::int as amount_minor, status from payguard.payment_refunds where order_id = $1",
    [orderId],
  );

async function sandboxRefundsOf(paymentIntentId: string) {
  const { refunds } = await sandbox<{ refunds: Array<{ payment_intent: string; amount: number }> }>(
    "stripe/refunds",
  );
  return refunds.filter((refund) => refund.payment_intent === paymentIntentId).map((refund) => refund.amount);
}

/** An order paid twice at Stripe: the payment the order credits (the earlier) and the extra one. */
async function paidTwice(user: string) {
  const { orderId, paymentIntentId } = await paidAtStripe(user, "credits_100", 1999, "usd");
  const again = await payAgain(orderId, 1999, "usd");
  const [row] = await sql<{ payment_ref: string }>(
    "select payment_ref from payguard.payment_orders where id = $1",
    [orderId],
  );
  const kept = row?.payment_ref ?? "";
  return { orderId, kept, extra: kept === paymentIntentId ? again : paymentIntentId };
}

const actionsOn = (orderId: string) =>
  sql<{ action: string; outcome: string }>(
    "select action, outcome from payguard.admin_actions where order_id = $1 order by id",
    [orderId],
  );

describe("refund in major units with a confirmation that states what moves", () => {
  it("confirms 'Refund 49.50 of 99.00 USD · −600 of 1,200 credits · balance 2,400 → 1,800', then refunds and claws back once", async () => {
    const user = crypto.randomUUID();
    const { orderId, paymentIntentId } = await paidAtStripe(user, "money_usd_99", 9900, "usd");
    await paidAtStripe(user, "money_usd_99", 9900, "usd");
    expect((await ledgerOf(user)).balance).toBe(2400);
    const cookie = await signIn();
    const page = await open(`/admin/orders/${orderId}`, cookie);
    // The amount field is in major units with its currency, prefilled with all that is left.
    expect(formFields(page, "action-refund")).toMatchObject({ amount: "99.00" });
    expect(page).toMatch(/id="action-refund"[\s\S]*USD[\s\S]*99\.00 USD of 99\.00 USD left to refund/);

    const asked = await post(`/admin/orders/${orderId}/refund`, cookie, {
      csrf: csrfIn(page),
      amount: "49.5",
      reason: "half back, ticket 42",
    });
    expect(asked.status).toBe(200);
    const confirmation = await asked.text();
    expect(confirmLine(confirmation)).toBe(
      "Refund 49.50 of 99.00 USD · −600 of 1,200 credits · balance 2,400 → 1,800",
    );
    expect(await refundsOf(orderId)).toEqual([]);
    expect((await ledgerOf(user)).balance).toBe(2400);

    const fields = formFields(confirmation, "confirm-form");
    expect(fields).toMatchObject({ amount: "49.50", confirm: "1", reason: "half back, ticket 42" });
    const done = await post(`/admin/orders/${orderId}/refund`, cookie, fields);
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toMatch(new RegExp(`^/admin/orders/${orderId}`));
    expect(await refundsOf(orderId)).toEqual([
      { payment_ref: paymentIntentId, amount_minor: 4950, status: "succeeded" },
    ]);
    expect(await sandboxRefundsOf(paymentIntentId)).toEqual([4950]);
    expect((await ledgerOf(user)).rows.filter((row) => row.kind === "clawback")).toEqual([
      { kind: "clawback", credits: -600 },
    ]);
    expect((await ledgerOf(user)).balance).toBe(1800);
    expect(await orderStatus(orderId)).toBe("partially_refunded");

    // The same confirmation submitted again (back button, double click) refunds nothing more.
    const again = await post(`/admin/orders/${orderId}/refund`, cookie, fields);
    expect(again.status).toBe(409);
    expect(refusal(await again.text())).toContain("look at the order again");
    expect(await refundsOf(orderId)).toHaveLength(1);
    expect(await sandboxRefundsOf(paymentIntentId)).toEqual([4950]);
    expect((await ledgerOf(user)).balance).toBe(1800);

    // What is left is the new default, and the confirmation reads in Chinese too.
    const zhCookie = await signIn("zh");
    const rest = await open(`/admin/orders/${orderId}`, zhCookie);
    expect(formFields(rest, "action-refund")).toMatchObject({ amount: "49.50" });
    const zh = await post(`/admin/orders/${orderId}/refund`, zhCookie, {
      csrf: csrfIn(rest),
      amount: "49.50",
      reason: "剩余全部退回",
    });
    expect(confirmLine(await zh.text())).toBe(
      "退款 49.50 / 99.00 USD · 积分 −600 / 1,200 · 余额 1,800 → 1,200",
    );
  });

  it("refuses an amount over what is left, or one that is not an amount, changing nothing", async () => {
    const user = crypto.randomUUID();
    const { orderId, paymentIntentId } = await paidAtStripe(user, "money_usd_99", 9900, "usd");
    const cookie = await signIn();
    const csrf = csrfIn(await open(`/admin/orders/${orderId}`, cookie));
    const reason = "customer asked for more";
    const tries: Array<[Record<string, string>, string]> = [
      [
        { amount: "99.01" },
        "99.01 USD is more than the 99.00 USD left to refund on this payment (paid 99.00 USD).",
      ],
      [{ amount: "99.01", confirm: "1", seen: "0" }, "99.01 USD is more than the 99.00 USD left to refund"],
      [{ amount: "49.505" }, "USD amounts have 2 decimals: 49.505 cannot be refunded exactly."],
      [{ amount: "49,50" }, "Type the amount in USD as digits with a point, for example 99.00."],
      [{ amount: "0" }, "The amount must be more than zero."],
      [{ amount: "" }, "The form is incomplete or invalid: an amount."],
    ];
    for (const [fields, sentence] of tries) {
      const refused = await post(`/admin/orders/${orderId}/refund`, cookie, { csrf, reason, ...fields });
      expect(refused.status).toBeGreaterThanOrEqual(400);
      const html = await refused.text();
      expect(refusal(html)).toContain(sentence);
      expect(html).toContain("Nothing was changed.");
    }
    expect(await refundsOf(orderId)).toEqual([]);
    expect(await sandboxRefundsOf(paymentIntentId)).toEqual([]);
    expect((await ledgerOf(user)).balance).toBe(1200);
    expect(await actionsOn(orderId)).toEqual([]);
    expect(await orderStatus(orderId)).toBe("fulfilled");
  });

  it("converts a zero-decimal currency as the provider counts it: 600 JPY is 600", async () => {
    const user = crypto.randomUUID();
    const { orderId, paymentIntentId } = await paidAtStripe(user, "money_jpy", 1200, "jpy");
    const cookie = await signIn();
    const page = await open(`/admin/orders/${orderId}`, cookie);
    expect(formFields(page, "action-refund")).toMatchObject({ amount: "1200" });
    const csrf = csrfIn(page);
    const precise = await post(`/admin/orders/${orderId}/refund`, cookie, {
      csrf,
      amount: "600.5",
      reason: "half",
    });
    expect(refusal(await precise.text())).toBe(
      "JPY amounts have 0 decimals: 600.5 cannot be refunded exactly.",
    );
    const asked = await post(`/admin/orders/${orderId}/refund`, cookie, {
      csrf,
      amount: "600",
      reason: "half",
    });
    const confirmation = await asked.text();
    expect(confirmLine(confirmation)).toBe("Refund 600 of 1,200 JPY · −50 of 100 credits · balance 100 → 50");
    await post(`/admin/orders/${orderId}/refund`, cookie, formFields(confirmation, "confirm-form"));
    expect(await refundsOf(orderId)).toEqual([
      { payment_ref: paymentIntentId, amount_minor: 600, status: "succeeded" },
    ]);
    expect(await sandboxRefundsOf(paymentIntentId)).toEqual([600]);
    expect((await ledgerOf(user)).balance).toBe(50);
  });
});

describe("orders in review", () => {
  it("a wrong amount: the reason first, no default, no fulfil, and the mismatched payment refunded through the refund path", async () => {
    const user = crypto.randomUUID();
    const { orderId, paymentIntentId } = await paidAtStripe(user, "credits_100", 999, "usd");
    expect(await orderStatus(orderId)).toBe("needs_review");
    const cookie = await signIn();
    // The page as a reader sees it (entities decoded); the forms read from it carry the same values.
    const page = decodeHtml(await open(`/admin/orders/${orderId}`, cookie));
    const reason =
      "The payment does not match the order: 9.99 USD was paid via Stripe, the order is 19.99 USD via Stripe.";
    expect(page).toContain(reason);
    const at = (marker: string) => page.indexOf(marker);
    expect(at('id="review"')).toBeGreaterThan(-1);
    expect(at(reason)).toBeLessThan(at('id="action-review"'));
    expect(at(reason)).toBeLessThan(at('id="order-actions"'));
    const decision = /<form[^>]*id="action-review"[\s\S]*?<\/form>/.exec(page)?.[0] ?? "";
    expect(decision).not.toMatch(/<input[^>]*\schecked|<option[^>]*\sselected/);
    expect(decision).not.toContain('value="fulfil"');
    expect(decision).toContain('value="reject"');
    expect(page).toContain(
      "Fulfil is not offered: no payment of the order's amount (19.99 USD) was recorded.",
    );
    expect(page).toMatch(new RegExp(`id="refund-extra"[\\s\\S]*${paymentIntentId}[\\s\\S]*9\\.99 USD`));

    // A fulfil forced through anyway is explained, not a raw "conflict: resolve_review: …".
    const forced = await post(`/admin/orders/${orderId}/resolve-review`, cookie, {
      csrf: csrfIn(page),
      resolution: "fulfil",
      reason: "try it",
    });
    expect(forced.status).toBe(409);
    expect(refusal(await forced.text())).toBe(
      "This order cannot be fulfilled: no payment of its amount was recorded. Refund the mismatched payment, then reject it.",
    );

    const extra = formFields(page, "action-refund-extra-0");
    expect(extra).toMatchObject({ payment: paymentIntentId, amount: "9.99" });
    const asked = await post(`/admin/orders/${orderId}/refund`, cookie, {
      ...extra,
      reason: "wrong amount paid",
    });
    const confirmation = await asked.text();
    expect(confirmLine(confirmation)).toBe("Refund 9.99 of 9.99 USD · credits unchanged · balance 0 → 0");
    expect(await refundsOf(orderId)).toEqual([]);
    await post(`/admin/orders/${orderId}/refund`, cookie, formFields(confirmation, "confirm-form"));
    expect(await refundsOf(orderId)).toEqual([
      { payment_ref: paymentIntentId, amount_minor: 999, status: "succeeded" },
    ]);
    expect(await sandboxRefundsOf(paymentIntentId)).toEqual([999]);
    expect((await ledgerOf(user)).balance).toBe(0);
    expect(await orderStatus(orderId)).toBe("needs_review");

    const zh = decodeHtml(await open(`/admin/orders/${orderId}`, await signIn("zh")));
    expect(zh).toContain("支付与订单不符：实付 9.99 USD（Stripe），订单应付 19.99 USD（Stripe）。");
    expect(zh).toContain("这笔支付已无可退金额。");
  });

  it("paid twice: reject takes the credits back only after its confirmation; a POST without confirm changes nothing", async () => {
    const user = crypto.randomUUID();
    const { orderId, kept, extra } = await paidTwice(user);
    expect(await orderStatus(orderId)).toBe("needs_review");
    const cookie = await signIn();
    const page = await open(`/admin/orders/${orderId}`, cookie);
    expect(page).toContain(`Paid twice: payment ${extra} is extra and payment ${kept} is kept.`);
    const decision = /<form[^>]*id="action-review"[\s\S]*?<\/form>/.exec(page)?.[0] ?? "";
    expect(decision).toContain('value="fulfil"');
    expect(decision).not.toMatch(/<input[^>]*\schecked|<option[^>]*\sselected/);

    const fields = { csrf: csrfIn(page), resolution: "reject", reason: "fraud suspected" };
    const asked = await post(`/admin/orders/${orderId}/resolve-review`, cookie, fields);
    expect(asked.status).toBe(200);
    const confirmation = await asked.text();
    expect(confirmLine(confirmation)).toBe(`Reject order ${orderId} · −100 of 100 credits · balance 100 → 0`);
    expect(await orderStatus(orderId)).toBe("needs_review");
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(await actionsOn(orderId)).toEqual([]);

    const done = await post(
      `/admin/orders/${orderId}/resolve-review`,
      cookie,
      formFields(confirmation, "confirm-form"),
    );
    expect(done.status).toBe(303);
    expect(await orderStatus(orderId)).toBe("failed");
    expect((await ledgerOf(user)).balance).toBe(0);
    expect(await actionsOn(orderId)).toEqual([{ action: "resolve_review_reject", outcome: "failed" }]);
    // Deciding again is explained in words: the order is no longer in review.
    const late = await post(
      `/admin/orders/${orderId}/resolve-review`,
      cookie,
      formFields(confirmation, "confirm-form"),
    );
    expect(refusal(await late.text())).toBe("This order is failed now, so this action does not apply to it.");
    expect((await ledgerOf(user)).balance).toBe(0);
  });

  it("paid twice: refunding the extra payment keeps the credits and clears the review by itself", async () => {
    const user = crypto.randomUUID();
    const { orderId, kept, extra } = await paidTwice(user);
    const cookie = await signIn();
    const page = await open(`/admin/orders/${orderId}`, cookie);
    const form = formFields(page, "action-refund-extra-0");
    expect(form).toMatchObject({ payment: extra, amount: "19.99" });
    const asked = await post(`/admin/orders/${orderId}/refund`, cookie, { ...form, reason: "paid twice" });
    const confirmation = await asked.text();
    expect(confirmLine(confirmation)).toBe(
      "Refund 19.99 of 19.99 USD · credits unchanged · balance 100 → 100",
    );
    await post(`/admin/orders/${orderId}/refund`, cookie, formFields(confirmation, "confirm-form"));
    expect(await refundsOf(orderId)).toEqual([
      { payment_ref: extra, amount_minor: 1999, status: "succeeded" },
    ]);
    expect(await sandboxRefundsOf(extra)).toEqual([1999]);
    expect(await sandboxRefundsOf(kept)).toEqual([]);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect((await ledgerOf(user)).balance).toBe(100);
  });
});

describe("runbook repair", () => {
  it("carries the dry run's inputs into the real run, and ?repair_ref= prefills the form", async () => {
    const user = crypto.randomUUID();
    const orderId = `ord_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
    const paid = (await stripeScenario("pay", {
      orderId,
      amountMinor: 1999,
      currency: "usd",
      metadata: { user_id: user, package_id: "credits_100" },
    })) as unknown as { paymentIntentId: string };
    const ref = paid.paymentIntentId;
    const cookie = await signIn();
    const runbook = await open(`/admin/runbook?repair_ref=${ref}`, cookie);
    expect(formFields(runbook, "repair-form")).toMatchObject({ refs: ref });
    expect(await open("/admin/runbook?repair_ref=%3Cscript%3E", cookie)).not.toContain("&lt;script");

    const dry = await post("/admin/runbook/repair", cookie, {
      ...formFields(runbook, "repair-form"),
      reason: "ticket 77: paid, no order",
      dryRun: "true",
    });
    const dryPage = await dry.text();
    expect(dryPage).toMatch(/id="repair-results"[\s\S]*would_rebuild/);
    expect((await ledgerOf(user)).balance).toBe(0);
    const forReal = formFields(dryPage, "repair-for-real");
    expect(forReal).toMatchObject({ refs: ref, reason: "ticket 77: paid, no order", dryRun: "false" });

    const asked = await post("/admin/runbook/repair", cookie, forReal);
    const confirmation = await asked.text();
    expect(confirmLine(confirmation)).toBe("References to repair: 1");
    expect((await ledgerOf(user)).balance).toBe(0);
    const done = await post("/admin/runbook/repair", cookie, formFields(confirmation, "confirm-form"));
    expect(await done.text()).toMatch(/id="repair-results"[\s\S]*created_from_metadata/);
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(
      await sql("select reason from payguard.admin_actions where action = 'repair_refs' and reason = $1", [
        "ticket 77: paid, no order",
      ]),
    ).toHaveLength(1);
  });
});
