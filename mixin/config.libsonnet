// The settings of the kartustok_exporter mixin. Override them with
//
//   (import 'kartustok-mixin/mixin.libsonnet') + {
//     _config+:: { kartustokSelector: 'job="inventory"' },
//   }
//
// Durations are Prometheus durations ('5m', '1h'); the alerts' descriptions
// say them in words ('5 minutes'), as long as each has a single unit.
{
  _config+:: {
    // The label matchers, comma-separated, that select the exporter's series
    // (and Prometheus' up for its targets) in every alert, recording rule and
    // dashboard query. The default is the job of examples/prometheus.yml and
    // of the Helm chart's ServiceMonitor. Recorded series keep every label of
    // the series they are made from but the ones they sum away, so the
    // selector may name target labels of your own, such as a cluster.
    kartustokSelector: 'job="kartustok"',

    // KartuStokExporterDown: Prometheus cannot scrape the exporter.
    exporterDownFor: '5m',

    // KartuStokAPIDown: the API fails its health checks.
    apiDownFor: '5m',

    // KartuStokTokenUnreadable, KartuStokTokenInvalid: the token file cannot
    // be read, the API refuses the token.
    tokenUnreadableFor: '5m',
    tokenInvalidFor: '5m',

    // KartuStokTokenExpiringSoon: a warning, then a critical alert, this many
    // days before the token expires. The exporter dashboard's "Token expires
    // in" turns orange and red at the same days.
    tokenExpiryWarningDays: 14,
    tokenExpiryCriticalDays: 3,
    tokenExpiringFor: '15m',

    // KartuStokTokenScopeMissing: the API refuses a scope the exporter needs.
    tokenScopeMissingFor: '10m',

    // KartuStokRateLimited: any 429 within the window.
    rateLimitedWindow: '15m',
    rateLimitedFor: '5m',

    // KartuStokAPIErrors: the share of requests that fail over the window,
    // 401, 403, 429 and unreadable rows left out. The exporter dashboard's
    // "Error ratio" draws the same line.
    apiErrorsRatio: 0.1,
    apiErrorsWindow: '10m',
    apiErrorsFor: '15m',

    // KartuStokInvalidRows: any unreadable row within the window.
    invalidRowsWindow: '15m',
    invalidRowsFor: '15m',

    // KartuStokSyncStale: a resource not refreshed for this many refresh
    // cycles (kartustok_sync_cycle_seconds), and at least the minimum: for
    // health and stock, before stock older than the exporter's
    // --sync.max-staleness disappears; for the catalogue and the flow, which
    // refresh less often, longer.
    syncStaleCycles: 3,
    syncStaleMinimumSeconds: 900,
    syncStaleSlowMinimumSeconds: 3600,
    syncStaleFor: '5m',

    // KartuStokConfigReloadFailed: the minimums file fails to load.
    configReloadFailedFor: '5m',

    // The age of the last complete stock refresh beyond which the recording
    // rule item:kartustok_stock_on_hand:sum stops summing (the exporter's
    // default --sync.max-staleness, 30m). The dashboards' "Stock data age"
    // turns red at the same age.
    stockMaxStalenessSeconds: 1800,

    // KartuStokLowStock, KartuStokOutOfStock, KartuStokStockoutPredicted.
    lowStockFor: '15m',
    outOfStockFor: '5m',
    stockoutPredictedFor: '15m',

    // The dashboards' refresh and default time range.
    dashboardRefresh: '1m',
    dashboardTimezone: 'browser',
    exporterDashboardFrom: 'now-6h',
    stockDashboardFrom: 'now-24h',
    dashboardTo: 'now',

    // The dashboards' tags: every dashboard carries dashboardTags, which
    // the dashboards' links list too; the stock dashboard adds its own.
    dashboardTags: ['kartustok'],
  },
}
