-- Operational tables: the webhook inbox (guard 1), incidents, cron job runs and sync cursors.
-- The inbox stores no payloads: payer data stays with the provider.
create table payguard.webhook_events (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  event_id text not null,
  event_type text not null,
  order_id text,
  status text not null default 'received' check (status in ('received', 'processed', 'ignored', 'failed')),
  attempts integer not null default 1,
  last_error text,
  received_at timestamptz not null,
  finished_at timestamptz,
  primary key (provider, event_id)
);
create index webhook_events_failed on payguard.webhook_events (status) where status in ('received', 'failed');

create table payguard.incidents (
  id bigint generated always as identity primary key,
  key text not null,
  kind text not null,
  severity text not null check (severity in ('info', 'warning', 'critical')),
  status text not null default 'open' check (status in ('open', 'resolved')),
  summary text not null,
  detail jsonb not null default '{}'::jsonb,
  occurrences integer not null default 1,
  opened_at timestamptz not null,
  last_seen_at timestamptz not null,
  resolved_at timestamptz,
  -- Operator triage: an acknowledged incident is being handled; a muted one sends no reminders until then.
  acknowledged_at timestamptz,
  acknowledged_by text,
  muted_until timestamptz,
  muted_by text
);
create unique index incidents_one_open_per_key on payguard.incidents (key) where status = 'open';

create table payguard.job_runs (
  id bigint generated always as identity primary key,
  job text not null,
  -- partial: stopped at a budget (or skipped a provider) with work left for the next run.
  status text not null check (status in ('ok', 'partial', 'error')),
  started_at timestamptz not null,
  finished_at timestamptz not null,
  detail jsonb not null default '{}'::jsonb
);
create index job_runs_recent on payguard.job_runs (started_at desc);

create table payguard.sync_cursors (
  name text primary key,
  value jsonb not null,
  updated_at timestamptz not null
);
