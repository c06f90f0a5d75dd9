/**
 * The console as the person woken by an alert uses it, in Chromium against the local stack: a wrong-amount
 * Stripe payment raises a critical review incident, the sandbox's Slack receiver gets the alert, its link
 * is opened signed out, survives sign-in and lands on the incident page, whose suggested action (refund the
 * mismatched payment, then reject the order, each through its confirmation page) resolves the incident.
 * Then the money actions: a refund whose confirmation states what moves, recorded once; a review rejected
 * and one fulfilled, each confirmed first. Every assertion is on this file's own orders and users.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConsoleStack,
  chromiumPresent,
  STACK_TIMEOUT_MS,
  startConsole,
  waitFor,
} from "./support/console.ts";
import {
  balanceOf,
  incidentLinks,
  incidentOf,
  orderStatus,
  PACKAGES_SQL,
  paidOrder,
  paidTwiceOrder,
  refundsOf,
  sandboxRefundsOf,
  slackMessagesAbout,
  wrongAmountOrder,
} from "./support/orders.ts";

const INCIDENT_PATH = "/admin/incidents/";

describe.skipIf(!chromiumPresent)("from a Slack alert to a resolved incident, in Chromium", () => {
  let c: ConsoleStack;

  beforeAll(async () => {
    c = await startConsole();
    await c.sql(PACKAGES_SQL);
  }, STACK_TIMEOUT_MS);
  afterAll(() => c?.stop());

  const confirmLine = async (page: import("playwright-core").Page) =>
    ((await page.locator("#confirm-line").textContent()) ?? "").trim();
  const clawbacksOf = async (orderId: string) =>
    (
      await c.sql<{ credits: number }>(
        "select credits::int as credits from payguard.credit_ledger where order_id = $1 and kind = 'clawback' order by id",
        [orderId],
      )
    ).map((row) => row.credits);

  it("opens the alert's link signed out, signs in onto the incident, refunds the mismatched payment, rejects and sees it resolved", async () => {
    const user = crypto.randomUUID();
    const { orderId, paymentIntentId } = await wrongAmountOrder(c, user);
    const key = `needs_review:${orderId}`;
    expect(await incidentOf(c, key)).toEqual({ status: "open", severity: "critical" });

    // The link, as the on-call person gets it: from the message the Slack receiver accepted.
    const [alert] = await waitFor("the Slack alert", async () => {
      const messages = await slackMessagesAbout(c, key);
      return messages.length > 0 ? messages : undefined;
    });
    const link = incidentLinks(alert?.payload).find(
      (found) => decodeURIComponent(new URL(found).pathname.slice(INCIDENT_PATH.length)) === key,
    );
    expect(link).toBe(c.url(`${INCIDENT_PATH}${encodeURIComponent(key)}`));
    const incidentUrl = link ?? "";

    const page = await (await c.context()).newPage();
    await page.goto(incidentUrl);
    expect(page.url()).toBe(c.url(`/admin/login?next=${encodeURIComponent(new URL(incidentUrl).pathname)}`));
    await c.shot("flow-alert-1-login-from-link", page);
    await c.signIn(page);
    expect(page.url()).toBe(incidentUrl);
    expect(await page.locator("h1").textContent()).toContain(orderId);
    expect(await page.locator(".badges .status.critical").count()).toBe(1);
    const linked = page.locator(`#incident-orders tr[data-order="${orderId}"]`);
    expect(await linked.locator(".order-amount").textContent()).toBe("19.99 USD");
    expect(await linked.locator(`a[href="/admin/orders/${orderId}"]`).isVisible()).toBe(true);
    await c.shot("flow-alert-2-incident-open", page);

    // The suggested action: refund the mismatched payment (no fulfil is offered for it), confirmed first.
    await page.click(`#next-actions a[href="/admin/orders/${orderId}#refund-extra"]`);
    await page.waitForURL(c.url(`/admin/orders/${orderId}#refund-extra`));
    expect(await page.locator("#fulfil-not-offered").isVisible()).toBe(true);
    expect(await page.locator("#action-review input[value=fulfil]").count()).toBe(0);
    const extra = page.locator("#action-refund-extra-0");
    expect(await extra.locator("input[name=amount]").inputValue()).toBe("9.99");
    await extra.locator("input[name=reason]").fill("paid the wrong amount, refunding it");
    await extra.locator("button[type=submit]").click();
    await page.waitForSelector("#confirm");
    expect(await confirmLine(page)).toBe("Refund 9.99 of 9.99 USD · credits unchanged · balance 0 → 0");
    await c.shot("flow-alert-3-refund-confirm", page);
    expect(await refundsOf(c, orderId)).toEqual([]);
    await page.click("#confirm");
    await page.waitForURL(c.url(`/admin/orders/${orderId}`));
    expect(await refundsOf(c, orderId)).toEqual([
      { payment_ref: paymentIntentId, amount_minor: 999, status: "succeeded" },
    ]);
    expect(await sandboxRefundsOf(c, paymentIntentId)).toEqual([999]);
    expect(await orderStatus(c, orderId)).toBe("needs_review");

    // Then the review is decided: reject, after its confirmation.
    await page.check("#action-review input[value=reject]");
    await page.fill("#action-review input[name=reason]", "wrong amount refunded, order closed");
    await page.click("#action-review button[type=submit]");
    await page.waitForSelector("#confirm");
    expect(await confirmLine(page)).toBe(`Reject order ${orderId} · credits unchanged · balance 0 → 0`);
    await page.click("#confirm");
    await page.waitForURL(c.url(`/admin/orders/${orderId}`));
    expect(await orderStatus(c, orderId)).toBe("failed");
    expect(await balanceOf(c, user)).toBe(0);

    await page.goto(incidentUrl);
    expect(await page.locator(".badges .status.resolved").count()).toBe(1);
    expect(await page.locator("#resolve-form").count()).toBe(0);
    expect(await page.locator("#fact-resolved-at").isVisible()).toBe(true);
    await c.shot("flow-alert-4-incident-resolved", page);
    expect(await incidentOf(c, key)).toEqual({ status: "resolved", severity: "critical" });
    // And the channel that heard about it hears that it is over.
    const resolved = await waitFor("the Slack resolution", async () => {
      const messages = await slackMessagesAbout(c, key);
      return messages.length > 1 ? messages.at(-1) : undefined;
    });
    expect(JSON.stringify(resolved.payload)).toContain("Resolved");
    await page.context().close();
  });

  it("refunds with a confirmation reading 'Refund 49.50 of 99.00 USD · −600 of 1,200 credits · balance 2,400 → 1,800', once", async () => {
    const user = crypto.randomUUID();
    const { orderId, paymentIntentId } = await paidOrder(c, user, "credits_1200", 9900);
    await paidOrder(c, user, "credits_1200", 9900);
    expect(await balanceOf(c, user)).toBe(2400);
    const page = await c.signedInPage();
    await page.goto(c.url(`/admin/orders/${orderId}`));
    const form = page.locator("#action-refund");
    expect(await form.locator("input[name=amount]").inputValue()).toBe("99.00");
    await form.locator("input[name=amount]").fill("49.50");
    await form.locator("input[name=reason]").fill("half back, ticket 42");
    await form.locator("button[type=submit]").click();
    await page.waitForSelector("#confirm");
    expect(await confirmLine(page)).toBe(
      "Refund 49.50 of 99.00 USD · −600 of 1,200 credits · balance 2,400 → 1,800",
    );
    expect(await refundsOf(c, orderId)).toEqual([]);
    expect(await balanceOf(c, user)).toBe(2400);
    const fields = await page.$$eval("#confirm-form input", (inputs) =>
      Object.fromEntries(
        inputs.map((input) => [(input as HTMLInputElement).name, (input as HTMLInputElement).value]),
      ),
    );

    await page.click("#confirm");
    await page.waitForURL(c.url(`/admin/orders/${orderId}`));
    expect(await orderStatus(c, orderId)).toBe("partially_refunded");
    expect(await refundsOf(c, orderId)).toEqual([
      { payment_ref: paymentIntentId, amount_minor: 4950, status: "succeeded" },
    ]);
    expect(await sandboxRefundsOf(c, paymentIntentId)).toEqual([4950]);
    expect(await clawbacksOf(orderId)).toEqual([-600]);
    expect(await balanceOf(c, user)).toBe(1800);
    // What is left is the next default.
    expect(await form.locator("input[name=amount]").inputValue()).toBe("49.50");
    await c.shot("flow-refund-done", page);

    // The same confirmation sent again (a second click, the back button) is refused and moves nothing.
    const again = await page.context().request.post(c.url(`/admin/orders/${orderId}/refund`), {
      form: fields,
      headers: { origin: c.stack.workerUrl },
      maxRedirects: 0,
    });
    expect(again.status()).toBe(409);
    expect(await refundsOf(c, orderId)).toHaveLength(1);
    expect(await sandboxRefundsOf(c, paymentIntentId)).toEqual([4950]);
    expect(await balanceOf(c, user)).toBe(1800);
    await page.context().close();
  });

  it("rejects a review after its confirmation, taking the credits back; fulfils another, keeping them", async () => {
    const rejectedUser = crypto.randomUUID();
    const fulfilledUser = crypto.randomUUID();
    const rejected = await paidTwiceOrder(c, rejectedUser);
    const fulfilled = await paidTwiceOrder(c, fulfilledUser);
    const page = await c.signedInPage();

    await page.goto(c.url(`/admin/orders/${rejected}`));
    expect(await page.locator("#review-reason").isVisible()).toBe(true);
    expect(await page.locator("#action-review input[name=resolution]:checked").count()).toBe(0);
    await page.check("#action-review input[value=reject]");
    await page.fill("#action-review input[name=reason]", "fraud suspected");
    await page.click("#action-review button[type=submit]");
    await page.waitForSelector("#confirm");
    expect(await confirmLine(page)).toBe(`Reject order ${rejected} · −100 of 100 credits · balance 100 → 0`);
    await c.shot("flow-review-reject-confirm", page);
    expect(await orderStatus(c, rejected)).toBe("needs_review");
    expect(await balanceOf(c, rejectedUser)).toBe(100);
    await page.click("#confirm");
    await page.waitForURL(c.url(`/admin/orders/${rejected}`));
    expect(await orderStatus(c, rejected)).toBe("failed");
    expect(await balanceOf(c, rejectedUser)).toBe(0);
    expect(await incidentOf(c, `needs_review:${rejected}`)).toMatchObject({ status: "resolved" });
    expect(await page.locator("#action-review").count()).toBe(0);

    await page.goto(c.url(`/admin/orders/${fulfilled}`));
    await page.check("#action-review input[value=fulfil]");
    await page.fill("#action-review input[name=reason]", "customer confirmed the first payment");
    await page.click("#action-review button[type=submit]");
    await page.waitForSelector("#confirm");
    expect(await confirmLine(page)).toMatch(
      new RegExp(
        `^Fulfil order ${fulfilled} with payment pi_\\w+ \\(19\\.99 USD\\) · credits unchanged · balance 100 → 100$`,
      ),
    );
    await page.click("#confirm");
    await page.waitForURL(c.url(`/admin/orders/${fulfilled}`));
    expect(await orderStatus(c, fulfilled)).toBe("fulfilled");
    expect(await balanceOf(c, fulfilledUser)).toBe(100);
    expect(await incidentOf(c, `needs_review:${fulfilled}`)).toMatchObject({ status: "resolved" });
    // The payment not kept is now the one to refund, and says so.
    expect(await incidentOf(c, `refund_other_payments:${fulfilled}`)).toEqual({
      status: "open",
      severity: "critical",
    });
    expect(await page.locator("#refund-extra .extra-payment").count()).toBe(1);
    await c.shot("flow-review-fulfilled", page);
    await page.context().close();
  });
});
