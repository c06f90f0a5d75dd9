// Stripe's form encoding as stripe-node writes it, decoded back into nested values.
import { describe, expect, it } from "vitest";
import { parseForm } from "./form.ts";

describe("parseForm", () => {
  it("nests bracketed keys into objects and indexed keys into arrays, in index order", () => {
    const form = parseForm(
      new URLSearchParams(
        "mode=payment&line_items[1][quantity]=2&line_items[0][price_data][currency]=usd&line_items[0][quantity]=1&metadata[order_id]=ord_1",
      ),
    );
    expect(form).toEqual({
      mode: "payment",
      line_items: [{ price_data: { currency: "usd" }, quantity: "1" }, { quantity: "2" }],
      metadata: { order_id: "ord_1" },
    });
  });

  it("appends `[]` keys and reads range filters", () => {
    const form = parseForm(new URLSearchParams("types[]=a&types[]=b&created[gte]=10&created[lt]=20"));
    expect(form).toEqual({ types: ["a", "b"], created: { gte: "10", lt: "20" } });
  });
});
