// The Grafana dashboards of kartustok_exporter, by file name. Each is a
// function of _config (lib.libsonnet has what they share).
{
  grafanaDashboards+:: {
    'kartustok-exporter.json': (import 'exporter.libsonnet')($._config),
    'kartustok-stock.json': (import 'stock.libsonnet')($._config),
  },
}
