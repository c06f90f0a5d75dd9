/** The three senders and their markup, by channel name. */
import type { Markup } from "../message.ts";
import type { ChannelName } from "../settings.ts";
import { DINGTALK_MARKUP, dingtalkSender } from "./dingtalk.ts";
import { SLACK_MARKUP, slackSender } from "./slack.ts";
import type { Sender } from "./types.ts";
import { WECOM_MARKUP, wecomSender } from "./wecom.ts";

export const SENDERS: Record<ChannelName, { sender: Sender; markup: Markup }> = {
  slack: { sender: slackSender, markup: SLACK_MARKUP },
  dingtalk: { sender: dingtalkSender, markup: DINGTALK_MARKUP },
  wecom: { sender: wecomSender, markup: WECOM_MARKUP },
};
