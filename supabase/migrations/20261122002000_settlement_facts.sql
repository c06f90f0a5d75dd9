-- What settlement records on the order itself: what a checkout discount took off the price (a payment
-- matches when amount + discount = the order amount) and an operator's review decision.
alter table payguard.payment_orders
  add column discount_minor bigint not null default 0 check (discount_minor >= 0),
  -- An operator's decision on a review (`fulfil` / `reject`); a rejected order keeps no purchase credits.
  add column review_resolution text check (review_resolution in ('fulfil', 'reject'));
