-- Example app hook: keeps the app's own `public.users.points` in step with payguard's ledger.
-- Apply it as a migration of your app (after payguard's). payguard calls payguard_app.on_settled inside
-- the transaction of every grant, clawback or reversal; if it raises (no such user, a constraint on
-- points), the settlement rolls back, is retried like any transient failure and an incident says so,
-- so `points` and payguard's ledger never disagree.
create schema if not exists payguard_app;
revoke all on schema payguard_app from public;

create or replace function payguard_app.on_settled(change jsonb) returns void
  language plpgsql security definer set search_path = ''
as $$
begin
  update public.users
     set points = points + (change ->> 'credits_delta')::integer
   where id = (change ->> 'user_id')::uuid;
  if not found then
    raise exception 'no public.users row for user %', change ->> 'user_id';
  end if;
end $$;

-- Only payguard calls it (from its own security-definer function); nobody reaches it through the API:
-- schema payguard_app is not exposed, and execute is taken from PUBLIC (the only default grant here).
revoke execute on function payguard_app.on_settled(jsonb) from public;
