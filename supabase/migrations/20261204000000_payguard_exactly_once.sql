-- Exactly-once, round two: the end state of an order depends only on the set of facts, on every path.
-- * Every refund is recorded whatever the order's state (with its currency); credits and status are computed
--   from the whole set (succeeded minus failed, per payment), never from arrival order. A set over what was
--   paid, a refund in another currency or a second payment not refunded yet is a derived review: it clears
--   itself when the facts stop implying it. A review a fact forces (a mismatch) waits for an operator.
-- * Recording, failing and reversing a refund take one lock per refund, after the payment's and the order's.
-- * Incidents are written to an outbox in the settlement's own transaction and returned with its result; the
--   worker delivers them to the AlertDesk, a cron drains what a crash or timeout left.
-- * Async payments in flight keep their order (and its stock unit); a late payment for a unit sold meanwhile
--   waits for an operator without credits. A 100 % discount (amount 0) fulfils.
-- * Disputes (chargebacks) are facts: a named policy claws the credits back while the dispute is open or lost.

-- ==== tables =====================================================================================
alter table payguard.payment_refunds add column currency char(3);
update payguard.payment_refunds r set currency = o.currency from payguard.payment_orders o where o.id = r.order_id;
alter table payguard.payment_refunds alter column currency set not null;

-- How the order came to be in review: `flag` (a fact forced it: a human decides, the grant stands), `sold_out`
-- (paid after expiry for a unit sold meanwhile: a human decides, no credits until then) or `derived` (what
-- the facts imply now: paid twice, refunds over the payment; it clears when they no longer do).
alter table payguard.payment_orders
  add column review_kind text check (review_kind in ('flag', 'sold_out', 'derived'));
update payguard.payment_orders set review_kind = 'flag' where status = 'needs_review';
alter table payguard.payment_orders add constraint payment_orders_review_kind
  check ((status = 'needs_review') = (review_kind is not null));

-- A chargeback: one row per provider dispute, in the state it reached (closed states are final).
create table payguard.payment_disputes (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  dispute_ref text not null,
  order_id text not null references payguard.payment_orders (id),
  payment_ref text not null,
  amount_minor bigint not null check (amount_minor > 0),
  currency char(3) not null,
  state text not null check (state in ('open', 'won', 'lost')),
  policy text not null check (policy in ('claw_back', 'notify')),
  -- null until the order's grant stands and the dispute's share is computed.
  credits_clawed_back bigint check (credits_clawed_back >= 0),
  reversed_at timestamptz,
  opened_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (provider, dispute_ref)
);
create index payment_disputes_order on payguard.payment_disputes (order_id);
alter table payguard.payment_disputes enable row level security;
revoke all on payguard.payment_disputes from public, anon, authenticated, service_role;

alter table payguard.held_facts drop constraint held_facts_kind_check;
alter table payguard.held_facts add constraint held_facts_kind_check check (kind in ('payment', 'refund', 'dispute'));

-- A dispute takes credits back as `dispute` (keyed by the dispute id); a won dispute gives them back once as
-- an `adjustment` with the same key.
alter table payguard.credit_ledger add column dispute_ref text;
alter table payguard.credit_ledger drop constraint credit_ledger_kind_check;
alter table payguard.credit_ledger add constraint credit_ledger_kind_check
  check (kind in ('purchase', 'clawback', 'adjustment', 'dispute'));
alter table payguard.credit_ledger add constraint credit_ledger_dispute
  check (kind <> 'dispute' or (order_id is not null and dispute_ref is not null and provider is not null and credits < 0));
create unique index credit_ledger_one_dispute on payguard.credit_ledger (provider, dispute_ref) where kind = 'dispute';
create unique index credit_ledger_one_dispute_reversal on payguard.credit_ledger (provider, dispute_ref)
  where kind = 'adjustment' and dispute_ref is not null;

-- Incidents found by a settlement, written in its transaction and deleted once the AlertDesk has them.
create table payguard.incident_outbox (
  id bigint generated always as identity primary key,
  action text not null check (action in ('raise', 'resolve')),
  key text not null,
  kind text,
  severity text check (severity in ('info', 'warning', 'critical')),
  summary text,
  detail jsonb,
  created_at timestamptz not null,
  leased_until timestamptz,
  check (action = 'resolve' or (kind is not null and severity is not null and summary is not null))
);
create index incident_outbox_age on payguard.incident_outbox (created_at);
alter table payguard.incident_outbox enable row level security;
revoke all on payguard.incident_outbox from public, anon, authenticated, service_role;

-- ==== incident outbox ============================================================================
-- Internal: queue one incident change. The ids written in this transaction are kept in a transaction-local
-- setting, so the function that answers the caller can hand them over with its result. Only a key's latest
-- change waits: an older undelivered one (not leased by a drain) is dropped, so a late drain never sends a
-- stale raise after the resolve that followed it.
create function payguard._outbox(p_action text, p_key text, p_kind text, p_severity text, p_summary text,
                                 p_detail jsonb, p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
declare
  new_id bigint;
begin
  delete from payguard.incident_outbox where key = p_key and (leased_until is null or leased_until <= p_now);
  insert into payguard.incident_outbox (action, key, kind, severity, summary, detail, created_at)
  values (p_action, p_key, p_kind, p_severity, p_summary, p_detail, p_now) returning id into new_id;
  perform set_config('payguard.outbox',
    concat_ws(',', nullif(current_setting('payguard.outbox', true), ''), new_id::text), true);
end $$;

create function payguard._raise(p_key text, p_kind text, p_severity text, p_summary text, p_detail jsonb, p_now timestamptz)
  returns void language sql security definer set search_path = ''
as $$ select payguard._outbox('raise', p_key, p_kind, p_severity, p_summary, p_detail, p_now) $$;

create function payguard._resolve(p_key text, p_now timestamptz)
  returns void language sql security definer set search_path = ''
as $$ select payguard._outbox('resolve', p_key, null, null, null, null, p_now) $$;

create function payguard._outbox_row(x payguard.incident_outbox) returns jsonb
  language sql immutable security definer set search_path = ''
as $$
  select jsonb_build_object('id', x.id, 'action', x.action, 'key', x.key, 'kind', x.kind, 'severity', x.severity,
                            'summary', x.summary, 'detail', x.detail, 'created_at', x.created_at);
$$;

-- Internal: a result with the incidents this transaction queued (`incidents`, in order), when there are any.
-- Volatile on purpose: it must see rows written by the call that computed its argument in the same statement.
create function payguard._with_incidents(p_result jsonb) returns jsonb
  language plpgsql volatile security definer set search_path = ''
as $$
declare
  ids bigint[] := string_to_array(nullif(current_setting('payguard.outbox', true), ''), ',')::bigint[];
  queued jsonb;
begin
  if ids is null then
    return p_result;
  end if;
  select jsonb_agg(payguard._outbox_row(x) order by x.id) into queued from payguard.incident_outbox x where x.id = any(ids);
  return case when queued is null then p_result else p_result || jsonb_build_object('incidents', queued) end;
end $$;

-- Outbox rows the worker did not confirm (a crash, a timeout, a failed delivery), at least p_min_age_seconds
-- old, leased so overlapping drains never send one twice at the same time.
create function payguard.claim_incident_outbox(p_limit int, p_lease_seconds int, p_now timestamptz,
                                               p_min_age_seconds int default 0)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  claimed jsonb;
begin
  with due as (
    select id from payguard.incident_outbox
     where created_at <= p_now - make_interval(secs => greatest(p_min_age_seconds, 0))
       and (leased_until is null or leased_until <= p_now)
     order by id
     limit least(greatest(p_limit, 0), 1000)
     for update skip locked
  ), leased as (
    update payguard.incident_outbox x set leased_until = p_now + make_interval(secs => p_lease_seconds)
      from due where x.id = due.id
    returning x.*
  )
  select coalesce(jsonb_agg(payguard._outbox_row(leased) order by leased.id), '[]'::jsonb) into claimed from leased;
  return claimed;
end $$;

create function payguard.finish_incident_outbox(p_ids bigint[]) returns int
  language plpgsql security definer set search_path = ''
as $$
declare
  done int;
begin
  delete from payguard.incident_outbox where id = any(coalesce(p_ids, '{}'));
  get diagnostics done = row_count;
  return done;
end $$;

-- ==== settlement =================================================================================
-- Internal: how many credits refunds (and disputes) of p_refunded_minor take back: none without any,
-- proportional and floored, all of them once the whole paid amount is back (a free order: any refund).
create or replace function payguard._claw_target(p_credits bigint, p_paid_minor bigint, p_refunded_minor bigint)
  returns bigint language sql immutable security definer set search_path = ''
as $$
  select case when p_refunded_minor <= 0 then 0
              when p_refunded_minor >= p_paid_minor then p_credits
              else least(p_credits, (p_credits * p_refunded_minor) / p_paid_minor) end;
$$;

create function payguard._incident_detail(o payguard.payment_orders, p_extra jsonb) returns jsonb
  language sql immutable security definer set search_path = ''
as $$
  select jsonb_build_object('order_id', o.id, 'provider', o.provider, 'status', o.status,
                            'amount_minor', o.amount_minor, 'currency', o.currency, 'payment_ref', o.payment_ref)
         || coalesce(p_extra, '{}'::jsonb);
$$;

-- Internal: put an order in review because a fact forces it (`flag`) or withholds its credits (`sold_out`).
-- An operator decides (resolve_review); one incident per order says why.
create or replace function payguard._flag(p_order payguard.payment_orders, p_reason text, p_source text, p_now timestamptz,
                                          p_detail jsonb)
  returns payguard.payment_orders language plpgsql security definer set search_path = ''
as $$
declare
  flagged payguard.payment_orders;
begin
  update payguard.payment_orders
     set status = 'needs_review', review_reason = p_reason, next_check_at = null, updated_at = p_now,
         review_kind = case when review_kind = 'sold_out' or p_detail ->> 'review_kind' = 'sold_out' then 'sold_out'
                            else 'flag' end
   where id = p_order.id returning * into flagged;
  perform payguard._order_event(p_order.id, p_now, 'needs_review', p_source,
    coalesce(p_detail, '{}'::jsonb) || jsonb_build_object('reason', p_reason, 'previous_status', p_order.status));
  perform payguard._raise('needs_review:' || flagged.id, 'needs_review', 'critical',
    format('Order %s needs review: %s', flagged.id, p_reason), payguard._incident_detail(flagged, jsonb_build_object('reason', p_reason)), p_now);
  return flagged;
end $$;

-- Internal: why the order's facts put it in review now (null: they do not), unless an operator decided.
create function payguard._derived_review(o payguard.payment_orders, p_counted_minor bigint, p_foreign text)
  returns text language plpgsql stable security definer set search_path = ''
as $$
declare
  second_ref text;
begin
  if o.review_resolution is not null or o.payment_ref is null then
    return null;
  end if;
  if p_foreign is not null then
    return format('refund %s is not in the order''s currency %s', p_foreign, o.currency);
  end if;
  if p_counted_minor > o.amount_minor - o.discount_minor then
    return format('refunds of %s %s exceed the %s paid', p_counted_minor, o.currency, o.amount_minor - o.discount_minor);
  end if;
  select p.payment_ref into second_ref from payguard.order_payments p
   where p.order_id = o.id and p.role = 'second'
     and coalesce((select sum(r.amount_minor) from payguard.payment_refunds r
                    where r.provider = p.provider and r.payment_ref = p.payment_ref and r.status = 'succeeded'), 0)
         < p.amount_minor
   order by p.paid_at, p.payment_ref limit 1;
  if second_ref is not null then
    return format('paid twice: refund %s (keep %s)', second_ref, o.payment_ref);
  end if;
  return null;
end $$;

-- Internal: brings an order's ledger, refunded amount and status to what its recorded facts imply. Called
-- under the order's row lock after every fact. The grant stands once a primary payment is recorded, unless
-- a review rejected it or withholds it; each counted refund and dispute takes back once (keyed by its id);
-- a failed refund or a won dispute gives back once. Whatever still differs from the target is one adjustment.
create or replace function payguard._sync_order(p_order_id text, p_source text, p_now timestamptz)
  returns payguard.payment_orders language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  was payguard.payment_orders;
  paid_minor bigint;
  grant_stands boolean;
  v_refunded bigint;
  v_disputed bigint;
  counted_minor bigint;
  net bigint;
  step bigint;
  target bigint;
  ledger_sum bigint;
  foreign_ref text;
  derived text;
  r record;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  was := o;
  paid_minor := o.amount_minor - o.discount_minor;
  grant_stands := o.payment_ref is not null and o.review_resolution is distinct from 'reject'
                  and o.review_kind is distinct from 'sold_out';
  if grant_stands then
    perform payguard._post_credits(o.user_id, o.id, 'purchase', o.credits, o.provider, null, null, p_now);
    select coalesce(-sum(credits), 0) into net from payguard.credit_ledger
     where order_id = o.id and (refund_ref is not null or dispute_ref is not null) and kind in ('clawback', 'adjustment', 'dispute');
    -- A failed refund gives back what the refunds that still stand no longer take.
    for r in select * from payguard.payment_refunds
              where order_id = o.id and status = 'failed' and credits_clawed_back is not null and reversed_at is null
              order by refund_ref loop
      select coalesce(sum(amount_minor), 0) into counted_minor from payguard.payment_refunds
       where order_id = o.id and status = 'succeeded' and credits_clawed_back is not null;
      select counted_minor + coalesce(sum(amount_minor), 0) into counted_minor from payguard.payment_disputes
       where order_id = o.id and credits_clawed_back is not null and reversed_at is null;
      step := net - payguard._claw_target(o.credits, paid_minor, counted_minor);
      if step > 0 then
        perform payguard._post_credits(o.user_id, o.id, 'adjustment', step, o.provider, r.refund_ref, 'refund failed', p_now);
        net := net - step;
      end if;
      update payguard.payment_refunds set reversed_at = p_now where provider = r.provider and refund_ref = r.refund_ref;
    end loop;
    -- A won dispute gives back what it took.
    for r in select * from payguard.payment_disputes
              where order_id = o.id and state = 'won' and credits_clawed_back is not null and reversed_at is null
              order by dispute_ref loop
      if r.credits_clawed_back > 0 then
        insert into payguard.credit_ledger (user_id, order_id, kind, credits, provider, dispute_ref, note, created_at)
        values (o.user_id, o.id, 'adjustment', r.credits_clawed_back, o.provider, r.dispute_ref, 'dispute won', p_now);
        perform payguard._credit_balance(o.user_id, o.id, 'adjustment', r.credits_clawed_back, o.provider, r.dispute_ref, 'dispute won', p_now);
        net := net - r.credits_clawed_back;
      end if;
      update payguard.payment_disputes set reversed_at = p_now where provider = r.provider and dispute_ref = r.dispute_ref;
    end loop;
    -- Each counted refund takes its share once.
    for r in select * from payguard.payment_refunds
              where order_id = o.id and status = 'succeeded' and credits_clawed_back is null and currency = o.currency
                and (payment_ref is null or payment_ref = o.payment_ref)
              order by refund_ref loop
      select coalesce(sum(amount_minor), 0) + r.amount_minor into counted_minor from payguard.payment_refunds
       where order_id = o.id and status = 'succeeded' and credits_clawed_back is not null;
      select counted_minor + coalesce(sum(amount_minor), 0) into counted_minor from payguard.payment_disputes
       where order_id = o.id and credits_clawed_back is not null and reversed_at is null;
      step := greatest(payguard._claw_target(o.credits, paid_minor, counted_minor) - net, 0);
      if step > 0 then
        perform payguard._post_credits(o.user_id, o.id, 'clawback', -step, o.provider, r.refund_ref, null, p_now);
        net := net + step;
      end if;
      update payguard.payment_refunds set credits_clawed_back = step where provider = r.provider and refund_ref = r.refund_ref;
    end loop;
    -- Each open or lost dispute of the credited payment takes its share once (the claw_back policy).
    for r in select * from payguard.payment_disputes
              where order_id = o.id and state <> 'won' and credits_clawed_back is null and policy = 'claw_back'
                and payment_ref = o.payment_ref
              order by dispute_ref loop
      select coalesce(sum(amount_minor), 0) into counted_minor from payguard.payment_refunds
       where order_id = o.id and status = 'succeeded' and credits_clawed_back is not null;
      select counted_minor + coalesce(sum(amount_minor), 0) + r.amount_minor into counted_minor from payguard.payment_disputes
       where order_id = o.id and credits_clawed_back is not null and reversed_at is null;
      step := greatest(payguard._claw_target(o.credits, paid_minor, counted_minor) - net, 0);
      if step > 0 then
        insert into payguard.credit_ledger (user_id, order_id, kind, credits, provider, dispute_ref, note, created_at)
        values (o.user_id, o.id, 'dispute', -step, o.provider, r.dispute_ref, 'chargeback', p_now);
        perform payguard._credit_balance(o.user_id, o.id, 'dispute', -step, o.provider, r.dispute_ref, 'chargeback', p_now);
        net := net + step;
      end if;
      update payguard.payment_disputes set credits_clawed_back = step where provider = r.provider and dispute_ref = r.dispute_ref;
    end loop;
  end if;
  select coalesce(sum(amount_minor), 0) into v_refunded from payguard.payment_refunds
   where order_id = o.id and status = 'succeeded' and currency = o.currency
     and (payment_ref is null or payment_ref = o.payment_ref);
  select coalesce(sum(amount_minor), 0) into v_disputed from payguard.payment_disputes
   where order_id = o.id and state <> 'won' and policy = 'claw_back' and payment_ref = o.payment_ref;
  target := case when grant_stands
                 then o.credits - payguard._claw_target(o.credits, paid_minor, v_refunded + v_disputed) else 0 end;
  select coalesce(sum(credits), 0) into ledger_sum from payguard.credit_ledger where order_id = o.id;
  if target <> ledger_sum then
    perform payguard._post_credits(o.user_id, o.id, 'adjustment', target - ledger_sum, o.provider, null,
                                   'settlement: ledger brought to what the order''s facts imply', p_now);
  end if;
  select refund_ref into foreign_ref from payguard.payment_refunds
   where order_id = o.id and status = 'succeeded' and currency <> o.currency
     and (payment_ref is null or payment_ref = o.payment_ref)
   order by refund_ref limit 1;
  derived := payguard._derived_review(o, v_refunded, foreign_ref);
  update payguard.payment_orders
     set refunded_minor = least(v_refunded, amount_minor), updated_at = p_now,
         status = case when o.status = 'needs_review' and o.review_kind <> 'derived' then o.status
                       when o.payment_ref is null or o.review_resolution = 'reject' then
                         case when o.status = 'needs_review' then 'failed' else o.status end
                       when derived is not null then 'needs_review'
                       when v_refunded >= paid_minor and v_refunded > 0 then 'refunded'
                       when v_refunded > 0 then 'partially_refunded'
                       else 'fulfilled' end,
         review_reason = case when o.status = 'needs_review' and o.review_kind <> 'derived' then o.review_reason
                              when o.payment_ref is not null and o.review_resolution is distinct from 'reject' then derived
                              else null end,
         review_kind = case when o.status = 'needs_review' and o.review_kind <> 'derived' then o.review_kind
                            when o.payment_ref is not null and o.review_resolution is distinct from 'reject'
                                 and derived is not null then 'derived'
                            else null end
   where id = o.id returning * into o;
  if o.review_kind = 'derived' and o.review_reason is distinct from was.review_reason then
    perform payguard._order_event(o.id, p_now, 'needs_review', p_source,
      jsonb_build_object('reason', o.review_reason, 'previous_status', was.status, 'derived', true));
    perform payguard._raise('needs_review:' || o.id, 'needs_review', 'critical',
      format('Order %s needs review: %s', o.id, o.review_reason),
      payguard._incident_detail(o, jsonb_build_object('reason', o.review_reason)), p_now);
  elsif was.status = 'needs_review' and o.status <> 'needs_review' then
    perform payguard._resolve('needs_review:' || o.id, p_now);
  end if;
  return o;
end $$;

-- Internal: the balance half of _post_credits, for ledger rows keyed by a dispute.
create function payguard._credit_balance(
  p_user_id uuid, p_order_id text, p_kind text, p_credits bigint, p_provider text, p_ref text, p_note text, p_now timestamptz
) returns void language plpgsql security definer set search_path = ''
as $$
begin
  insert into payguard.credit_balances as b (user_id, credits, updated_at) values (p_user_id, p_credits, p_now)
  on conflict (user_id) do update set credits = b.credits + excluded.credits, updated_at = excluded.updated_at;
  perform payguard._notify_app_settled(p_user_id, p_order_id, p_kind, p_credits, p_provider, p_ref, p_note, p_now);
end $$;

-- Internal: one lock per provider refund or dispute, taken after the payment's and the order's: recording,
-- failing and reversing it never interleave, whichever OrderGuard the worker picked.
create function payguard._lock_fact(p_provider text, p_kind text, p_ref text) returns void
  language sql security definer set search_path = ''
as $$ select payguard._lock_key(p_kind || ':' || p_provider || ':' || p_ref) $$;

-- Internal: records a refund against its (locked, paid) order, whatever the order's state: failed when its
-- failure is already known. What it does to credits and status is _sync_order's, from the whole set.
create or replace function payguard._record_refund(o payguard.payment_orders, p_fact jsonb, p_source text, p_now timestamptz)
  returns text language plpgsql security definer set search_path = ''
as $$
declare
  ref text := p_fact ->> 'refund_ref';
  v_provider text := coalesce(p_fact ->> 'provider', o.provider);
  failed boolean;
begin
  perform payguard._lock_fact(v_provider, 'refund', ref);
  if exists (select 1 from payguard.payment_refunds where provider = v_provider and refund_ref = ref) then
    return 'duplicate';
  end if;
  if coalesce((p_fact ->> 'amount_minor')::bigint, 0) <= 0 then
    raise exception 'refund % has no positive amount', ref using errcode = 'P0001';
  end if;
  failed := exists (select 1 from payguard.refund_failures where provider = v_provider and refund_ref = ref);
  insert into payguard.payment_refunds (provider, refund_ref, order_id, payment_ref, amount_minor, currency, status, applied_at)
  values (v_provider, ref, o.id, p_fact ->> 'payment_ref', (p_fact ->> 'amount_minor')::bigint,
          upper(p_fact ->> 'currency'), case when failed then 'failed' else 'succeeded' end, p_now);
  perform payguard._order_event(o.id, p_now, case when failed then 'refund_failed' else 'refunded' end, p_source, p_fact);
  if exists (select 1 from payguard.order_events where order_id = o.id and kind = 'refund_awaited') then
    perform payguard._resolve('refund_awaited:' || o.id, p_now);
  end if;
  return case when failed then 'refund_failed' else 'recorded' end;
end $$;

-- Internal: a dispute recorded against its (locked, paid) order; a closed state is final.
create function payguard._record_dispute(o payguard.payment_orders, p_fact jsonb, p_source text, p_now timestamptz)
  returns text language plpgsql security definer set search_path = ''
as $$
declare
  ref text := p_fact ->> 'dispute_ref';
  v_provider text := coalesce(p_fact ->> 'provider', o.provider);
  new_state text := p_fact ->> 'state';
  known payguard.payment_disputes;
begin
  perform payguard._lock_fact(v_provider, 'dispute', ref);
  select * into known from payguard.payment_disputes where provider = v_provider and dispute_ref = ref;
  if known.dispute_ref is not null and (known.state <> 'open' or new_state = 'open') then
    return 'duplicate';
  end if;
  if known.dispute_ref is null then
    insert into payguard.payment_disputes (provider, dispute_ref, order_id, payment_ref, amount_minor, currency, state,
                                           policy, opened_at, updated_at)
    values (v_provider, ref, o.id, p_fact ->> 'payment_ref', (p_fact ->> 'amount_minor')::bigint, upper(p_fact ->> 'currency'),
            new_state, coalesce(p_fact ->> 'policy', 'claw_back'), p_now, p_now);
  else
    update payguard.payment_disputes set state = new_state, updated_at = p_now
     where provider = v_provider and dispute_ref = ref;
  end if;
  perform payguard._order_event(o.id, p_now, 'dispute_' || new_state, p_source, p_fact);
  return case new_state when 'open' then 'disputed' else 'dispute_' || new_state end;
end $$;

-- Internal: the dispute's incident: raised while it is open or lost, resolved once it is won.
create function payguard._dispute_incident(o payguard.payment_orders, p_fact jsonb, p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
declare
  v_state text := (select d.state from payguard.payment_disputes d
                    where d.provider = o.provider and d.dispute_ref = p_fact ->> 'dispute_ref');
begin
  if v_state = 'won' then
    perform payguard._resolve('dispute:' || o.id, p_now);
    return;
  end if;
  perform payguard._raise('dispute:' || o.id, 'dispute', 'critical',
    format('Order %s: the buyer disputed the payment (chargeback %s, %s); %s', o.id, p_fact ->> 'dispute_ref', v_state,
           case when coalesce(p_fact ->> 'policy', 'claw_back') = 'claw_back' then 'its credits are taken back'
                else 'its credits are kept (policy notify)' end),
    payguard._incident_detail(o, jsonb_build_object('dispute_ref', p_fact ->> 'dispute_ref', 'dispute_state', v_state,
                                                    'policy', coalesce(p_fact ->> 'policy', 'claw_back'))), p_now);
end $$;

-- Internal: applies the refunds and disputes held for this order or for one of its payments.
create or replace function payguard._release_held_refunds(o payguard.payment_orders, p_source text, p_now timestamptz)
  returns int language plpgsql security definer set search_path = ''
as $$
declare
  h record;
  released int := 0;
begin
  for h in delete from payguard.held_facts
            where provider = o.provider and kind in ('refund', 'dispute')
              and ((payment_ref is null and order_id = o.id)
                   or payment_ref in (select payment_ref from payguard.order_payments where order_id = o.id))
           returning * loop
    if h.kind = 'refund' then
      if payguard._record_refund(o, h.fact, p_source, p_now) <> 'duplicate' then
        released := released + 1;
      end if;
    elsif payguard._record_dispute(o, h.fact, p_source, p_now) <> 'duplicate' then
      perform payguard._dispute_incident(o, h.fact, p_now);
      released := released + 1;
    end if;
  end loop;
  return released;
end $$;

-- Internal: keep a fact that cannot apply yet. `held`, or `duplicate` when it was already held. A held
-- dispute keeps the furthest state it reached (a closed state replaces `open`).
create or replace function payguard._hold(p_provider text, p_kind text, p_ref text, p_order_id text, p_payment_ref text,
                                          p_fact jsonb, p_now timestamptz)
  returns text language plpgsql security definer set search_path = ''
as $$
begin
  insert into payguard.held_facts (provider, kind, fact_ref, order_id, payment_ref, fact, held_at)
  values (p_provider, p_kind, p_ref, p_order_id, p_payment_ref, p_fact, p_now)
  on conflict do nothing;
  if found then
    return 'held';
  end if;
  if p_kind = 'dispute' and p_fact ->> 'state' <> 'open' then
    update payguard.held_facts set fact = p_fact
     where provider = p_provider and kind = p_kind and fact_ref = p_ref and fact ->> 'state' = 'open';
    if found then
      return 'held';
    end if;
  end if;
  return 'duplicate';
end $$;

-- Internal: the order a refund or dispute is about, locked: by the payment it names (under the payment's
-- key, so it waits for that payment to commit), else by our order id. Null when neither is stored.
create function payguard._locate_by_payment(p_provider text, p_order_id text, p_payment_ref text)
  returns payguard.payment_orders language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  target_order text := p_order_id;
begin
  if p_payment_ref is not null then
    perform payguard._lock_key('payment:' || p_provider || ':' || p_payment_ref);
    select coalesce(order_id, p_order_id) into target_order from payguard.order_payments
     where provider = p_provider and payment_ref = p_payment_ref;
    target_order := coalesce(target_order, p_order_id);
  end if;
  if target_order is not null then
    perform payguard._lock_key('order:' || target_order);
    select * into o from payguard.payment_orders where id = target_order for update;
  end if;
  return o;
end $$;

-- Internal: whether the payment a refund or dispute names (or, naming none, any payment of the order) is seen.
create function payguard._payment_seen(o payguard.payment_orders, p_provider text, p_payment_ref text)
  returns boolean language sql stable security definer set search_path = ''
as $$
  select o.id is not null and case when p_payment_ref is null
    then exists (select 1 from payguard.order_payments where order_id = o.id)
    else exists (select 1 from payguard.order_payments where provider = p_provider and payment_ref = p_payment_ref) end;
$$;

drop function payguard.apply_refund(text, text, text, bigint, text, text, timestamptz, text);
-- A refund: recorded against its paid order whatever the order's state, or held until the payment it refunds
-- is seen. The order is found by the payment it refunds, else by our order id.
create function payguard.apply_refund(
  p_provider text, p_order_id text, p_refund_ref text, p_amount_minor bigint, p_currency text,
  p_source text, p_now timestamptz, p_payment_ref text default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  recorded text;
  refund jsonb := jsonb_build_object('refund_ref', p_refund_ref, 'amount_minor', p_amount_minor,
                                     'currency', upper(p_currency), 'provider', p_provider, 'payment_ref', p_payment_ref);
begin
  o := payguard._locate_by_payment(p_provider, p_order_id, p_payment_ref);
  if not payguard._payment_seen(o, p_provider, p_payment_ref) then
    perform payguard._lock_fact(p_provider, 'refund', p_refund_ref);
    if exists (select 1 from payguard.payment_refunds where provider = p_provider and refund_ref = p_refund_ref) then
      return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
    end if;
    return payguard._with_incidents(jsonb_build_object('outcome',
      payguard._hold(p_provider, 'refund', p_refund_ref, coalesce(o.id, p_order_id), p_payment_ref, refund, p_now),
      'order', to_jsonb(o)));
  end if;
  recorded := payguard._record_refund(o, refund, p_source, p_now);
  if recorded = 'duplicate' then
    return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
  end if;
  o := payguard._sync_order(o.id, p_source, p_now);
  return payguard._with_incidents(jsonb_build_object('outcome',
    case when recorded = 'refund_failed' then recorded
         when o.status in ('needs_review', 'refunded', 'partially_refunded') then o.status
         else 'recorded' end,
    'order', to_jsonb(o)));
end $$;

drop function payguard.fail_refund(text, text, text, timestamptz);
-- The provider says a refund failed (the money stayed with the merchant): its clawback, if any, is reversed
-- once. Kept even when the refund itself is not seen yet, so it ends failed whichever arrives first. Finds
-- and locks the refund's order the way the refund does (payment, order, then the refund's own lock).
create function payguard.fail_refund(p_provider text, p_refund_ref text, p_source text, p_now timestamptz,
                                     p_payment_ref text default null)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  known_order text;
  known_payment text;
  r payguard.payment_refunds;
begin
  insert into payguard.refund_failures (provider, refund_ref, failed_at) values (p_provider, p_refund_ref, p_now)
  on conflict do nothing;
  if not found then
    select o2.* into o from payguard.payment_orders o2 join payguard.payment_refunds r2 on r2.order_id = o2.id
     where r2.provider = p_provider and r2.refund_ref = p_refund_ref;
    return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
  end if;
  select order_id, payment_ref into known_order, known_payment from payguard.payment_refunds
   where provider = p_provider and refund_ref = p_refund_ref;
  if known_order is null then
    select order_id, payment_ref into known_order, known_payment from payguard.held_facts
     where provider = p_provider and kind = 'refund' and fact_ref = p_refund_ref;
  end if;
  o := payguard._locate_by_payment(p_provider, known_order, coalesce(known_payment, p_payment_ref));
  perform payguard._lock_fact(p_provider, 'refund', p_refund_ref);
  select * into r from payguard.payment_refunds where provider = p_provider and refund_ref = p_refund_ref;
  if r.refund_ref is null then
    return jsonb_build_object('outcome', 'refund_failed', 'order', to_jsonb(o));
  end if;
  if o.id is distinct from r.order_id then
    select * into o from payguard.payment_orders where id = r.order_id for update;
  end if;
  return payguard._with_incidents(payguard._apply_refund_failure(o, r, p_source, p_now));
end $$;

-- Internal: a recorded refund that failed: marked failed, its clawback reversed through _sync_order.
create function payguard._apply_refund_failure(o payguard.payment_orders, r payguard.payment_refunds, p_source text,
                                               p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
begin
  update payguard.payment_refunds set status = 'failed' where provider = r.provider and refund_ref = r.refund_ref;
  perform payguard._order_event(o.id, p_now, 'refund_failed', p_source,
    jsonb_build_object('refund_ref', r.refund_ref, 'provider', r.provider));
  o := payguard._sync_order(o.id, p_source, p_now);
  return jsonb_build_object('outcome', 'refund_failed', 'order', to_jsonb(o));
end $$;

-- Audit repair: a refund failure recorded while its refund row still says succeeded (it cannot happen under
-- the locks above; this brings an older database, or a hand-edited one, to what the facts imply).
create function payguard.repair_refund_failure(p_provider text, p_refund_ref text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  r payguard.payment_refunds;
begin
  select * into r from payguard.payment_refunds where provider = p_provider and refund_ref = p_refund_ref;
  if r.refund_ref is null or r.status = 'failed'
     or not exists (select 1 from payguard.refund_failures where provider = p_provider and refund_ref = p_refund_ref) then
    return jsonb_build_object('outcome', 'noop');
  end if;
  o := payguard._locate_by_payment(p_provider, r.order_id, r.payment_ref);
  perform payguard._lock_fact(p_provider, 'refund', p_refund_ref);
  select * into r from payguard.payment_refunds where provider = p_provider and refund_ref = p_refund_ref;
  if r.status = 'failed' then
    return jsonb_build_object('outcome', 'noop');
  end if;
  return payguard._with_incidents(payguard._apply_refund_failure(o, r, 'audit', p_now));
end $$;

-- A chargeback: recorded against the order of the payment it disputes (held until that payment is seen);
-- the policy decides what it does to credits, the incident tells a human either way.
create function payguard.apply_dispute(
  p_provider text, p_order_id text, p_dispute_ref text, p_payment_ref text, p_amount_minor bigint, p_currency text,
  p_state text, p_policy text, p_source text, p_now timestamptz
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  recorded text;
  dispute jsonb := jsonb_build_object('dispute_ref', p_dispute_ref, 'payment_ref', p_payment_ref,
                                      'amount_minor', p_amount_minor, 'currency', upper(p_currency),
                                      'provider', p_provider, 'state', p_state, 'policy', coalesce(p_policy, 'claw_back'));
begin
  if p_state not in ('open', 'won', 'lost') or coalesce(p_policy, 'claw_back') not in ('claw_back', 'notify')
     or coalesce(p_amount_minor, 0) <= 0 or p_payment_ref is null then
    raise exception 'dispute % needs a payment, a positive amount, a state (open, won, lost) and a policy', p_dispute_ref
      using errcode = 'P0001';
  end if;
  o := payguard._locate_by_payment(p_provider, p_order_id, p_payment_ref);
  if not payguard._payment_seen(o, p_provider, p_payment_ref) then
    perform payguard._lock_fact(p_provider, 'dispute', p_dispute_ref);
    return payguard._with_incidents(jsonb_build_object('outcome',
      payguard._hold(p_provider, 'dispute', p_dispute_ref, coalesce(o.id, p_order_id), p_payment_ref, dispute, p_now),
      'order', to_jsonb(o)));
  end if;
  recorded := payguard._record_dispute(o, dispute, p_source, p_now);
  if recorded = 'duplicate' then
    return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
  end if;
  o := payguard._sync_order(o.id, p_source, p_now);
  perform payguard._dispute_incident(o, dispute, p_now);
  return payguard._with_incidents(jsonb_build_object('outcome', recorded, 'order', to_jsonb(o)));
end $$;

-- An async payment method in flight (a Checkout Session `complete` but `unpaid`): the pending order keeps its
-- stock unit and is not expired before p_until, when the provider's result must have come. It is checked
-- hourly meanwhile (the result normally comes as an event); past p_until with no result it expires, and a
-- payment after that is a late payment like any other.
create function payguard.await_payment(p_order_id text, p_payment_ref text, p_until timestamptz, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found then
    return jsonb_build_object('outcome', 'unknown_order', 'order', null);
  end if;
  if o.status <> 'pending' then
    return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
  end if;
  if p_until <= p_now and o.expires_at <= p_now then
    return payguard._transition(o.id, 'expired', 'the async payment had no result by its deadline', p_now);
  end if;
  if o.expires_at < p_until then
    perform payguard._order_event(o.id, p_now, 'awaiting_payment', null,
      jsonb_build_object('payment_ref', p_payment_ref, 'until', p_until));
  end if;
  update payguard.payment_orders
     set expires_at = greatest(expires_at, p_until), updated_at = p_now,
         next_check_at = least(p_now + interval '1 hour', greatest(expires_at, p_until))
   where id = o.id returning * into o;
  return jsonb_build_object('outcome', 'awaiting_payment', 'order', to_jsonb(o));
end $$;

-- Internal: the provider reports the payment (partly) refunded (WeChat trade_state REFUND) while payguard has
-- recorded no refund of the order yet: a human watches until one arrives (its recording resolves this).
create function payguard._await_refund(o payguard.payment_orders, p_payment_ref text, p_source text, p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
begin
  if exists (select 1 from payguard.payment_refunds where order_id = o.id) then
    return;
  end if;
  perform payguard._order_event(o.id, p_now, 'refund_awaited', p_source, jsonb_build_object('payment_ref', p_payment_ref));
  perform payguard._raise('refund_awaited:' || o.id, 'refund_awaited', 'warning',
    format('Order %s: %s reports a refund that has not reached payguard yet', o.id, o.provider),
    payguard._incident_detail(o, null), p_now);
end $$;

drop function payguard.apply_payment(text, text, text, bigint, text, timestamptz, text, timestamptz, jsonb, bigint, text);
-- A payment: recorded once per provider payment, credited when it is the order's earliest matching one.
-- `p_refunded_at_provider`: the provider reports it (partly) refunded already (WeChat trade_state REFUND), so a
-- human watches until the refund fact arrives.
create function payguard.apply_payment(
  p_provider text, p_order_id text, p_payment_ref text, p_amount_minor bigint, p_currency text,
  p_paid_at timestamptz, p_source text, p_now timestamptz, p_metadata jsonb default null,
  p_discount_minor bigint default 0, p_provider_ref text default null, p_refunded_at_provider boolean default false
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  disagree text;
  rebuilt text;
  prior record;
  role text;
  outcome text;
  was text;
  sold_out boolean := false;
  payment jsonb := jsonb_build_object('payment_ref', p_payment_ref, 'amount_minor', p_amount_minor,
                                      'discount_minor', p_discount_minor, 'currency', upper(p_currency),
                                      'provider', p_provider, 'paid_at', p_paid_at, 'provider_ref', p_provider_ref,
                                      'metadata', p_metadata, 'refunded_at_provider', p_refunded_at_provider);
begin
  perform payguard._lock_key('payment:' || p_provider || ':' || p_payment_ref);
  select * into prior from payguard.order_payments where provider = p_provider and payment_ref = p_payment_ref;
  if found then
    select * into o from payguard.payment_orders where id = prior.order_id;
    if p_refunded_at_provider then
      perform payguard._await_refund(o, p_payment_ref, p_source, p_now);
    end if;
    return payguard._with_incidents(jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o)));
  end if;
  o := payguard._locate_payment(p_provider, p_order_id, p_provider_ref);
  if o.id is null and p_order_id is not null then
    perform payguard._lock_key('order:' || p_order_id);
    o := payguard._locate_payment(p_provider, p_order_id, p_provider_ref);
  end if;
  if o.id is null then
    rebuilt := case when p_metadata is null then 'unusable'
                    else payguard._order_from_metadata(p_provider, p_order_id, p_metadata, p_source, p_now) end;
    if rebuilt = 'unusable' then
      outcome := payguard._hold(p_provider, 'payment', p_payment_ref, p_order_id, p_payment_ref, payment, p_now);
      if outcome = 'held' then
        perform payguard._raise('audit:held_payment:' || p_provider || ':' || p_payment_ref, 'audit_held_payment', 'critical',
          format('Payment %s is held: order %s is not stored, nobody is credited yet', p_payment_ref, coalesce(p_order_id, 'unknown')),
          jsonb_build_object('order_id', p_order_id, 'provider', p_provider, 'payment_ref', p_payment_ref,
                             'amount_minor', p_amount_minor, 'currency', upper(p_currency)), p_now);
      end if;
      return payguard._with_incidents(jsonb_build_object('outcome', outcome, 'order', null));
    end if;
    o := payguard._locate_payment(p_provider, p_order_id, null);
  end if;
  disagree := payguard._payment_disagreement(o, p_order_id, p_provider_ref, p_metadata);
  delete from payguard.held_facts where provider = p_provider and kind = 'payment' and fact_ref = p_payment_ref;
  was := o.status;

  if disagree is not null then
    role := 'disputed';
  elsif o.provider <> p_provider or o.amount_minor <> p_amount_minor + p_discount_minor
        or o.currency <> upper(p_currency) or p_discount_minor < 0 then
    role := 'mismatch';
    disagree := format('payment %s (+%s discount) %s via %s does not match order %s %s via %s', p_amount_minor,
                       p_discount_minor, upper(p_currency), p_provider, o.amount_minor, o.currency, o.provider);
  elsif o.payment_ref is null then
    role := 'primary';
  elsif (p_paid_at, p_payment_ref) < (o.paid_at, o.payment_ref) then
    -- The earliest matching payment is the credited one, whichever arrived first.
    update payguard.order_payments set role = 'second' where provider = o.provider and payment_ref = o.payment_ref;
    role := 'primary';
  else
    role := 'second';
  end if;
  insert into payguard.order_payments (provider, payment_ref, order_id, role, amount_minor, discount_minor, currency,
                                       paid_at, recorded_at)
  values (p_provider, p_payment_ref, o.id, role, p_amount_minor, p_discount_minor, upper(p_currency), p_paid_at, p_now);

  if role = 'primary' then
    -- Paid after it expired while its unit went to another order: a human decides, no credits until then.
    sold_out := was in ('expired', 'failed') and o.review_resolution is null and o.payment_ref is null
                and exists (select 1 from payguard.credit_packages k where k.id = o.package_id and k.stock_limit is not null
                              and payguard._stock_held(k.id) >= k.stock_limit);
    update payguard.payment_orders
       set payment_ref = p_payment_ref, paid_at = p_paid_at, discount_minor = p_discount_minor, next_check_at = null,
           source = p_source, updated_at = p_now,
           status = case when status = 'needs_review' or review_resolution = 'reject' then status else 'fulfilled' end
     where id = o.id returning * into o;
  end if;
  perform payguard._order_event(o.id, p_now,
    case role when 'primary' then case when was in ('expired', 'failed') then 'late_payment' else 'paid' end
              when 'second' then 'second_payment' else 'payment_' || role end,
    p_source, payment || jsonb_build_object('credits', o.credits, 'role', role));
  if disagree is not null then
    o := payguard._flag(o, disagree, p_source, p_now, payment);
  elsif sold_out then
    o := payguard._flag(o, format('paid after it expired, but package %s sold out meanwhile: grant or refund %s',
                                  o.package_id, p_payment_ref), p_source, p_now, payment || '{"review_kind": "sold_out"}');
  end if;
  perform payguard._release_held_refunds(o, p_source, p_now);
  o := payguard._sync_order(o.id, p_source, p_now);
  if o.review_resolution = 'reject' and role in ('primary', 'second') then
    perform payguard._raise('paid_after_rejection:' || o.id, 'paid_after_rejection', 'critical',
      format('Order %s was rejected, then paid by %s: refund it', o.id, p_payment_ref),
      payguard._incident_detail(o, jsonb_build_object('refund', p_payment_ref)), p_now);
  end if;
  if p_refunded_at_provider then
    perform payguard._await_refund(o, p_payment_ref, p_source, p_now);
  end if;
  outcome := case when o.status = 'needs_review' then (case when role = 'primary' then 'needs_review' else 'mismatch' end)
                  when rebuilt = 'rebuilt' then 'created_from_metadata'
                  when was in ('expired', 'failed') and role = 'primary' then 'late_payment'
                  else 'fulfilled' end;
  if rebuilt is not null then
    perform payguard._raise('created_from_metadata:' || o.id, 'created_from_metadata', 'warning',
      format('Order %s was never stored; rebuilt from payment metadata', o.id), payguard._incident_detail(o, null), p_now);
  end if;
  if was in ('expired', 'failed') and role = 'primary' and o.review_resolution is null then
    perform payguard._raise('late_payment:' || o.id, 'late_payment', 'warning',
      format('Order %s was paid after it %s; %s', o.id, was,
             case when o.status = 'needs_review' then 'in review' else 'credited' end),
      payguard._incident_detail(o, null), p_now);
  end if;
  return payguard._with_incidents(jsonb_build_object('outcome', outcome, 'order', to_jsonb(o)));
end $$;

-- Internal: rebuild a never-written order from the signed metadata the provider carried (as before; an order
-- rebuilt beyond its package's stock or for an inactive package is written in review as a `flag`).
create or replace function payguard._order_from_metadata(p_provider text, p_order_id text, p_metadata jsonb, p_source text,
                                                         p_now timestamptz)
  returns text language plpgsql security definer set search_path = ''
as $$
declare
  pkg payguard.credit_packages;
  user_text text := p_metadata ->> 'user_id';
  held int;
  reason text;
begin
  if user_text is null or user_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return 'unusable';
  end if;
  select * into pkg from payguard.credit_packages where id = p_metadata ->> 'package_id' for update;
  if not found then
    return 'unusable';
  end if;
  if not pkg.active then
    reason := 'rebuilt from metadata for inactive package ' || pkg.id;
  elsif pkg.stock_limit is not null then
    select count(*) into held from payguard.payment_orders
     where package_id = pkg.id
       and (status in ('fulfilled', 'partially_refunded', 'needs_review') or (status = 'pending' and expires_at > p_now));
    if held >= pkg.stock_limit then
      reason := 'rebuilt from metadata beyond the stock of package ' || pkg.id;
    end if;
  end if;
  insert into payguard.payment_orders (id, user_id, package_id, provider, amount_minor, currency, credits, source,
                                       status, review_reason, review_kind, expires_at, created_at, updated_at)
  values (p_order_id, user_text::uuid, pkg.id, p_provider, pkg.amount_minor, pkg.currency, pkg.credits, p_source,
          case when reason is null then 'pending' else 'needs_review' end, reason,
          case when reason is null then null else 'flag' end, p_now, p_now, p_now);
  perform payguard._order_event(p_order_id, p_now, 'created_from_metadata', p_source,
    jsonb_build_object('package_id', pkg.id, 'review_reason', reason,
                       'note', 'order row was missing; rebuilt from provider metadata'));
  if reason is not null then
    perform payguard._raise('needs_review:' || p_order_id, 'needs_review', 'critical',
      format('Order %s needs review: %s', p_order_id, reason),
      jsonb_build_object('order_id', p_order_id, 'provider', p_provider, 'reason', reason), p_now);
  end if;
  return case when reason is null then 'rebuilt' else 'review' end;
end $$;

-- Internal: applies the payments held for an order that has just been written (same transaction).
create or replace function payguard._release_held_payments(p_order_id text, p_now timestamptz)
  returns int language plpgsql security definer set search_path = ''
as $$
declare
  h record;
  released int := 0;
begin
  perform payguard._lock_key('order:' || p_order_id);
  for h in select * from payguard.held_facts where kind = 'payment' and order_id = p_order_id order by fact_ref loop
    perform payguard.apply_payment(h.provider, p_order_id, h.fact_ref, (h.fact ->> 'amount_minor')::bigint,
      h.fact ->> 'currency', (h.fact ->> 'paid_at')::timestamptz, 'held', p_now,
      nullif(h.fact -> 'metadata', 'null'::jsonb),
      (h.fact ->> 'discount_minor')::bigint, h.fact ->> 'provider_ref',
      coalesce((h.fact ->> 'refunded_at_provider')::boolean, false));
    released := released + 1;
  end loop;
  return released;
end $$;

create or replace function payguard._transition(p_order_id text, p_to text, p_reason text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found then
    return jsonb_build_object('outcome', 'noop', 'order', null);
  end if;
  if p_to = 'needs_review' then
    if o.status = 'needs_review' then
      return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
    end if;
    o := payguard._flag(o, p_reason, null, p_now, null);
    return payguard._with_incidents(jsonb_build_object('outcome', 'needs_review', 'order', to_jsonb(o)));
  end if;
  if o.status <> 'pending' then
    return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
  end if;
  update payguard.payment_orders set status = p_to, next_check_at = null, updated_at = p_now
   where id = o.id returning * into o;
  perform payguard._order_event(o.id, p_now, p_to, null, jsonb_build_object('reason', p_reason));
  return jsonb_build_object('outcome', p_to, 'order', to_jsonb(o));
end $$;

-- Operator decision on an order in review; every fact recorded meanwhile is kept. `fulfil` credits the
-- earliest matching payment and names any other in an incident to refund; `reject` leaves no purchase credits,
-- and a payment that arrives later is recorded, never credited, and named to refund. Once decided, what the
-- facts imply (paid twice, refunds over the payment) no longer re-opens the review; a fact that forces one does.
create or replace function payguard.resolve_review(p_order_id text, p_resolution text, p_note text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  keep record;
  to_refund text[];
begin
  if p_resolution not in ('fulfil', 'reject') then
    raise exception 'resolution must be fulfil or reject' using errcode = 'P0001';
  end if;
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found or o.status <> 'needs_review' then
    return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
  end if;
  if p_resolution = 'fulfil' then
    select * into keep from payguard.order_payments
     where order_id = o.id and amount_minor + discount_minor = o.amount_minor and currency = o.currency
     order by paid_at, payment_ref limit 1;
    if not found then
      raise exception 'order % has no recorded payment of its amount to fulfil it with', o.id using errcode = 'P0001';
    end if;
    update payguard.order_payments set role = case when payment_ref = keep.payment_ref then 'primary' else 'second' end
     where order_id = o.id and role in ('primary', 'second', 'disputed')
       and amount_minor + discount_minor = o.amount_minor and currency = o.currency;
    update payguard.payment_orders
       set status = 'fulfilled', review_reason = null, review_kind = null, review_resolution = 'fulfil',
           payment_ref = keep.payment_ref, paid_at = keep.paid_at, discount_minor = keep.discount_minor, updated_at = p_now
     where id = o.id returning * into o;
    perform payguard._release_held_refunds(o, 'admin', p_now);
    select array_agg(p.payment_ref order by p.payment_ref) into to_refund from payguard.order_payments p
     where p.order_id = o.id and p.role <> 'primary'
       and coalesce((select sum(r.amount_minor) from payguard.payment_refunds r
                      where r.provider = p.provider and r.payment_ref = p.payment_ref and r.status = 'succeeded'), 0)
           < p.amount_minor;
    if to_refund is not null then
      perform payguard._raise('refund_other_payments:' || o.id, 'refund_other_payments', 'critical',
        format('Order %s was paid more than once: refund %s', o.id, array_to_string(to_refund, ', ')),
        payguard._incident_detail(o, jsonb_build_object('keep', keep.payment_ref, 'refund', to_jsonb(to_refund))), p_now);
    end if;
  else
    update payguard.payment_orders
       set status = 'failed', review_reason = null, review_kind = null, review_resolution = 'reject', updated_at = p_now
     where id = o.id returning * into o;
  end if;
  o := payguard._sync_order(o.id, 'admin', p_now);
  perform payguard._order_event(o.id, p_now, 'review_resolved', 'admin',
    jsonb_build_object('resolution', p_resolution, 'note', p_note));
  perform payguard._resolve('needs_review:' || o.id, p_now);
  return payguard._with_incidents(jsonb_build_object('outcome', o.status, 'order', to_jsonb(o)));
end $$;

-- A rejected order never gets its purchase back from the audit.
create or replace function payguard.repair_missing_grant(p_order_id text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found or o.status not in ('fulfilled', 'partially_refunded', 'refunded')
     or o.review_resolution = 'reject' or o.payment_ref is null then
    return jsonb_build_object('outcome', 'noop');
  end if;
  if not payguard._post_credits(o.user_id, o.id, 'purchase', o.credits, o.provider, null, 'repair: missing grant', p_now) then
    return jsonb_build_object('outcome', 'noop');
  end if;
  perform payguard._order_event(o.id, p_now, 'grant_repaired', 'admin', jsonb_build_object('credits', o.credits));
  o := payguard._sync_order(o.id, 'admin', p_now);
  return payguard._with_incidents(jsonb_build_object('outcome', 'granted'));
end $$;

-- ==== app hook ===================================================================================
-- As before, plus: a hook that succeeds for an order whose earlier settlement it failed resolves that
-- order's `app_hook_failed` incident (raised by the worker, so it is looked up in the incident mirror).
create or replace function payguard._notify_app_settled(
  p_user_id uuid, p_order_id text, p_kind text, p_credits bigint, p_provider text, p_refund_ref text,
  p_note text, p_now timestamptz
) returns void language plpgsql security definer set search_path = ''
as $$
declare
  change jsonb;
begin
  if to_regprocedure('payguard_app.on_settled(jsonb)') is null then
    return;
  end if;
  select jsonb_build_object(
           'order_id', p_order_id, 'user_id', p_user_id, 'package_id', o.package_id, 'provider', p_provider,
           'reason', p_kind, 'credits_delta', p_credits, 'balance_after', b.credits,
           'amount_minor', o.amount_minor, 'currency', o.currency, 'refund_ref', p_refund_ref,
           'note', p_note, 'at', p_now)
    into change
    from payguard.payment_orders o
    left join payguard.credit_balances b on b.user_id = p_user_id
   where o.id = p_order_id;
  begin
    -- plpgsql_check: payguard_app.on_settled exists only where the app defines it (checked above).
    perform 'PRAGMA:DISABLE:CHECK';
    execute 'select payguard_app.on_settled($1)' using change;
    perform 'PRAGMA:ENABLE:CHECK';
  exception when others then
    raise exception 'app hook payguard_app.on_settled failed: %', sqlerrm
      using errcode = 'P0H01', detail = format('order %s, %s %s credits', p_order_id, p_kind, p_credits);
  end;
  if exists (select 1 from payguard.incidents where key = 'app_hook_failed:' || p_order_id and status = 'open') then
    perform payguard._resolve('app_hook_failed:' || p_order_id, p_now);
  end if;
end $$;

-- ==== settle event ===============================================================================
-- One provider event in one transaction: the inbox row (guard 1), the order it names, each fact through the
-- same settlement functions every other path uses, the incidents they found (outbox) and the inbox finish.
-- A second delivery waits on the inbox row's unique key while the first is in flight and is then `duplicate`.
-- Any error (the app hook's P0H01 included) rolls back the whole event, inbox row too: the provider retries.
-- p_facts: [{"kind", "order_id", "payment_ref", "amount_minor", "discount_minor", "currency", "paid_at",
-- "provider_ref", "metadata", "refunded_at_provider", "refund_ref", "reason", "until", "dispute_ref", "state",
-- "policy"}], each field as its settlement function takes it. Answers {"status": "duplicate"},
-- {"status": "unlocated"} (a fact needs an order and none is known; the row stays unfinished) or
-- {"status": "settled", "finished": true, "results": [{outcome, order, order_id}], "incidents": [...]}.
create or replace function payguard._settle_fact(p_fact jsonb, p_order_id text, p_source text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  provider text := p_fact ->> 'provider';
  checked jsonb;
begin
  case p_fact ->> 'kind'
    when 'paid' then
      return payguard.apply_payment(provider, p_order_id, p_fact ->> 'payment_ref',
        (p_fact ->> 'amount_minor')::bigint, p_fact ->> 'currency', (p_fact ->> 'paid_at')::timestamptz, p_source,
        p_now, nullif(p_fact -> 'metadata', 'null'::jsonb), coalesce((p_fact ->> 'discount_minor')::bigint, 0),
        p_fact ->> 'provider_ref', coalesce((p_fact ->> 'refunded_at_provider')::boolean, false));
    when 'refunded' then
      return payguard.apply_refund(provider, p_order_id, p_fact ->> 'refund_ref', (p_fact ->> 'amount_minor')::bigint,
        p_fact ->> 'currency', p_source, p_now, p_fact ->> 'payment_ref');
    when 'refund_failed' then
      return payguard.fail_refund(provider, p_fact ->> 'refund_ref', p_source, p_now, p_fact ->> 'payment_ref');
    when 'disputed' then
      return payguard.apply_dispute(provider, p_order_id, p_fact ->> 'dispute_ref', p_fact ->> 'payment_ref',
        (p_fact ->> 'amount_minor')::bigint, p_fact ->> 'currency', p_fact ->> 'state', p_fact ->> 'policy', p_source, p_now);
    when 'awaiting_payment' then
      return payguard.await_payment(p_order_id, p_fact ->> 'payment_ref', (p_fact ->> 'until')::timestamptz, p_now);
    when 'failed' then
      return payguard.fail_order(p_order_id, p_fact ->> 'reason', p_now);
    when 'expired' then
      return payguard.expire_order(p_order_id, provider || ' reports expired', p_now);
    when 'mismatch' then
      return payguard.flag_order(p_order_id, p_fact ->> 'reason', p_now);
    when 'pending' then
      checked := payguard.record_check(p_order_id, p_now);
      if checked ->> 'id' is null then
        return jsonb_build_object('outcome', 'unknown_order', 'order', null);
      end if;
      return jsonb_build_object('outcome', 'still_pending', 'order', checked);
    else
      raise exception 'unknown fact kind %', p_fact ->> 'kind' using errcode = 'P0001';
  end case;
end $$;

drop function payguard.settle_event(text, text, text, jsonb, jsonb, text, timestamptz, text[], text[], text);
create function payguard.settle_event(
  p_provider text, p_event_id text, p_event_type text, p_locator jsonb, p_facts jsonb, p_source text,
  p_now timestamptz, p_note text default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  claimed text := p_locator ->> 'claimed_order_id';
  located text;
  fact jsonb;
  fact_order text;
  applied jsonb;
  results jsonb := '[]'::jsonb;
begin
  if jsonb_typeof(p_facts) is distinct from 'array' then
    raise exception 'p_facts must be a JSON array' using errcode = 'P0001';
  end if;
  if payguard.record_event(p_provider, p_event_id, p_event_type, claimed, p_now) ->> 'status' = 'duplicate' then
    return jsonb_build_object('status', 'duplicate');
  end if;
  located := case p_locator ->> 'by'
    when 'session' then (select o.id from payguard.payment_orders o
                          where o.provider = p_provider and o.provider_ref = p_locator ->> 'ref')
    when 'payment' then (select o.id from payguard.payment_orders o
                          where o.provider = p_provider and o.payment_ref = p_locator ->> 'ref')
  end;
  located := coalesce(located, claimed);
  if exists (select 1 from jsonb_array_elements(p_facts) f
              where f ->> 'kind' not in ('refunded', 'refund_failed', 'disputed')
                and coalesce(f ->> 'order_id', located) is null) then
    return jsonb_build_object('status', 'unlocated');
  end if;
  for fact in select f from jsonb_array_elements(p_facts) f loop
    fact_order := coalesce(fact ->> 'order_id', located);
    applied := payguard._settle_fact(fact, fact_order, p_source, p_now) - 'incidents';
    results := results || jsonb_build_array(applied || jsonb_build_object('order_id', fact_order));
  end loop;
  perform payguard.finish_event(p_provider, p_event_id,
    case when jsonb_array_length(p_facts) = 0 then 'ignored' else 'processed' end, p_note, p_now);
  return payguard._with_incidents(jsonb_build_object('status', 'settled', 'finished', true, 'results', results));
end $$;

-- ==== audit ======================================================================================
-- As before, plus `refund_failure_unapplied` (a refund failure whose refund still counts: repaired by the
-- audit) and `dispute_open` (a chargeback the bank has not decided yet).
create or replace function payguard.audit_ledger(p_now timestamptz, p_stuck_after_seconds int default 3600) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  with sums as (
    select user_id, sum(credits) as ledger_credits from payguard.credit_ledger group by user_id
  ), findings as (
    select 'balance_mismatch' as kind, coalesce(b.user_id, s.user_id)::text as subject,
           jsonb_build_object('balance', coalesce(b.credits, 0), 'ledger_sum', coalesce(s.ledger_credits, 0)) as detail
      from payguard.credit_balances b full join sums s on s.user_id = b.user_id
     where coalesce(b.credits, 0) <> coalesce(s.ledger_credits, 0)
    union all
    select 'fulfilled_without_grant', o.id, jsonb_build_object('status', o.status, 'user_id', o.user_id, 'credits', o.credits)
      from payguard.payment_orders o
     where o.status in ('fulfilled', 'partially_refunded', 'refunded') and o.review_resolution is distinct from 'reject'
       and not exists (select 1 from payguard.credit_ledger l where l.order_id = o.id and l.kind = 'purchase')
    union all
    select 'grant_without_fulfilled_order', l.order_id, jsonb_build_object('status', o.status, 'credits', l.credits)
      from payguard.credit_ledger l join payguard.payment_orders o on o.id = l.order_id
     where l.kind = 'purchase' and o.status not in ('fulfilled', 'partially_refunded', 'refunded', 'needs_review')
       and o.review_resolution is distinct from 'reject' -- a rejected review reverses its grant (an adjustment)
    union all
    select 'pending_past_expiry', o.id, jsonb_build_object('expires_at', o.expires_at, 'check_attempts', o.check_attempts)
      from payguard.payment_orders o
     where o.status = 'pending' and o.expires_at + make_interval(secs => p_stuck_after_seconds) < p_now
    union all
    select 'needs_review', o.id, jsonb_build_object('reason', o.review_reason, 'since', o.updated_at)
      from payguard.payment_orders o where o.status = 'needs_review'
    union all
    select 'failed_inbox_event', e.provider || ':' || e.event_id,
           jsonb_build_object('type', e.event_type, 'order_id', e.order_id, 'error', e.last_error, 'attempts', e.attempts)
      from payguard.webhook_events e
     where e.status = 'failed' or (e.status = 'received' and e.received_at < p_now - interval '10 minutes')
    union all
    select 'held_payment', h.provider || ':' || h.fact_ref,
           jsonb_build_object('order_id', h.order_id, 'payment_ref', h.payment_ref, 'held_at', h.held_at,
                              'amount_minor', h.fact -> 'amount_minor', 'currency', h.fact -> 'currency')
      from payguard.held_facts h where h.kind = 'payment'
    union all
    select 'held_fact_stale', h.provider || ':' || h.kind || ':' || h.fact_ref,
           jsonb_build_object('order_id', h.order_id, 'payment_ref', h.payment_ref, 'held_at', h.held_at)
      from payguard.held_facts h where h.kind in ('refund', 'dispute') and h.held_at < p_now - interval '6 hours'
    union all
    select 'refund_failure_unapplied', f.provider || ':' || f.refund_ref,
           jsonb_build_object('order_id', r.order_id, 'refund_ref', f.refund_ref, 'failed_at', f.failed_at)
      from payguard.refund_failures f
      join payguard.payment_refunds r on r.provider = f.provider and r.refund_ref = f.refund_ref
     where r.status = 'succeeded'
  )
  select coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'subject', subject, 'detail', detail)
                            order by kind, subject), '[]'::jsonb)
    from findings;
$$;

-- ==== bill =======================================================================================
-- As before, with each order's recorded refund ids (`refund_refs`), so the bill can settle every refund row
-- payguard does not know, second and later refunds included.
create or replace function payguard.orders_for_bill(p_provider text, p_from timestamptz, p_to timestamptz, p_order_ids text[])
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(o) || jsonb_build_object('refund_refs',
           (select coalesce(jsonb_agg(r.refund_ref order by r.refund_ref), '[]'::jsonb)
              from payguard.payment_refunds r where r.order_id = o.id)) order by o.id), '[]'::jsonb)
    from payguard.payment_orders o
   where o.provider = p_provider
     and (o.id = any(coalesce(p_order_ids, '{}')) or (o.paid_at >= p_from and o.paid_at < p_to));
$$;

select payguard._secure_functions();
