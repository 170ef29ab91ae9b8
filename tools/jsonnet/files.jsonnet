// The files the mixin renders, by their path from the repository's root:
// `make mixin` writes them, and `make test` fails when one differs. The
// Helm chart carries copies of the rules and the dashboards, the same
// bytes; its templates put its own job into them.
//
// config is an object merged into the mixin's _config, to render it with
// other settings: mixin -config '{kartustokSelector: "job=\"inventory\""}'.
function(config={})
  local mixin = (import '../../mixin/mixin.libsonnet') + { _config+:: config };
  // The recording rules' group first, then the alerts' groups: each group
  // has a name of its own, as a PrometheusRule of kube-prometheus, which
  // puts both in one object, needs.
  local rules = { groups: mixin.prometheusRules.groups + mixin.prometheusAlerts.groups };
  local chart = 'deploy/helm/kartustok-exporter/files/';
  {
    'alerts/kartustok.rules.yml': rules,
    [chart + 'kartustok.rules.yml']: rules,
  } + {
    ['dashboards/' + name]: mixin.grafanaDashboards[name]
    for name in std.objectFields(mixin.grafanaDashboards)
  } + {
    [chart + 'dashboards/' + name]: mixin.grafanaDashboards[name]
    for name in std.objectFields(mixin.grafanaDashboards)
  }
