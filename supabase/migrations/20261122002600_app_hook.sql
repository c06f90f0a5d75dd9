-- The app hook: an app whose credits or goods live in its own tables defines
--   payguard_app.on_settled(change jsonb)
-- and payguard calls it inside the transaction of every ledger entry (grant, clawback, reversal), so the
-- app's tables and payguard's ledger commit or roll back together. When the hook raises, the whole
-- settlement rolls back with SQLSTATE P0H01, which PostgREST answers with HTTP 500 (class P0): the
-- worker treats it as transient (the provider redelivers, the cron retries) and opens an incident.
--
-- `change` = {"order_id", "user_id", "package_id", "provider", "reason" (the ledger entry kind:
--   purchase, clawback, …), "credits_delta" (signed), "balance_after" (payguard's balance),
--   "amount_minor", "currency", "refund_ref", "note", "at"}.
-- The hook runs with the privileges of the migration owner; payguard never creates schema payguard_app.
create function payguard._notify_app_settled(
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
    execute 'select payguard_app.on_settled($1)' using change;
  exception when others then
    raise exception 'app hook payguard_app.on_settled failed: %', sqlerrm
      using errcode = 'P0H01', detail = format('order %s, %s %s credits', p_order_id, p_kind, p_credits);
  end;
end $$;
