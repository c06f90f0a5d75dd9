-- The credit ledger is append-only (a trigger rejects UPDATE, DELETE and TRUNCATE) and is the truth;
-- credit_balances is its running sum, changed only in the same transaction as the ledger row.
-- One purchase grant per order; one clawback per provider refund id.
create table payguard.credit_ledger (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  order_id text references payguard.payment_orders (id),
  kind text not null check (kind in ('purchase', 'clawback', 'adjustment')),
  credits bigint not null check (credits <> 0),
  provider text,
  refund_ref text,
  note text,
  created_at timestamptz not null,
  check (kind <> 'purchase' or (order_id is not null and credits > 0)),
  check (kind <> 'clawback' or (order_id is not null and refund_ref is not null and provider is not null and credits < 0))
);
create unique index credit_ledger_one_purchase on payguard.credit_ledger (order_id) where kind = 'purchase';
create unique index credit_ledger_one_clawback on payguard.credit_ledger (provider, refund_ref) where kind = 'clawback';
create index credit_ledger_user on payguard.credit_ledger (user_id, id);

create function payguard.credit_ledger_is_append_only() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  raise exception 'credit_ledger is append-only (% rejected)', tg_op using errcode = '42501';
end $$;

create trigger credit_ledger_no_update before update or delete on payguard.credit_ledger
  for each row execute function payguard.credit_ledger_is_append_only();
create trigger credit_ledger_no_truncate before truncate on payguard.credit_ledger
  for each statement execute function payguard.credit_ledger_is_append_only();

create table payguard.credit_balances (
  user_id uuid primary key,
  credits bigint not null default 0,
  updated_at timestamptz not null
);
