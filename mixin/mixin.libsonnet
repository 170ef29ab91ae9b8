// The monitoring mixin of kartustok_exporter: its alerts
// (prometheusAlerts), recording rules (prometheusRules) and Grafana
// dashboards (grafanaDashboards), set up by _config (config.libsonnet).
// It imports nothing from outside this directory.
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
