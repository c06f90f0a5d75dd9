-- Incidents (deduplicated by key while open), job runs and sync cursors.

create function payguard.open_incident(p_key text, p_kind text, p_severity text, p_summary text, p_detail jsonb, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  incident payguard.incidents;
begin
  update payguard.incidents
     set occurrences = occurrences + 1, last_seen_at = p_now, detail = coalesce(p_detail, detail),
         -- a worsening raises the severity (never lowers it), so the dashboard shows what the alerts said
         severity = case when p_severity = 'critical' or (p_severity = 'warning' and severity = 'info')
                         then p_severity else severity end
   where key = p_key and status = 'open' returning * into incident;
  if found then
    return jsonb_build_object('id', incident.id, 'opened', false);
  end if;
  insert into payguard.incidents (key, kind, severity, summary, detail, opened_at, last_seen_at)
  values (p_key, p_kind, p_severity, p_summary, coalesce(p_detail, '{}'::jsonb), p_now, p_now)
  on conflict (key) where status = 'open'
  do update set occurrences = payguard.incidents.occurrences + 1, last_seen_at = excluded.last_seen_at
  returning * into incident;
  return jsonb_build_object('id', incident.id, 'opened', incident.occurrences = 1);
end $$;

create function payguard.resolve_incident(p_key text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  resolved int;
begin
  update payguard.incidents set status = 'resolved', resolved_at = p_now where key = p_key and status = 'open';
  get diagnostics resolved = row_count;
  return jsonb_build_object('resolved', resolved > 0);
end $$;

-- Operator triage. Both answer whether an open incident with that key existed.
create function payguard.acknowledge_incident(p_key text, p_actor text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  changed int;
begin
  update payguard.incidents set acknowledged_at = p_now, acknowledged_by = p_actor
   where key = p_key and status = 'open';
  get diagnostics changed = row_count;
  return jsonb_build_object('found', changed > 0);
end $$;

create function payguard.mute_incident(p_key text, p_until timestamptz, p_actor text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  changed int;
begin
  if p_until <= p_now then
    raise exception 'mute must end in the future' using errcode = 'P0001';
  end if;
  update payguard.incidents set muted_until = p_until, muted_by = p_actor
   where key = p_key and status = 'open';
  get diagnostics changed = row_count;
  return jsonb_build_object('found', changed > 0);
end $$;

create function payguard.list_incidents(p_status text default 'open', p_limit int default 100) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(i) order by i.last_seen_at desc), '[]'::jsonb)
    from (select * from payguard.incidents where p_status is null or status = p_status
           order by last_seen_at desc limit least(greatest(p_limit, 1), 500)) i;
$$;

create function payguard.record_job_run(p_job text, p_started_at timestamptz, p_finished_at timestamptz, p_status text, p_detail jsonb)
  returns void language sql security definer set search_path = ''
as $$
  insert into payguard.job_runs (job, status, started_at, finished_at, detail)
  values (p_job, p_status, p_started_at, p_finished_at, coalesce(p_detail, '{}'::jsonb));
$$;

create function payguard.list_job_runs(p_limit int default 50) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(j) order by j.started_at desc), '[]'::jsonb)
    from (select * from payguard.job_runs order by started_at desc limit least(greatest(p_limit, 1), 500)) j;
$$;

create function payguard.get_sync_cursor(p_name text) returns jsonb
  language sql stable security definer set search_path = ''
as $$ select value from payguard.sync_cursors where name = p_name $$;

create function payguard.set_sync_cursor(p_name text, p_value jsonb, p_now timestamptz) returns void
  language sql security definer set search_path = ''
as $$
  insert into payguard.sync_cursors (name, value, updated_at) values (p_name, p_value, p_now)
  on conflict (name) do update set value = excluded.value, updated_at = excluded.updated_at;
$$;
