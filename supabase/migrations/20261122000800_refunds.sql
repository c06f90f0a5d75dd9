-- Every payment fact is kept, so the final state of an order depends only on the set of facts that
-- happened, never on their arrival order or count (docs/schema.md, "Settlement").

-- What settlement records on the order itself: what a checkout discount took off the price (a payment
-- matches when amount + discount = the order amount) and an operator's review decision.
alter table payguard.payment_orders
  add column discount_minor bigint not null default 0 check (discount_minor >= 0),
  -- An operator's decision on a review (`fulfil` / `reject`); a rejected order keeps no purchase credits.
  add column review_resolution text check (review_resolution in ('fulfil', 'reject'));

-- One row per provider payment seen for an order. `role`: the credited payment (`primary`, the earliest
-- matching one by paid_at then reference), another matching payment (`second`: paid twice, a human
-- refunds it), a payment that does not match the order (`mismatch`), or one whose references disagree
-- with the order on record (`disputed`).
create table payguard.order_payments (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  payment_ref text not null,
  order_id text not null references payguard.payment_orders (id),
  role text not null check (role in ('primary', 'second', 'mismatch', 'disputed')),
  amount_minor bigint not null,
  discount_minor bigint not null default 0,
  currency char(3) not null,
  paid_at timestamptz not null,
  recorded_at timestamptz not null,
  primary key (provider, payment_ref)
);
create index order_payments_order on payguard.order_payments (order_id);
alter table payguard.order_payments enable row level security;
revoke all on payguard.order_payments from public, anon, authenticated, service_role;

-- Facts that cannot apply yet: a refund whose payment has not been seen, a payment for an order that is
-- not written and carries no usable metadata. Keyed by the provider's own id; applied and deleted in the
-- same transaction as the fact that makes them applicable. Old ones are an audit finding.
create table payguard.held_facts (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  kind text not null check (kind in ('payment', 'refund')),
  fact_ref text not null,
  order_id text,
  payment_ref text,
  fact jsonb not null,
  held_at timestamptz not null,
  primary key (provider, kind, fact_ref),
  check (order_id is not null or payment_ref is not null)
);
create index held_facts_order on payguard.held_facts (order_id) where order_id is not null;
create index held_facts_payment on payguard.held_facts (provider, payment_ref) where payment_ref is not null;
create index held_facts_age on payguard.held_facts (held_at);
alter table payguard.held_facts enable row level security;
revoke all on payguard.held_facts from public, anon, authenticated, service_role;

-- One row per provider refund recorded against a paid order: the idempotency key of its clawback, kept
-- even when a tiny refund rounds to zero credits and so writes no ledger row. `payment_ref` is the
-- payment it refunds when the provider says so (a refund of a second payment claws nothing back).
-- A refund that later fails keeps its row (status `failed`); its clawback is reversed once.
create table payguard.payment_refunds (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  refund_ref text not null,
  order_id text not null references payguard.payment_orders (id),
  payment_ref text,
  amount_minor bigint not null check (amount_minor > 0),
  status text not null default 'succeeded' check (status in ('succeeded', 'failed')),
  -- null until the order's grant stands and the clawback is computed.
  credits_clawed_back bigint check (credits_clawed_back >= 0),
  reversed_at timestamptz,
  applied_at timestamptz not null,
  primary key (provider, refund_ref)
);
create index payment_refunds_order on payguard.payment_refunds (order_id);
alter table payguard.payment_refunds enable row level security;
revoke all on payguard.payment_refunds from public, anon, authenticated, service_role;

-- A provider's word that a refund failed (Stripe `refund.failed`), kept whether or not the refund itself
-- has been seen: whichever arrives first, the refund ends failed and claws back nothing.
create table payguard.refund_failures (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  refund_ref text not null,
  failed_at timestamptz not null,
  primary key (provider, refund_ref)
);
alter table payguard.refund_failures enable row level security;
revoke all on payguard.refund_failures from public, anon, authenticated, service_role;

-- A reversed clawback is an `adjustment` keyed by the refund id: at most one per refund.
create unique index credit_ledger_one_reversal on payguard.credit_ledger (provider, refund_ref)
  where kind = 'adjustment' and refund_ref is not null;
