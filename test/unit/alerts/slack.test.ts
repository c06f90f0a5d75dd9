// Slack's side of alerts, pure: which buttons a message offers (never one that moves money), the blocks of
// one incident and of a digest within Slack's limits, request verification as Slack signs (checked against
// an independent HMAC from node:crypto), click parsing, and how the original message says who did what.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SLACK_MARKUP, slackSender } from "../../../src/alerts/channels/slack.ts";
import { alertBlocks, annotateBlocks, keyOfBlockId } from "../../../src/alerts/channels/slack-blocks.ts";
import { chatActions } from "../../../src/alerts/chat-actions.ts";
import { compose } from "../../../src/alerts/compose.ts";
import type { Notice } from "../../../src/alerts/notice.ts";
import { parseSlackClick } from "../../../src/alerts/slack-payload.ts";
import { verifySlackRequest } from "../../../src/alerts/slack-verify.ts";
import type { SuggestedAction } from "../../../src/incidents/catalogue.ts";

const BASE = "https://pay.example.com";
const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW_MS = 1_795_000_000_000;

const notice = (key: string, overrides: Partial<Notice> = {}): Notice => ({
  key,
  kind: "unknown_order",
  severity: "critical",
  summary: "payment matches no order",
  detail: { order_id: "ord_0001" },
  event: "opened",
  atMs: 0,
  openedAtMs: 0,
  fires: 1,
  ...overrides,
});

const ALL_SUGGESTIONS: SuggestedAction[] = [
  "sync_order",
  "repair_dry_run",
  "replay_events",
  "resolve_review",
  "refund_extra_payment",
  "acknowledge",
  "mute",
  "resolve",
];

const sign = (body: string, timestampS: number, secret = SECRET) =>
  `v0=${createHmac("sha256", secret).update(`v0:${timestampS}:${body}`).digest("hex")}`;

describe("what a chat message offers", () => {
  it("offers acknowledge, mute and a safe sync; never a refund, a repair, a replay, a review decision or resolve", () => {
    expect(chatActions(notice("k"), ALL_SUGGESTIONS)).toEqual(["acknowledge", "mute_1h", "sync_order"]);
    expect(chatActions(notice("k", { detail: {} }), ALL_SUGGESTIONS)).toEqual(["acknowledge", "mute_1h"]);
    expect(chatActions(notice("k"), ["refund_extra_payment", "resolve_review"])).toEqual([
      "acknowledge",
      "mute_1h",
    ]);
    expect(chatActions(notice("k", { event: "resolved" }), ALL_SUGGESTIONS)).toEqual([]);
  });
});

describe("Slack blocks", () => {
  const single = compose([notice("unknown_order:stripe:evt_1")], "en", BASE, SLACK_MARKUP, {
    maxBytes: 36_000,
    itemsMax: 45,
  });

  it("puts the buttons and the incident link under one incident, its key in the block id", () => {
    const blocks = alertBlocks(single, true);
    const actions = blocks.at(-1) as { block_id: string; elements: Array<Record<string, unknown>> };
    expect(keyOfBlockId(actions.block_id)).toBe("unknown_order:stripe:evt_1");
    expect(actions.elements.map((element) => element.value ?? element.url)).toEqual([
      "acknowledge",
      "mute_1h",
      `${BASE}/admin/incidents/unknown_order%3Astripe%3Aevt_1`,
    ]);
  });

  it("offers only the link when the Slack app's interactivity is not configured, and escapes the fallback text", () => {
    const elements = (alertBlocks(single, false).at(-1) as { elements: Array<Record<string, unknown>> })
      .elements;
    expect(elements.map((element) => element.action_id)).toEqual(["payguard:open"]);
    const hostile = compose([notice("k", { kind: "x", summary: "<!here> & co" })], "en", BASE, SLACK_MARKUP, {
      maxBytes: 36_000,
      itemsMax: 45,
    });
    const payload = slackSender.payload(hostile, {
      name: "slack",
      url: "",
      secret: null,
      language: "en",
      atMobiles: [],
    });
    expect((payload as { text: string }).text).toContain("&lt;!here&gt; &amp; co");
  });

  it("gives every incident of a digest its own section and overflow menu, within 50 blocks, ids unique", () => {
    const storm = Array.from({ length: 60 }, (_, i) =>
      notice(`k${i % 30}`, { event: i < 30 ? "opened" : "reminder" }),
    );
    const digest = compose(storm, "en", BASE, SLACK_MARKUP, { maxBytes: 36_000, itemsMax: 45 });
    const blocks = alertBlocks(digest, true);
    expect(digest.taken).toBe(45);
    expect(blocks.length).toBeLessThanOrEqual(50);
    const ids = blocks.map((block) => block.block_id).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    const menu = blocks[1] as { accessory: { type: string; options: Array<{ value: string }> } };
    expect(menu.accessory.type).toBe("overflow");
    expect(menu.accessory.options.map((option) => option.value)).toEqual(
      ["acknowledge", "mute_1h", "sync_order", "open"].filter(
        (value) => value !== "sync_order" || chatActions(storm[0] as Notice).includes("sync_order"),
      ),
    );
  });

  it("says who did what under the incident, replacing an earlier note", () => {
    const blocks = alertBlocks(single, true);
    const blockId = String(blocks.at(-1)?.block_id);
    const once = annotateBlocks(blocks, blockId, "✅ Acknowledged by slack:alice");
    const twice = annotateBlocks(once, blockId, "🔕 Muted for 1 h by slack:bob");
    expect(twice).toHaveLength(blocks.length + 1);
    expect(JSON.stringify(twice.at(-1))).toContain("Muted for 1 h by slack:bob");
    expect(JSON.stringify(twice)).not.toContain("slack:alice");
  });
});

describe("Slack request verification", () => {
  const body = "payload=%7B%22type%22%3A%22block_actions%22%7D";
  const ts = Math.floor(NOW_MS / 1000);
  const verify = (headers: { timestamp?: string; signature?: string }, raw = body) =>
    verifySlackRequest(SECRET, { timestamp: headers.timestamp, signature: headers.signature }, raw, NOW_MS);

  it("accepts Slack's v0 signature over v0:{ts}:{body}", async () => {
    expect(await verify({ timestamp: String(ts), signature: sign(body, ts) })).toMatchObject({ ok: true });
  });

  it("refuses another secret, a changed body, a missing or malformed header", async () => {
    expect(await verify({ timestamp: String(ts), signature: sign(body, ts, "other") })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(await verify({ timestamp: String(ts), signature: sign(body, ts) }, `${body}x`)).toMatchObject({
      reason: "bad_signature",
    });
    expect(await verify({ timestamp: String(ts) })).toMatchObject({ reason: "missing_headers" });
    expect(await verify({ timestamp: "soon", signature: sign(body, ts) })).toMatchObject({
      reason: "missing_headers",
    });
    expect(await verify({ timestamp: String(ts), signature: "v1=abc" })).toMatchObject({
      reason: "missing_headers",
    });
  });

  it("refuses a timestamp more than 5 minutes away, either way, even correctly signed", async () => {
    for (const offset of [-301, 301]) {
      const at = ts + offset;
      expect(await verify({ timestamp: String(at), signature: sign(body, at) })).toEqual({
        ok: false,
        reason: "stale",
      });
    }
    const edge = ts - 300;
    expect(await verify({ timestamp: String(edge), signature: sign(body, edge) })).toMatchObject({
      ok: true,
    });
  });
});

describe("Slack clicks", () => {
  const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const base = {
    type: "block_actions",
    user: { id: "U012ABCDEF" },
    response_url: "https://hooks.slack.com/actions/T/1/x",
    message: { text: "t", blocks: [{ type: "section" }] },
  };

  it("reads a button, an overflow option and the link button", () => {
    const button = parseSlackClick(
      form({
        ...base,
        actions: [{ action_id: "payguard:acknowledge", value: "acknowledge", block_id: "i:0:k:1" }],
      }),
    );
    expect(button).toMatchObject({
      ok: true,
      click: { action: "acknowledge", key: "k:1", userId: "U012ABCDEF" },
    });
    const menu = parseSlackClick(
      form({
        ...base,
        actions: [{ action_id: "payguard:menu", selected_option: { value: "mute_1h" }, block_id: "i:3:k" }],
      }),
    );
    expect(menu).toMatchObject({ ok: true, click: { action: "mute_1h", key: "k" } });
    const open = parseSlackClick(
      form({ ...base, actions: [{ action_id: "payguard:open", url: "https://x" }] }),
    );
    expect(open).toMatchObject({ ok: true, click: { action: "open" } });
  });

  it("refuses anything that is not one of its own actions", () => {
    expect(
      parseSlackClick(form({ ...base, actions: [{ action_id: "payguard:refund", value: "refund" }] })),
    ).toMatchObject({
      ok: false,
    });
    expect(
      parseSlackClick(
        form({ ...base, actions: [{ action_id: "payguard:acknowledge", value: "sync_order" }] }),
      ),
    ).toMatchObject({ ok: false });
    expect(parseSlackClick(form({ ...base, type: "view_submission" }))).toMatchObject({ ok: false });
    expect(parseSlackClick("payload=not-json")).toMatchObject({ ok: false });
  });
});
