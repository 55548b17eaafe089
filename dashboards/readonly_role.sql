-- Read-only role for Grafana's PostgreSQL datasource (dashboards/provisioning/datasources).
--
-- Run it as the owner of the monitor's tables (or a superuser), in the monitor's database,
-- AFTER `monitor db upgrade` (or the first `monitor serve`) created the tables. It is
-- idempotent: run it again after an upgrade adds tables. The password is not in this file:
-- pass it as a session setting, e.g.
--
--   PGOPTIONS="-c monitor.grafana_password=$GRAFANA_DB_PASSWORD" \
--     psql "$MONITOR_DATABASE_URL" -v ON_ERROR_STOP=1 -f dashboards/readonly_role.sql
--
-- What the role may do: connect; read the derived tables the dashboards show; read only the
-- (model, ts) columns of the raw event tables (traffic counts: not features, predictions or
-- labels themselves); nothing else. Dead letters (raw rejected messages) and silences are not
-- readable. Every session is read-only and statements stop after 30 s.
-- No Alembic migration creates this role on purpose: roles are cluster-wide and need
-- CREATEROLE, which the service's own database user should not have.

DO $$
DECLARE
  pw text := current_setting('monitor.grafana_password', true);
BEGIN
  IF pw IS NULL OR pw = '' THEN
    RAISE EXCEPTION 'set monitor.grafana_password (PGOPTIONS="-c monitor.grafana_password=...")';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'monitor_grafana') THEN
    EXECUTE format('CREATE ROLE monitor_grafana LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                   'NOINHERIT PASSWORD %L', pw);
  ELSE
    EXECUTE format('ALTER ROLE monitor_grafana LOGIN PASSWORD %L', pw);
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO monitor_grafana', current_database());
END
$$;

ALTER ROLE monitor_grafana SET default_transaction_read_only = on;
ALTER ROLE monitor_grafana SET statement_timeout = '30s';

GRANT USAGE ON SCHEMA public TO monitor_grafana;
GRANT SELECT ON
  drift_runs,
  drift_feature_results,
  performance_runs,
  reference_datasets,
  alerts,
  alert_events,
  notifications
TO monitor_grafana;
-- Raw events: the columns a traffic count needs, no payload. Daily partitions of
-- `predictions` are read through the parent, so they need no grant of their own.
GRANT SELECT (model, ts) ON predictions TO monitor_grafana;
GRANT SELECT (model, ts) ON labels TO monitor_grafana;
