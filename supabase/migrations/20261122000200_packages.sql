-- What can be bought: a price (integer minor units + ISO currency) and the credits it grants.
-- `credits` is everything the purchase grants; `bonus_credits` is the part of it shown as a bonus, so
-- every path that snapshots `credits` (checkout, an order rebuilt from metadata) grants the same amount.
-- `stock_limit` (null = unlimited) caps how many orders may hold or have used a unit at once.
create table payguard.credit_packages (
  id text primary key check (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  name text not null,
  amount_minor bigint not null check (amount_minor > 0),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  credits integer not null check (credits > 0),
  bonus_credits integer not null default 0 check (bonus_credits >= 0 and bonus_credits < credits),
  active boolean not null default true,
  stock_limit integer check (stock_limit is null or stock_limit >= 0),
  created_at timestamptz not null default now()
);
