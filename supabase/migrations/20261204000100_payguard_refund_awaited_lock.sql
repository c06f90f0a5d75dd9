-- `refund_awaited` decided under the order's row lock. A repeat of a payment that the provider reports refunded
-- (WeChat trade_state REFUND, answered again by a query) checked "no refund recorded yet" without the order's
-- lock, so a refund committing at that moment on another connection could resolve the incident first and this
-- call raise it again after: left open with the refund recorded (the settlement property test on Postgres,
-- seed 20261204, found it). The check and the raise now wait for the order row, as the refund's recording does.
create or replace function payguard._await_refund(o payguard.payment_orders, p_payment_ref text, p_source text,
                                                  p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
begin
  perform 1 from payguard.payment_orders where id = o.id for update;
  if exists (select 1 from payguard.payment_refunds where order_id = o.id) then
    return;
  end if;
  perform payguard._order_event(o.id, p_now, 'refund_awaited', p_source, jsonb_build_object('payment_ref', p_payment_ref));
  perform payguard._raise('refund_awaited:' || o.id, 'refund_awaited', 'warning',
    format('Order %s: %s reports a refund that has not reached payguard yet', o.id, o.provider),
    payguard._incident_detail(o, null), p_now);
end $$;

select payguard._secure_functions();
