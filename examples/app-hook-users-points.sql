-- Example app hook: keeps the app's own `public.users.points` in step with payguard's ledger.
-- Apply it as a migration of your app (after payguard's). payguard calls payguard_app.on_settled inside
-- the transaction of every grant, clawback or reversal.
--
-- A customer who pays before the app has written their public.users row (a new sign-up whose row comes
-- later, a trigger that never ran) gets the row here, created from auth.users with the credits as its
-- points, so the payment is credited at once instead of failing until someone adds the row by hand.
-- If the hook raises (a constraint on points, a user auth.users does not know either), the settlement
-- rolls back, is retried like any transient failure and an `app_hook_failed` incident says so, so
-- `points` and payguard's ledger never disagree.
create schema if not exists payguard_app;
revoke all on schema payguard_app from public;

create or replace function payguard_app.on_settled(change jsonb) returns void
  language plpgsql security definer set search_path = ''
as $$
declare
  uid uuid := (change ->> 'user_id')::uuid;
  delta integer := (change ->> 'credits_delta')::integer;
begin
  update public.users set points = points + delta where id = uid;
  if found then
    return;
  end if;
  -- No row yet: create it from the Supabase Auth user. Every other column takes its default; if your
  -- table has another NOT NULL column without one, fill it here too. `on conflict` covers the app
  -- writing the row at the same moment: the credits are added to it instead.
  insert into public.users as u (id, email, points)
  select a.id, a.email, delta from auth.users a where a.id = uid
  on conflict (id) do update set points = u.points + excluded.points;
  if not found then
    raise exception 'user % has no public.users row and is not in auth.users', uid;
  end if;
end $$;

-- Only payguard calls it (from its own security-definer function); nobody reaches it through the API:
-- schema payguard_app is not exposed, and execute is taken from PUBLIC (the only default grant here).
revoke execute on function payguard_app.on_settled(jsonb) from public;
