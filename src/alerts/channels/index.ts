/** The four senders by channel name; each carries its markup. */
import type { ChannelName } from "../settings.ts";
import { dingtalkSender } from "./dingtalk.ts";
import { emailSender } from "./email.ts";
import { slackSender } from "./slack.ts";
import type { Sender } from "./types.ts";
import { wecomSender } from "./wecom.ts";

export const SENDERS: Record<ChannelName, Sender> = {
  slack: slackSender,
  dingtalk: dingtalkSender,
  wecom: wecomSender,
  email: emailSender,
};
