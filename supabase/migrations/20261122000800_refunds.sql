-- One row per provider refund applied: the idempotency key of a clawback, kept even when a tiny refund
-- rounds to zero credits and so writes no ledger row.
create table payguard.payment_refunds (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  refund_ref text not null,
  order_id text not null references payguard.payment_orders (id),
  amount_minor bigint not null check (amount_minor > 0),
  credits_clawed_back bigint not null check (credits_clawed_back >= 0),
  applied_at timestamptz not null,
  primary key (provider, refund_ref)
);
alter table payguard.payment_refunds enable row level security;
revoke all on payguard.payment_refunds from public, anon, authenticated, service_role;
