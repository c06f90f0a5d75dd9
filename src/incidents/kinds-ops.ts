/**
 * Incident kinds about the installation rather than one order: the Data API refusing payguard
 * (`data_api:<class>`, src/ops/data-api.ts) and the installation doctor (`doctor:<check>[:<subject>]`,
 * src/ops/doctor.ts); a dead-lettered reconcile queue share (src/reconcile/queue.ts). The callback and
 * threshold kinds are in kinds-callbacks.ts.
 */
import type { IncidentKind } from "./catalogue.ts";
import { field, titled } from "./text.ts";

type Detail = Record<string, unknown>;

const AFTER_DATA_API_FIX = {
  en: "Providers keep retrying meanwhile; once fixed, their redeliveries are credited once and the doctor resolves this incident.",
  zh: "期间支付渠道会持续重试；修复后重投的回调只入账一次，自检会自动关闭本告警。",
};

function dataApi(en: string, zh: string, steps: { en: string[]; zh: string[] }): IncidentKind {
  return {
    title: titled(
      () => `${en}: no payment is credited`,
      () => `${zh}：所有付款都无法入账`,
    ),
    runbook: { en: [...steps.en, AFTER_DATA_API_FIX.en], zh: [...steps.zh, AFTER_DATA_API_FIX.zh] },
    actions: ["replay_events"],
  };
}

const DATA_API_KINDS: Record<string, IncidentKind> = {
  data_api_schema_not_exposed: dataApi(
    "The Data API does not expose schema payguard",
    "Data API 未暴露 payguard 模式",
    {
      en: [
        "Add payguard to the exposed schemas (Supabase Dashboard → Project Settings → Data API, or [api] schemas in supabase/config.toml).",
      ],
      zh: [
        "将 payguard 加入暴露的模式（Supabase 控制台 → Project Settings → Data API，或 supabase/config.toml 的 [api] schemas）。",
      ],
    },
  ),
  data_api_function_missing: dataApi(
    "A payguard function the code calls is missing",
    "代码调用的 payguard 函数不存在",
    {
      en: [
        "The database is behind the deployed code: apply supabase/migrations (npm run db:migrate, or supabase db push).",
      ],
      zh: ["数据库落后于已部署的代码：执行 supabase/migrations（npm run db:migrate 或 supabase db push）。"],
    },
  ),
  data_api_permission_denied: dataApi(
    "service_role may not execute a payguard function",
    "service_role 无权执行 payguard 函数",
    {
      en: [
        "Restore the grant (grant execute on function payguard.<name>(…) to service_role), or re-apply supabase/migrations; the doctor names each function.",
      ],
      zh: [
        "恢复授权（grant execute on function payguard.<name>(…) to service_role），或重新执行 supabase/migrations；自检会列出每个函数。",
      ],
    },
  ),
  data_api_key_rejected: dataApi(
    "Supabase refuses payguard's API key",
    "Supabase 拒绝了 payguard 的 API 密钥",
    {
      en: [
        "Set SUPABASE_SECRET_KEY to the project's secret key (sb_secret_…) with wrangler secret put SUPABASE_SECRET_KEY.",
      ],
      zh: ["用 wrangler secret put SUPABASE_SECRET_KEY 设置项目的 secret key（sb_secret_…）。"],
    },
  ),
  data_api_unavailable: dataApi(
    "The database behind the Data API cannot be reached",
    "Data API 后的数据库无法连接",
    {
      en: [
        "Check the database: project paused or restarting, connection limit reached, the Supabase status page.",
      ],
      zh: ["检查数据库：项目是否暂停或重启、连接数是否已满，并查看 Supabase 状态页。"],
    },
  ),
};

const DOCTOR_STEPS = {
  en: [
    "Apply the fix shown under Cause (it names the exact statement or setting).",
    "Run the doctor again (Report page, or POST /admin/api/doctor): it resolves this incident once the problem is gone.",
  ],
  zh: [
    "按“原因”中给出的修复方法处理（含具体语句或设置）。",
    "重新运行自检（报告页，或 POST /admin/api/doctor）：问题消失后本告警自动关闭。",
  ],
};

function doctor(en: (d: Detail) => string, zh: (d: Detail) => string): IncidentKind {
  return { title: titled(en, zh), runbook: DOCTOR_STEPS, actions: [] };
}

const subject = (d: Detail) => field(d, "subject");

const DOCTOR_KINDS: Record<string, IncidentKind> = {
  doctor_migrations: doctor(
    () => "Database migrations are behind the code (or were never applied)",
    () => "数据库迁移落后于代码（或从未执行）",
  ),
  doctor_function_missing: doctor(
    (d) => `Function payguard.${subject(d)} is missing`,
    (d) => `函数 payguard.${subject(d)} 不存在`,
  ),
  doctor_function_not_executable: doctor(
    (d) => `service_role cannot execute payguard.${subject(d)}`,
    (d) => `service_role 无权执行 payguard.${subject(d)}`,
  ),
  doctor_function_exposed: doctor(
    (d) => `Roles other than service_role can execute payguard.${subject(d)}`,
    (d) => `service_role 以外的角色可执行 payguard.${subject(d)}`,
  ),
  doctor_table_exposed: doctor(
    (d) => `Table payguard.${subject(d)} can be used around payguard's functions`,
    (d) => `表 payguard.${subject(d)} 可绕过 payguard 函数直接访问`,
  ),
  doctor_sequence_exposed: doctor(
    (d) => `Sequence payguard.${subject(d)} can be used around payguard's functions`,
    (d) => `序列 payguard.${subject(d)} 可绕过 payguard 函数直接访问`,
  ),
  doctor_rls_disabled: doctor(
    (d) => `Row-level security is off on payguard.${subject(d)}`,
    (d) => `payguard.${subject(d)} 未启用行级安全（RLS）`,
  ),
  doctor_app_hook: doctor(
    () => "The app hook payguard_app.on_settled(jsonb) is defined but payguard's functions cannot call it",
    () => "已定义应用钩子 payguard_app.on_settled(jsonb)，但 payguard 函数无权调用",
  ),
  doctor_schema_not_exposed: doctor(
    () => "The Data API does not expose schema payguard: every payguard call fails",
    () => "Data API 未暴露 payguard 模式：所有 payguard 调用都会失败",
  ),
};

/** A reconcile queue share that failed every attempt (src/reconcile/queue.ts). */
const QUEUE_KINDS: Record<string, IncidentKind> = {
  reconcile_share_dead_lettered: {
    title: titled(
      (d) =>
        `A reconcile queue share failed on every attempt and was dead-lettered (message ${field(d, "message_id")})`,
      (d) => `对账队列任务多次重试均失败，已转入死信队列（消息 ${field(d, "message_id")}）`,
    ),
    runbook: {
      en: [
        "Its orders are not lost: they stay due and the next 5-minute tick checks them; only the backlog beyond one tick waits.",
        "Find the cause in the worker's logs (reconcile_share_failed, job_finished of reconcile_fanout) and on the Jobs page: configuration, database or provider budget.",
        "Fix it; the next reconcile share that runs resolves this incident.",
      ],
      zh: [
        "订单不会丢失：它们仍待对账，下一次 5 分钟定时任务会检查；只有超出一次任务容量的积压需要等待。",
        "在 Worker 日志（reconcile_share_failed、reconcile_fanout 的 job_finished）和任务页查找原因：配置、数据库或渠道调用额度。",
        "修复后，下一个成功运行的对账队列任务会自动关闭本告警。",
      ],
    },
    actions: [],
  },
};

export const OPS_KINDS: Record<string, IncidentKind> = { ...DATA_API_KINDS, ...DOCTOR_KINDS, ...QUEUE_KINDS };
