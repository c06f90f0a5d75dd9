-- Orders and their timeline. Amount, currency and credits are snapshots taken at creation, so a later
-- price change never alters what a customer was promised. Provider references are unique per provider.
create table payguard.payment_orders (
  id text primary key check (id ~ '^[A-Za-z0-9_-]{6,64}$'),
  user_id uuid not null,
  package_id text not null references payguard.credit_packages (id),
  provider text not null check (provider in ('stripe', 'wechatpay')),
  status text not null default 'pending' check (
    status in ('pending', 'fulfilled', 'partially_refunded', 'refunded', 'expired', 'failed', 'needs_review')
  ),
  amount_minor bigint not null check (amount_minor > 0),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  credits integer not null check (credits > 0),
  provider_ref text,
  payment_ref text,
  refunded_minor bigint not null default 0 check (refunded_minor >= 0),
  review_reason text,
  source text,
  check_attempts integer not null default 0,
  next_check_at timestamptz,
  paid_at timestamptz,
  expires_at timestamptz not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  check (refunded_minor <= amount_minor),
  check (status <> 'needs_review' or review_reason is not null),
  check (status not in ('fulfilled', 'partially_refunded', 'refunded') or (payment_ref is not null and paid_at is not null))
);
create unique index payment_orders_provider_ref on payguard.payment_orders (provider, provider_ref)
  where provider_ref is not null;
create unique index payment_orders_payment_ref on payguard.payment_orders (provider, payment_ref)
  where payment_ref is not null;
create index payment_orders_due on payguard.payment_orders (next_check_at) where status = 'pending';
create index payment_orders_user on payguard.payment_orders (user_id, created_at desc);

create table payguard.order_events (
  id bigint generated always as identity primary key,
  order_id text not null references payguard.payment_orders (id),
  at timestamptz not null,
  kind text not null,
  source text,
  detail jsonb not null default '{}'::jsonb
);
create index order_events_order on payguard.order_events (order_id, at);
