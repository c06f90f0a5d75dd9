-- Slack's buttons on alert messages act through the console's own actions, and admin_actions names who
-- pressed them as `slack:<operator>` (the operator name configured for the Slack user in SLACK_OPERATORS).
-- The actor check allowed only token names; it now also allows that one prefix, and nothing else.
alter table payguard.admin_actions drop constraint admin_actions_actor_check;
alter table payguard.admin_actions add constraint admin_actions_actor_check
  check (actor ~ '^(slack:)?[A-Za-z0-9_.-]{1,64}$');

select payguard._secure_functions();
