-- The hourly audit no longer reads the whole ledger: its cost follows what changed since the last run plus
-- a bounded share of a full pass spread over the day, never the size of the history. (`audit_ledger` reads
-- everything in one statement: 0.75 s at 300k ledger rows, so past about 1.5 M rows it outlives the worker's
-- 3.5 s database timeout and the audit fails every hour.)
-- * Two families of findings. Current-state findings (pending past expiry, in review, failed inbox events,
--   held facts) are found whole in every run from indexes over the problem rows alone (`audit_current`).
--   Consistency findings compare rows across tables (a balance with its ledger, an order's status with its
--   grant, a refund failure with its refund): they are checked for every subject a change touched
--   (`audit_changes`) and, for whatever no trigger saw (rows older than this migration, a trigger disabled),
--   by a full pass in keyset slices of a bounded size (`audit_slice`).
-- * Triggers write the subject a row change touches (a user, an order, a refund) to `audit_changes`, tagged
--   with the writing transaction's id. The watermark is a snapshot, not a position: one window holds every
--   change committed as of one snapshot and not as of the last one checked, so a transaction that commits
--   after a later one falls in the next window. (A sequence or timestamp watermark would pass over it.)
-- * Every call answers its findings and `checked`: the open `audit:` incidents whose subject it looked at.
--   The worker resolves only those it did not find again, so a partial check never resolves what it skipped.
-- * `audit_ledger` is unchanged: the whole audit in one statement, for tests and small databases.

-- ==== change log =================================================================================
-- One row per subject a transaction touched (once per transaction). `xact` is the writing transaction's id
-- (64 bits, never wraps). The audit prunes rows that every window it finished has seen.
create table payguard.audit_changes (
  xact xid8 not null default pg_catalog.pg_current_xact_id(),
  subject_kind text not null check (subject_kind in ('user', 'order', 'refund')),
  subject text not null,
  primary key (xact, subject_kind, subject)
);
alter table payguard.audit_changes enable row level security;
revoke all on payguard.audit_changes from public, anon, authenticated, service_role;

create function payguard._audit_touch(p_kind text, p_subject text) returns void
  language sql security definer set search_path = ''
as $$
  insert into payguard.audit_changes (subject_kind, subject)
  select p_kind, p_subject where p_subject is not null
  on conflict do nothing;
$$;

-- A ledger row moves its user's balance and, when it names one, its order's grant.
create function payguard._audit_ledger_changed() returns trigger
  language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op <> 'INSERT' then
    perform payguard._audit_touch('user', old.user_id::text);
    perform payguard._audit_touch('order', old.order_id);
  end if;
  if tg_op <> 'DELETE' then
    perform payguard._audit_touch('user', new.user_id::text);
    perform payguard._audit_touch('order', new.order_id);
  end if;
  return null;
end $$;

create function payguard._audit_balance_changed() returns trigger
  language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op <> 'INSERT' then
    perform payguard._audit_touch('user', old.user_id::text);
  end if;
  if tg_op <> 'DELETE' then
    perform payguard._audit_touch('user', new.user_id::text);
  end if;
  return null;
end $$;

create function payguard._audit_order_changed() returns trigger
  language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    perform payguard._audit_touch('order', old.id);
  else
    perform payguard._audit_touch('order', new.id);
  end if;
  return null;
end $$;

-- A refund's subject is `provider:refund_ref`, as in the finding `refund_failure_unapplied`.
create function payguard._audit_refund_changed() returns trigger
  language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op <> 'INSERT' then
    perform payguard._audit_touch('refund', old.provider || ':' || old.refund_ref);
  end if;
  if tg_op <> 'DELETE' then
    perform payguard._audit_touch('refund', new.provider || ':' || new.refund_ref);
  end if;
  return null;
end $$;

create trigger credit_ledger_audit after insert or update or delete on payguard.credit_ledger
  for each row execute function payguard._audit_ledger_changed();
create trigger credit_balances_audit after insert or update or delete on payguard.credit_balances
  for each row execute function payguard._audit_balance_changed();
-- Only what the grant findings read: a new order that is not pending, a status or review decision that
-- changed (not the check schedule, which reconcile rewrites every few minutes), a deleted order.
create trigger payment_orders_audit_insert after insert on payguard.payment_orders
  for each row when (new.status <> 'pending') execute function payguard._audit_order_changed();
create trigger payment_orders_audit_update after update of status, review_resolution on payguard.payment_orders
  for each row when (old.status is distinct from new.status or old.review_resolution is distinct from new.review_resolution)
  execute function payguard._audit_order_changed();
create trigger payment_orders_audit_delete after delete on payguard.payment_orders
  for each row execute function payguard._audit_order_changed();
create trigger payment_refunds_audit after insert or update of status or delete on payguard.payment_refunds
  for each row execute function payguard._audit_refund_changed();
create trigger refund_failures_audit after insert or update or delete on payguard.refund_failures
  for each row execute function payguard._audit_refund_changed();

-- ==== positions ==================================================================================
-- The change watermark: every change committed as of `checked` has been checked. While a window is being
-- worked through, `window_end` is the snapshot it ends at and `after_*` the last change row of it checked
-- (keyset order: the change log's primary key). One row; each call locks it, so overlapping runs take turns.
create table payguard.audit_watermark (
  id boolean primary key default true check (id),
  checked pg_snapshot not null,
  window_end pg_snapshot,
  after_xact xid8,
  after_kind text,
  after_subject text,
  updated_at timestamptz
);
alter table payguard.audit_watermark enable row level security;
revoke all on payguard.audit_watermark from public, anon, authenticated, service_role;
-- Changes before this migration have no rows in the log: the full pass covers them.
insert into payguard.audit_watermark (checked) values (pg_catalog.pg_current_snapshot());

-- The full pass: stages `users` (balances, keyset over user id), `orders` (grants, over order id) and
-- `refunds` (refund failures, over provider and refund id), each in slices; `after_key` is the last key
-- checked in the stage (null at its start), `slices` the slices of the pass so far.
create table payguard.audit_pass (
  id boolean primary key default true check (id),
  stage text not null default 'users' check (stage in ('users', 'orders', 'refunds')),
  after_key text[],
  started_at timestamptz,
  slices integer not null default 0,
  passes_finished integer not null default 0,
  last_finished_at timestamptz
);
alter table payguard.audit_pass enable row level security;
revoke all on payguard.audit_pass from public, anon, authenticated, service_role;
insert into payguard.audit_pass default values;

-- `pending_past_expiry` reads only the pending orders past their expiry, however many orders there are.
create index payment_orders_pending_expiry on payguard.payment_orders (expires_at) where status = 'pending';

-- An order's ledger rows by order id. Every settlement (`_sync_order`) sums them, and only the purchase had
-- an index: the audit's benchmark found each settlement reading the whole ledger (23 ms at 100k rows).
create index credit_ledger_order on payguard.credit_ledger (order_id) where order_id is not null;

-- ==== findings ===================================================================================
-- The consistency findings of the given subjects, defined exactly as in `audit_ledger`.
create function payguard._audit_findings(p_users uuid[], p_orders text[], p_refunds text[])
  returns table (kind text, subject text, detail jsonb)
  language sql stable security definer set search_path = ''
as $$
  -- Each user's ledger summed through its index range (user_id, id), so no plan sorts a slice's rows.
  with users as (
    select u.id as user_id, b.credits as balance, s.ledger_credits
      from (select distinct u.id from unnest(p_users) u(id)) u
      left join payguard.credit_balances b on b.user_id = u.id
      cross join lateral (select sum(l.credits) as ledger_credits
                            from payguard.credit_ledger l where l.user_id = u.id) s
  )
  select 'balance_mismatch', u.user_id::text,
         jsonb_build_object('balance', coalesce(u.balance, 0), 'ledger_sum', coalesce(u.ledger_credits, 0))
    from users u
   where coalesce(u.balance, 0) <> coalesce(u.ledger_credits, 0)
  union all
  select 'fulfilled_without_grant', o.id, jsonb_build_object('status', o.status, 'user_id', o.user_id, 'credits', o.credits)
    from payguard.payment_orders o
   where o.id = any(p_orders)
     and o.status in ('fulfilled', 'partially_refunded', 'refunded') and o.review_resolution is distinct from 'reject'
     and not exists (select 1 from payguard.credit_ledger l where l.order_id = o.id and l.kind = 'purchase')
  union all
  select 'grant_without_fulfilled_order', l.order_id, jsonb_build_object('status', o.status, 'credits', l.credits)
    from payguard.credit_ledger l join payguard.payment_orders o on o.id = l.order_id
   where l.order_id = any(p_orders) and l.kind = 'purchase'
     and o.status not in ('fulfilled', 'partially_refunded', 'refunded', 'needs_review')
     and o.review_resolution is distinct from 'reject'
  union all
  select 'refund_failure_unapplied', f.provider || ':' || f.refund_ref,
         jsonb_build_object('order_id', r.order_id, 'refund_ref', f.refund_ref, 'failed_at', f.failed_at)
    from unnest(p_refunds) s(subject)
    join payguard.refund_failures f
      on f.provider = split_part(s.subject, ':', 1) and f.refund_ref = substr(s.subject, strpos(s.subject, ':') + 1)
    join payguard.payment_refunds r on r.provider = f.provider and r.refund_ref = f.refund_ref
   where r.status = 'succeeded';
$$;

create function payguard._audit_findings_json(p_users uuid[], p_orders text[], p_refunds text[]) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('kind', f.kind, 'subject', f.subject, 'detail', f.detail)
                            order by f.kind, f.subject), '[]'::jsonb)
    from payguard._audit_findings(p_users, p_orders, p_refunds) f;
$$;

-- The open audit incidents with the finding kind and subject their key names (`audit:<kind>:<subject>`).
create function payguard._audit_open() returns table (key text, kind text, subject text)
  language sql stable security definer set search_path = ''
as $$
  select i.key, split_part(i.key, ':', 2), substr(i.key, length(split_part(i.key, ':', 2)) + 8)
    from payguard.incidents i
   where i.status = 'open' and left(i.key, 6) = 'audit:';
$$;

-- Findings of the given subjects and the open incidents about them (all checked now).
create function payguard._audit_of(p_users uuid[], p_orders text[], p_refunds text[]) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'findings', payguard._audit_findings_json(p_users, p_orders, p_refunds),
    'checked', coalesce((
      select jsonb_agg(distinct o.key order by o.key) from payguard._audit_open() o
       where (o.kind = 'balance_mismatch' and o.subject in (select unnest(p_users)::text))
          or (o.kind in ('fulfilled_without_grant', 'grant_without_fulfilled_order')
              and o.subject in (select unnest(p_orders)))
          or (o.kind = 'refund_failure_unapplied' and o.subject in (select unnest(p_refunds)))), '[]'::jsonb));
$$;

-- ==== calls ======================================================================================
-- The current-state findings, whole: each reads only its problem rows through a partial index (pending
-- orders by expiry, orders in review, unfinished inbox events) or the held facts, which are few by nature.
-- `checked` is every open audit incident of a kind other than the consistency ones (unknown kinds included,
-- so an incident nothing finds any more is resolved, as before).
create function payguard.audit_current(p_now timestamptz, p_stuck_after_seconds int default 3600) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  with findings as (
    select 'pending_past_expiry' as kind, o.id as subject,
           jsonb_build_object('expires_at', o.expires_at, 'check_attempts', o.check_attempts) as detail
      from payguard.payment_orders o
     where o.status = 'pending' and o.expires_at < p_now - make_interval(secs => p_stuck_after_seconds)
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
  )
  select jsonb_build_object(
    'findings', coalesce((select jsonb_agg(jsonb_build_object('kind', f.kind, 'subject', f.subject, 'detail', f.detail)
                                           order by f.kind, f.subject) from findings f), '[]'::jsonb),
    'checked', coalesce((select jsonb_agg(o.key order by o.key) from payguard._audit_open() o
                          where o.kind not in ('balance_mismatch', 'fulfilled_without_grant',
                                               'grant_without_fulfilled_order', 'refund_failure_unapplied')), '[]'::jsonb));
$$;

-- The next at most `p_limit` change rows of the current window (opened at the first call after the last
-- one closed: `opened`), the consistency findings of the subjects they name, and `more` while the window
-- has rows left. When it has none, everything committed as of its snapshot is checked. Prunes up to
-- 2 × `p_limit` rows that every checked snapshot has seen, so the log stays as short as the backlog.
create function payguard.audit_changes(p_now timestamptz, p_limit int default 5000) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  mark payguard.audit_watermark;
  opened boolean := false;
  xacts xid8[];
  kinds text[];
  subjects text[];
  taken integer;
  users uuid[];
  orders text[];
  refunds text[];
begin
  if p_limit is null or p_limit < 1 then
    raise exception 'audit_changes: p_limit must be at least 1' using errcode = 'P0001';
  end if;
  select * into strict mark from payguard.audit_watermark for update;
  if mark.window_end is null then
    mark.window_end := pg_catalog.pg_current_snapshot();
    mark.after_xact := pg_catalog.pg_snapshot_xmin(mark.checked);
    mark.after_kind := '';
    mark.after_subject := '';
    opened := true;
  end if;
  -- In the window: committed as of its end, not as of `checked` (a transaction still running at `checked`
  -- is in neither `checked` nor below its xmin's bound, whenever it commits).
  select coalesce(array_agg(c.xact order by c.xact, c.subject_kind, c.subject), '{}'),
         coalesce(array_agg(c.subject_kind order by c.xact, c.subject_kind, c.subject), '{}'),
         coalesce(array_agg(c.subject order by c.xact, c.subject_kind, c.subject), '{}')
    into xacts, kinds, subjects
    from (select w.xact, w.subject_kind, w.subject from payguard.audit_changes w
           where (w.xact, w.subject_kind, w.subject) > (mark.after_xact, mark.after_kind, mark.after_subject)
             and pg_catalog.pg_visible_in_snapshot(w.xact, mark.window_end)
             and not pg_catalog.pg_visible_in_snapshot(w.xact, mark.checked)
           order by w.xact, w.subject_kind, w.subject
           limit p_limit) c;
  taken := cardinality(xacts);
  users := array(select distinct u.subject from unnest(kinds, subjects) u(kind, subject) where u.kind = 'user')::uuid[];
  orders := array(select distinct u.subject from unnest(kinds, subjects) u(kind, subject) where u.kind = 'order');
  refunds := array(select distinct u.subject from unnest(kinds, subjects) u(kind, subject) where u.kind = 'refund');
  if taken < p_limit then
    mark.checked := mark.window_end;
    update payguard.audit_watermark
       set checked = mark.window_end, window_end = null, after_xact = null, after_kind = null,
           after_subject = null, updated_at = p_now;
  else
    update payguard.audit_watermark
       set window_end = mark.window_end, after_xact = xacts[taken], after_kind = kinds[taken],
           after_subject = subjects[taken], updated_at = p_now;
  end if;
  delete from payguard.audit_changes d
   where d.ctid = any(array(select p.ctid from payguard.audit_changes p
                             where p.xact < pg_catalog.pg_snapshot_xmin(mark.checked) limit 2 * p_limit));
  return payguard._audit_of(users, orders, refunds) || jsonb_build_object(
    'changes', taken, 'subjects', cardinality(users) + cardinality(orders) + cardinality(refunds),
    'more', taken >= p_limit, 'opened', opened);
end $$;

-- One slice of the full pass: the next at most `p_limit` keys of the current stage, their consistency
-- findings and the open incidents whose subject falls in the slice's key range (checked now, whether the
-- row is still there or not). `pass.estimated_slices` (from the planner's row counts) lets the caller
-- spread a pass over the day; `pass.finished` is true for the slice that ended it.
create function payguard.audit_slice(p_now timestamptz, p_limit int default 10000) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  nil constant uuid := '00000000-0000-0000-0000-000000000000';
  top constant uuid := 'ffffffff-ffff-ffff-ffff-ffffffffffff';
  pass payguard.audit_pass;
  stage text;
  keys text[];
  stage_done boolean;
  after_user uuid;
  upper_user uuid;
  users uuid[];
  lower_key text[];
  upper_key text[];
  findings jsonb;
  checked jsonb;
  estimated integer;
begin
  if p_limit is null or p_limit < 1 then
    raise exception 'audit_slice: p_limit must be at least 1' using errcode = 'P0001';
  end if;
  select * into strict pass from payguard.audit_pass for update;
  pass.started_at := coalesce(pass.started_at, p_now);
  stage := pass.stage;
  if stage = 'users' then
    -- Users with a balance row give the keys; users with ledger rows in the same range are checked too.
    after_user := pass.after_key[1]::uuid;
    users := array(select b.user_id from payguard.credit_balances b
                    where b.user_id >= coalesce(after_user, nil) and b.user_id is distinct from after_user
                    order by b.user_id limit p_limit);
    keys := users::text[];
    stage_done := cardinality(users) < p_limit;
    upper_user := case when stage_done then top else users[p_limit] end;
    users := users || array(select distinct l.user_id from payguard.credit_ledger l
                             where l.user_id >= coalesce(after_user, nil) and l.user_id <= upper_user
                               and l.user_id is distinct from after_user);
    findings := payguard._audit_findings_json(users, '{}', '{}');
    checked := coalesce((
      select jsonb_agg(o.key order by o.key)
        from (select a.key, case when a.subject ~ '^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'
                                 then a.subject::uuid end as user_id
                from payguard._audit_open() a where a.kind = 'balance_mismatch') o
       where o.user_id >= coalesce(after_user, nil) and o.user_id <= upper_user
         and o.user_id is distinct from after_user), '[]'::jsonb);
  elsif stage = 'orders' then
    keys := array(select o.id from payguard.payment_orders o
                   where o.id > coalesce(pass.after_key[1], '') order by o.id limit p_limit);
    stage_done := cardinality(keys) < p_limit;
    findings := payguard._audit_findings_json('{}', keys, '{}');
    checked := coalesce((
      select jsonb_agg(a.key order by a.key) from payguard._audit_open() a
       where a.kind in ('fulfilled_without_grant', 'grant_without_fulfilled_order')
         and a.subject > coalesce(pass.after_key[1], '') and (stage_done or a.subject <= keys[p_limit])), '[]'::jsonb);
  else
    keys := array(select f.provider || ':' || f.refund_ref from payguard.refund_failures f
                   where (f.provider, f.refund_ref) > (coalesce(pass.after_key[1], ''), coalesce(pass.after_key[2], ''))
                   order by f.provider, f.refund_ref limit p_limit);
    stage_done := cardinality(keys) < p_limit;
    lower_key := array[coalesce(pass.after_key[1], ''), coalesce(pass.after_key[2], '')];
    upper_key := case when stage_done then null
                      else array[split_part(keys[p_limit], ':', 1), substr(keys[p_limit], strpos(keys[p_limit], ':') + 1)] end;
    findings := payguard._audit_findings_json('{}', '{}', keys);
    checked := coalesce((
      select jsonb_agg(o.key order by o.key)
        from (select a.key, split_part(a.subject, ':', 1) as provider, substr(a.subject, strpos(a.subject, ':') + 1) as ref
                from payguard._audit_open() a where a.kind = 'refund_failure_unapplied') o
       where (o.provider, o.ref) > (lower_key[1], lower_key[2])
         and (upper_key is null or (o.provider, o.ref) <= (upper_key[1], upper_key[2]))), '[]'::jsonb);
  end if;

  pass.slices := pass.slices + 1;
  if not stage_done then
    pass.after_key := case when stage = 'refunds' then upper_key else array[keys[p_limit]] end;
  elsif stage = 'users' then
    pass.stage := 'orders';
    pass.after_key := null;
  elsif stage = 'orders' then
    pass.stage := 'refunds';
    pass.after_key := null;
  end if;
  -- A stage of n keys takes floor(n / p_limit) + 1 slices (its last one short).
  select sum(floor(greatest(c.reltuples, 0) / p_limit) + 1)::integer into estimated
    from pg_catalog.pg_class c
   where c.oid in ('payguard.credit_balances'::regclass, 'payguard.payment_orders'::regclass,
                   'payguard.refund_failures'::regclass);
  if stage_done and stage = 'refunds' then
    update payguard.audit_pass
       set stage = 'users', after_key = null, started_at = null, slices = 0,
           passes_finished = passes_finished + 1, last_finished_at = p_now;
  else
    update payguard.audit_pass
       set stage = pass.stage, after_key = pass.after_key, started_at = pass.started_at, slices = pass.slices;
  end if;
  return jsonb_build_object(
    'findings', findings, 'checked', checked, 'stage', stage, 'keys', cardinality(keys),
    'pass', jsonb_build_object('started_at', pass.started_at, 'slices', pass.slices,
                               'estimated_slices', estimated, 'finished', stage_done and stage = 'refunds'));
end $$;

-- The consistency findings of named subjects now (the audit re-checks what it has just repaired).
create function payguard.audit_subjects(p_users uuid[], p_orders text[], p_refunds text[]) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select payguard._audit_of(coalesce(p_users, '{}'), coalesce(p_orders, '{}'), coalesce(p_refunds, '{}'));
$$;

select payguard._secure_functions();
