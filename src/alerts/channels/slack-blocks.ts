/**
 * Slack Block Kit for alert messages. One incident: its lines as sections, then an actions block with the
 * buttons chat-actions.ts offers and a link button to the incident page. A digest: one section per incident
 * with an overflow menu of the same actions and the link, so every incident of a storm can be acted on.
 * The incident travels in the block id (`i:<index>:<key>`; Slack sends it back with the click), the action
 * in the button's value, so nothing else about the message has to be trusted.
 * Limits (Slack's): 50 blocks a message, 3000 characters a section, 75 a button label, 255 a block id,
 * 150 an overflow option's value.
 */
import { CHAT_WORDS, type ChatAction, chatActions } from "../chat-actions.ts";
import type { Composed } from "../compose.ts";
import { incidentsUrl, incidentUrl, WORDS } from "../message.ts";
import type { Notice } from "../notice.ts";
import type { AlertLanguage } from "../settings.ts";

export const SLACK_SECTION_CHARS_MAX = 3_000;
const SLACK_BLOCK_ID_CHARS_MAX = 255;
const SLACK_LABEL_CHARS_MAX = 75;
export const SLACK_ACTION_PREFIX = "payguard:";
export const SLACK_OPEN_ACTION = `${SLACK_ACTION_PREFIX}open`;
export const SLACK_MENU_ACTION = `${SLACK_ACTION_PREFIX}menu`;

type Block = Record<string, unknown>;

const plain = (text: string) => ({
  type: "plain_text",
  text: text.slice(0, SLACK_LABEL_CHARS_MAX),
  emoji: true,
});
const mrkdwn = (text: string) => ({ type: "mrkdwn", text: text.slice(0, SLACK_SECTION_CHARS_MAX) });

/** `i:<index>:<key>`, or null when the key is too long for a block id (the incident then gets only its link). */
export function incidentBlockId(index: number, key: string): string | null {
  const id = `i:${index}:${key}`;
  return id.length <= SLACK_BLOCK_ID_CHARS_MAX ? id : null;
}

/** The incident key of a block id this module wrote; null for anything else. */
export function keyOfBlockId(blockId: unknown): string | null {
  if (typeof blockId !== "string") return null;
  const match = /^i:\d+:(.+)$/s.exec(blockId);
  return match?.[1] ?? null;
}

export function sections(lines: readonly string[]): Block[] {
  const chunks: string[] = [];
  let current = "";
  for (const line of lines) {
    const piece = line.slice(0, SLACK_SECTION_CHARS_MAX);
    if (current && current.length + 1 + piece.length > SLACK_SECTION_CHARS_MAX) {
      chunks.push(current);
      current = "";
    }
    current = current ? `${current}\n${piece}` : piece;
  }
  if (current) chunks.push(current);
  return chunks.map((text) => ({ type: "section", text: mrkdwn(text) }));
}

function offered(notice: Notice, interactive: boolean): ChatAction[] {
  return interactive ? chatActions(notice) : [];
}

function actionsBlock(
  notice: Notice,
  index: number,
  language: AlertLanguage,
  base: string,
  interactive: boolean,
): Block {
  const words = CHAT_WORDS[language];
  const blockId = incidentBlockId(index, notice.key);
  const buttons = (blockId ? offered(notice, interactive) : []).map((action) => ({
    type: "button",
    action_id: `${SLACK_ACTION_PREFIX}${action}`,
    text: plain(words[action]),
    value: action,
    ...(action === "acknowledge" ? { style: "primary" } : {}),
  }));
  const open = {
    type: "button",
    action_id: SLACK_OPEN_ACTION,
    text: plain(words.open),
    url: incidentUrl(base, notice.key),
  };
  return { type: "actions", ...(blockId ? { block_id: blockId } : {}), elements: [...buttons, open] };
}

function digestSection(
  line: string,
  notice: Notice,
  index: number,
  composed: Composed,
  interactive: boolean,
): Block {
  const words = CHAT_WORDS[composed.language];
  const blockId = incidentBlockId(index, notice.key);
  const actions = blockId ? offered(notice, interactive) : [];
  const section: Block = { type: "section", text: mrkdwn(line) };
  if (!blockId || actions.length === 0) return section;
  const options = [
    ...actions.map((action) => ({ text: plain(words[action]), value: action })),
    { text: plain(words.open), value: "open", url: incidentUrl(composed.publicBaseUrl, notice.key) },
  ];
  return {
    ...section,
    block_id: blockId,
    accessory: { type: "overflow", action_id: SLACK_MENU_ACTION, options },
  };
}

/** The blocks of one composed message (`interactive`: the Slack app's interactivity is configured). */
export function alertBlocks(composed: Composed, interactive: boolean): Block[] {
  const [first] = composed.notices;
  if (!first) return sections(composed.lines);
  if (!composed.digest)
    return [
      ...sections(composed.lines),
      actionsBlock(first, 0, composed.language, composed.publicBaseUrl, interactive),
    ];
  const [title = "", ...lines] = composed.lines;
  const list = {
    type: "actions",
    elements: [
      {
        type: "button",
        action_id: SLACK_OPEN_ACTION,
        text: plain(WORDS[composed.language].openList),
        url: incidentsUrl(composed.publicBaseUrl),
      },
    ],
  };
  return [
    { type: "section", text: mrkdwn(title) },
    ...lines.map((line, index) =>
      digestSection(line, composed.notices[index] as Notice, index, composed, interactive),
    ),
    list,
  ];
}

const SLACK_BLOCKS_MAX = 50;

/**
 * The message's blocks with `note` (mrkdwn, already escaped) shown under the incident block `blockId`,
 * replacing an earlier note there: how the original message says who did what.
 */
export function annotateBlocks(blocks: readonly Block[], blockId: string | null, note: string): Block[] {
  const noteId = `n:${blockId ?? ""}`.slice(0, SLACK_BLOCK_ID_CHARS_MAX);
  const kept = blocks.filter((block) => block.block_id !== noteId);
  const at = blockId ? kept.findIndex((block) => block.block_id === blockId) : -1;
  const context = { type: "context", block_id: noteId, elements: [mrkdwn(note)] };
  if (kept.length < SLACK_BLOCKS_MAX) {
    kept.splice(at < 0 ? kept.length : at + 1, 0, context);
    return kept;
  }
  // A full digest: the note goes into the incident's own section instead of a block of its own.
  return kept.map((block, index) => {
    if (index !== at || !block.text || typeof (block.text as { text?: unknown }).text !== "string")
      return block;
    return { ...block, text: mrkdwn(`${(block.text as { text: string }).text}\n${note}`) };
  });
}
