-- Orders to compare with a provider's daily bill: those the bill mentions, plus those we think were paid
-- in that window (so an order the bill lacks is found too).
create function payguard.orders_for_bill(p_provider text, p_from timestamptz, p_to timestamptz, p_order_ids text[])
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(o) order by o.id), '[]'::jsonb)
    from payguard.payment_orders o
   where o.provider = p_provider
     and (o.id = any(coalesce(p_order_ids, '{}')) or (o.paid_at >= p_from and o.paid_at < p_to));
$$;
revoke execute on function payguard.orders_for_bill(text, timestamptz, timestamptz, text[]) from public, anon, authenticated;
grant execute on function payguard.orders_for_bill(text, timestamptz, timestamptz, text[]) to service_role;
