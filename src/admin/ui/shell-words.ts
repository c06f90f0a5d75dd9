/**
 * Words of the console's frame in English and Chinese: the refusals and error pages the server answers
 * with (signed out, CSRF, too large, unavailable, not found), sign-in and the settings page. Typed so the
 * Chinese object must have every key of the English one.
 */
import type { Lang } from "./i18n.ts";

const en = {
  notFoundTitle: "Page not found",
  notFoundText: "Nothing in the console lives at this address. The link may be old or mistyped.",
  backToOverview: "Back to the overview",
  problemTitle: "Not done",
  unavailable: "Temporarily unavailable: a store did not answer. Nothing was changed; try again in a moment.",
  signInFirst: "Your session has ended (signed out, expired, or its token was removed). Sign in again.",
  signInAgain: "Sign in",
  crossOrigin: "This form was sent from another site and was refused. Nothing was changed.",
  csrfInvalid:
    "This form does not belong to your current session (it is old, or from another tab). Nothing was changed: reload the page and try again.",
  tooLarge: "The form is too large. Nothing was changed.",
  formUnreadable:
    "The request is not a form this page can read. Nothing was changed: reload the page and try again.",
  tooManySignIns: "Too many sign-in attempts from this address: wait a minute and try again.",
  signOutFailed: "Could not sign out: the session store did not answer. Try again.",
  reloadHint: "Go back",
  settings: "Settings",
  timeZone: "Time zone",
  timeZoneHelp:
    "Times in the console are shown in this zone, with how long ago. An IANA name such as Asia/Shanghai or Europe/Berlin.",
  timeZoneDefault: "Deployment default (REPORT_TIME_ZONE)",
  timeZoneCurrent: "Now showing",
  timeZoneSave: "Save",
  timeZoneReset: "Use the default",
  timeZoneSet: "time zone set to",
  timeZoneUnknown: "not a known time zone",
  signedInAs: "Signed in as",
} as const;

export type ShellWords = { [K in keyof typeof en]: string };

const zh: ShellWords = {
  notFoundTitle: "页面不存在",
  notFoundText: "控制台中没有这个地址，链接可能已过期或有误。",
  backToOverview: "返回概览",
  problemTitle: "未完成",
  unavailable: "暂时不可用：存储没有响应。未做任何更改，请稍后重试。",
  signInFirst: "会话已结束（已退出、已过期或其令牌已被移除），请重新登录。",
  signInAgain: "登录",
  crossOrigin: "该表单来自其他网站，已被拒绝。未做任何更改。",
  csrfInvalid: "该表单不属于当前会话（已过期或来自其他标签页）。未做任何更改：请刷新页面后重试。",
  tooLarge: "表单内容过大。未做任何更改。",
  formUnreadable: "该请求不是本页面可读取的表单。未做任何更改：请刷新页面后重试。",
  tooManySignIns: "此地址登录尝试次数过多，请等待一分钟后重试。",
  signOutFailed: "无法退出：会话存储没有响应，请重试。",
  reloadHint: "返回",
  settings: "设置",
  timeZone: "时区",
  timeZoneHelp:
    "控制台中的时间按此时区显示，并附相对时间。请填写 IANA 名称，例如 Asia/Shanghai 或 Europe/Berlin。",
  timeZoneDefault: "部署默认值（REPORT_TIME_ZONE）",
  timeZoneCurrent: "当前显示",
  timeZoneSave: "保存",
  timeZoneReset: "使用默认值",
  timeZoneSet: "时区已设为",
  timeZoneUnknown: "不是有效的时区",
  signedInAs: "当前登录",
};

export const SHELL_WORDS: Record<Lang, ShellWords> = { en, zh };

/** The refusals a dashboard request can get, each an HTML page in the page's language. */
export type Problem =
  | "unavailable"
  | "signInFirst"
  | "crossOrigin"
  | "csrfInvalid"
  | "tooLarge"
  | "formUnreadable"
  | "tooManySignIns"
  | "signOutFailed";
