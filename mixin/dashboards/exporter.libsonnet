local utils = import '../lib/utils.libsonnet';
local g = import 'lib.libsonnet';

function(cfg)
  local ds = g.datasource;
  local sels = g.selectors(cfg);
  g.dashboard(
    cfg,
    uid='kartustok-exporter',
    title='KartuStok / Exporter and API health',
    description='Health of kartustok_exporter and of its use of the KartuStok API: token, scopes, requests, latency, errors, rate limit, budget and sync freshness.',
    from=cfg.exporterDashboardFrom,
    variables=g.commonVariables(cfg),
    panels=[
      {
        type: 'stat',
        title: 'Exporter scraped',
        description: 'Whether Prometheus could scrape the exporter (the up series of the job).',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'none',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            mappings: [
              {
                type: 'value',
                options: {
                  '0': { color: 'red', index: 1, text: 'DOWN' },
                  '1': { color: 'green', index: 0, text: 'UP' },
                },
              },
            ],
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
          wideLayout: true,
          showPercentChange: false,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', 'up{%(instanceSel)s}' % sels, '{{instance}}'),
        ],
        gridPos: { h: 4, w: 4, x: 0, y: 0 },
        id: 1,
      },
      {
        type: 'stat',
        title: 'KartuStok API',
        description: "Whether the exporter's last health check of the KartuStok API returned 200.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'none',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            mappings: [
              {
                type: 'value',
                options: {
                  '0': { color: 'red', index: 1, text: 'DOWN' },
                  '1': { color: 'green', index: 0, text: 'UP' },
                },
              },
            ],
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
          wideLayout: true,
          showPercentChange: false,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', 'kartustok_up{%(sel)s}' % sels, '{{company}} @ {{instance}}'),
        ],
        gridPos: { h: 4, w: 4, x: 4, y: 0 },
        id: 2,
      },
      {
        type: 'stat',
        title: 'Token valid',
        description: "Whether the API accepts the exporter's token. 0 means the API answered 401: the token is invalid, inactive, expired or revoked.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'none',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            mappings: [
              {
                type: 'value',
                options: {
                  '0': { color: 'red', index: 1, text: 'REFUSED' },
                  '1': { color: 'green', index: 0, text: 'VALID' },
                },
              },
            ],
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
          wideLayout: true,
          showPercentChange: false,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', 'kartustok_token_valid{%(sel)s}' % sels, '{{company}} @ {{instance}}'),
        ],
        gridPos: { h: 4, w: 4, x: 8, y: 0 },
        id: 3,
      },
      {
        type: 'stat',
        title: 'Token expires in',
        description: 'Time until the API token expires, from the company metadata or --kartustok.token-expires-at (token_expires_at in --config.file). Orange under %s days, red under %s days. No value means the expiry is unknown.' % [cfg.tokenExpiryWarningDays, cfg.tokenExpiryCriticalDays],
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'dtdurations',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'red', value: null },
                { color: 'orange', value: cfg.tokenExpiryCriticalDays * 86400 },
                { color: 'green', value: cfg.tokenExpiryWarningDays * 86400 },
              ],
            },
            mappings: [],
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
          wideLayout: true,
          showPercentChange: false,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', 'kartustok_token_expiry_timestamp_seconds{%(sel)s} - time()' % sels, '{{company}} @ {{instance}}'),
        ],
        gridPos: { h: 4, w: 4, x: 12, y: 0 },
        id: 4,
      },
      {
        type: 'stat',
        title: 'Scopes refused',
        description: "How many of the scopes the exporter needs were refused (403) on their last call. The panel 'Token scopes' names them.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
            },
            mappings: [],
            decimals: 0,
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
          wideLayout: true,
          showPercentChange: false,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', 'sum(1 - kartustok_token_scope_granted{%(sel)s})' % sels),
        ],
        gridPos: { h: 4, w: 4, x: 16, y: 0 },
        id: 5,
      },
      {
        type: 'stat',
        title: 'Stock data age',
        description: 'Time since the last complete stock refresh. Stock series older than --sync.max-staleness are no longer exported.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'dtdurations',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'orange', value: 600 },
                { color: 'red', value: cfg.stockMaxStalenessSeconds },
              ],
            },
            mappings: [],
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
          wideLayout: true,
          showPercentChange: false,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', 'time() - kartustok_sync_last_success_timestamp_seconds{%(sel)s,resource="stock"}' % sels, '{{company}} @ {{instance}}'),
        ],
        gridPos: { h: 4, w: 4, x: 20, y: 0 },
        id: 6,
      },
      {
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y: 4 },
        id: 7,
        panels: [],
        title: 'Token and company',
        type: 'row',
      },
      {
        type: 'state-timeline',
        title: 'Token scopes',
        description: 'Per scope, whether the last call needing it was allowed (granted) or answered 403 (refused). A scope appears once a call has needed it.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'none',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            mappings: [
              {
                type: 'value',
                options: {
                  '0': { color: 'red', index: 1, text: 'refused' },
                  '1': { color: 'green', index: 0, text: 'granted' },
                },
              },
            ],
            custom: { fillOpacity: 70, lineWidth: 0 },
          },
          overrides: [],
        },
        options: {
          alignValue: 'left',
          mergeValues: true,
          rowHeight: 0.9,
          showValue: 'auto',
          legend: { displayMode: 'list', placement: 'bottom', showLegend: false },
          tooltip: { mode: 'single', sort: 'none' },
        },
        targets: [
          g.rangeTarget('A', 'kartustok_token_scope_granted{%(sel)s}' % sels, '{{company}} {{scope}}'),
        ],
        gridPos: { h: 7, w: 14, x: 0, y: 5 },
        id: 8,
      },
      {
        type: 'table',
        title: 'Company',
        description: "The KartuStok companies the chosen exporters read, by company label: each one's time zone sets its stock date, and its minimum stock mode decides which minimum series exist (per warehouse or company-wide).",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'none',
            custom: { align: 'auto', filterable: true, cellOptions: { type: 'auto' } },
            color: { mode: 'thresholds' },
            thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
          },
          overrides: [],
        },
        options: {
          cellHeight: 'sm',
          footer: { show: false, reducer: ['sum'], countRows: false, fields: '' },
          showHeader: true,
        },
        targets: [
          g.tableTarget('A', 'kartustok_company_info{%(sel)s}' % sels),
        ],
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, Value: true, __name__: true, job: true },
              indexByName: {
                company: 0,
                company_name: 1,
                subdomain: 2,
                timezone: 3,
                minimum_stock_mode: 4,
                company_id: 5,
                instance: 6,
              },
              renameByName: {
                company: 'Company',
                company_name: 'Name',
                subdomain: 'Subdomain',
                timezone: 'Time zone',
                minimum_stock_mode: 'Minimum stock mode',
                company_id: 'Company ID',
                instance: 'Exporter',
              },
            },
          },
        ],
        gridPos: { h: 7, w: 10, x: 14, y: 5 },
        id: 9,
      },
      {
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y: 12 },
        id: 10,
        panels: [],
        title: 'API requests',
        type: 'row',
      },
      {
        type: 'timeseries',
        title: 'Requests by endpoint and code',
        description: 'Requests the exporter sent to the KartuStok API per second, by endpoint and HTTP status (code="error" when no response arrived). Summed over the chosen companies; choose one to see its own.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'reqps',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 30,
              showPoints: 'never',
              spanNulls: false,
              stacking: { group: 'A', mode: 'normal' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'sum by (endpoint, code) (rate(kartustok_api_requests_total{%(sel)s}[$__rate_interval]))' % sels, '{{endpoint}} {{code}}'),
        ],
        gridPos: { h: 8, w: 12, x: 0, y: 13 },
        id: 11,
      },
      {
        type: 'timeseries',
        title: 'Request latency',
        description: 'Median, 90th and 99th percentile duration of API requests by endpoint, from the kartustok_api_request_duration_seconds histogram. Summed over the chosen companies; choose one to see its own.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 's',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['mean', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'histogram_quantile(0.5, sum by (le, endpoint) (rate(kartustok_api_request_duration_seconds_bucket{%(sel)s}[$__rate_interval])))' % sels, 'p50 {{endpoint}}'),
          g.rangeTarget('B', 'histogram_quantile(0.9, sum by (le, endpoint) (rate(kartustok_api_request_duration_seconds_bucket{%(sel)s}[$__rate_interval])))' % sels, 'p90 {{endpoint}}'),
          g.rangeTarget('C', 'histogram_quantile(0.99, sum by (le, endpoint) (rate(kartustok_api_request_duration_seconds_bucket{%(sel)s}[$__rate_interval])))' % sels, 'p99 {{endpoint}}'),
        ],
        gridPos: { h: 8, w: 12, x: 12, y: 13 },
        id: 12,
      },
      {
        type: 'timeseries',
        title: 'Errors by reason',
        description: 'Failed API requests per second by reason (unauthorized, forbidden, not_found, rate_limited, server_error, timeout, network, invalid_response); kartustok_api_errors_total also has the endpoint. Summed over the chosen companies; choose one to see its own.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'reqps',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 30,
              showPoints: 'never',
              spanNulls: false,
              stacking: { group: 'A', mode: 'normal' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'sum by (reason) (rate(kartustok_api_errors_total{%(sel)s}[$__rate_interval]))' % sels, '{{reason}}'),
        ],
        gridPos: { h: 8, w: 12, x: 0, y: 21 },
        id: 13,
      },
      {
        type: 'timeseries',
        title: 'Error ratio',
        description: 'Share of API requests that failed, over every endpoint; skipped rows (reason invalid_row) are counted per row, not per request, and are left out. KartuStokAPIErrors fires above %s%% (leaving out 401, 403 and 429, which have their own alerts). Summed over the chosen companies; choose one to see its own.' % utils.num(cfg.apiErrorsRatio * 100),
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'percentunit',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 10,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
              thresholdsStyle: { mode: 'dashed' },
            },
            color: { mode: 'palette-classic' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'red', value: cfg.apiErrorsRatio }],
            },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', |||-
            sum(rate(kartustok_api_errors_total{%(sel)s,reason!="invalid_row"}[$__rate_interval]))
            /
            sum(rate(kartustok_api_requests_total{%(sel)s}[$__rate_interval]))
          ||| % sels, 'failing share'),
        ],
        gridPos: { h: 8, w: 12, x: 12, y: 21 },
        id: 14,
      },
      {
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y: 29 },
        id: 15,
        panels: [],
        title: 'Rate limit and budget',
        type: 'row',
      },
      {
        type: 'timeseries',
        title: 'Rate-limit remaining against budget',
        description: "X-RateLimit-Remaining from the API's last response against the requests per window the exporter allows itself (--kartustok.budget × --kartustok.rate-limit, or the company's budget and rate_limit in --config.file), per company. The exporter never spends more than its budget, so remaining falling below rate-limit − budget means another client shares the token or IP.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'kartustok_api_rate_limit_remaining{%(sel)s}' % sels, '{{company}} remaining in window'),
          g.rangeTarget('B', 'kartustok_api_request_budget{%(sel)s}' % sels, '{{company}} exporter budget per window'),
        ],
        gridPos: { h: 8, w: 12, x: 0, y: 30 },
        id: 16,
      },
      {
        type: 'timeseries',
        title: 'Waiting for budget',
        description: 'Seconds per second the sync loops spent waiting for the request budget, summed over loops. Steady waiting means the configured intervals need more requests than the budget allows; the planner then stretches the stock cycle.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 's',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 10,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'sum by (instance, company) (rate(kartustok_api_budget_wait_seconds_total{%(sel)s}[$__rate_interval]))' % sels, '{{company}} @ {{instance}}'),
        ],
        gridPos: { h: 8, w: 12, x: 12, y: 30 },
        id: 17,
      },
      {
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y: 38 },
        id: 18,
        panels: [],
        title: 'Sync',
        type: 'row',
      },
      {
        type: 'timeseries',
        title: 'Time since last successful sync',
        description: "Per resource, how old the exporter's cached data is. Compare with the effective cycle: a value well above it means refreshes are failing.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 's',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'time() - kartustok_sync_last_success_timestamp_seconds{%(sel)s}' % sels, '{{company}} {{resource}}'),
        ],
        gridPos: { h: 8, w: 12, x: 0, y: 39 },
        id: 19,
      },
      {
        type: 'timeseries',
        title: 'Sync duration',
        description: 'How long the last refresh of each resource took, including time spent waiting for budget.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 's',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'kartustok_sync_duration_seconds{%(sel)s}' % sels, '{{company}} {{resource}}'),
        ],
        gridPos: { h: 8, w: 12, x: 12, y: 39 },
        id: 20,
      },
      {
        type: 'timeseries',
        title: 'Planned requests per refresh',
        description: 'Requests a full refresh of each resource needs, from the pages it took last time; the planner sizes the cycle from these.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'kartustok_sync_planned_requests{%(sel)s}' % sels, '{{company}} {{resource}}'),
        ],
        gridPos: { h: 8, w: 8, x: 0, y: 47 },
        id: 21,
      },
      {
        type: 'timeseries',
        title: 'Measured refresh cycle',
        description: 'The refresh period of each resource after budget planning. Stock above --sync.stock-interval means a full refresh does not fit the budget at the wanted interval.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 's',
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'kartustok_sync_cycle_seconds{%(sel)s}' % sels, '{{company}} {{resource}}'),
        ],
        gridPos: { h: 8, w: 8, x: 8, y: 47 },
        id: 22,
      },
      {
        type: 'timeseries',
        title: 'Sync errors',
        description: 'Failed refreshes per resource in each interval; for stock, each failed warehouse counts. A failed resource keeps its last good values until --sync.max-staleness.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'bars',
              lineWidth: 1,
              fillOpacity: 60,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'sum by (company, resource) (increase(kartustok_sync_errors_total{%(sel)s}[$__rate_interval]))' % sels, '{{company}} {{resource}}'),
        ],
        gridPos: { h: 8, w: 8, x: 16, y: 47 },
        id: 23,
      },
      {
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y: 55 },
        id: 24,
        panels: [],
        title: 'Data checks',
        type: 'row',
      },
      {
        type: 'timeseries',
        title: 'Rows skipped and listings read again',
        description: 'Rows the API sent that could not be used and were skipped (their pairs keep their last good value until --sync.max-staleness), paginated listings read again from page 1 because their pages disagreed, and listings whose pages still disagreed after two re-reads. KartuStokInvalidRows fires when rows keep coming unreadable. Summed over the chosen companies; choose one to see its own.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'bars',
              lineWidth: 1,
              fillOpacity: 60,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'sum by (endpoint) (increase(kartustok_api_errors_total{%(sel)s,reason="invalid_row"}[$__rate_interval]))' % sels, 'skipped rows {{endpoint}}'),
          g.rangeTarget('B', 'sum by (endpoint) (increase(kartustok_api_listing_rereads_total{%(sel)s}[$__rate_interval]))' % sels, 're-reads {{endpoint}}'),
          g.rangeTarget('C', 'sum by (endpoint) (increase(kartustok_api_errors_total{%(sel)s,reason="inconsistent_pages"}[$__rate_interval]))' % sels, 'inconsistent {{endpoint}}'),
        ],
        gridPos: { h: 8, w: 12, x: 0, y: 56 },
        id: 25,
      },
      {
        type: 'timeseries',
        title: 'Texts cut to 256 bytes',
        description: 'Names, codes, units and descriptions from the API longer than 256 bytes, cut before they become label values. Summed over the chosen companies; choose one to see its own.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'bars',
              lineWidth: 1,
              fillOpacity: 60,
              showPoints: 'never',
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [],
        },
        options: {
          legend: {
            calcs: ['lastNotNull', 'max'],
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            sortBy: 'Last *',
            sortDesc: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: [
          g.rangeTarget('A', 'sum by (endpoint) (increase(kartustok_api_truncated_texts_total{%(sel)s}[$__rate_interval]))' % sels, '{{endpoint}}'),
        ],
        gridPos: { h: 8, w: 6, x: 12, y: 56 },
        id: 26,
      },
      {
        type: 'stat',
        title: 'Token readable',
        description: "Whether the exporter could read each company's token file (or KARTUSTOK_TOKEN) at its last attempt. While it cannot, no request is sent and KartuStokTokenUnreadable fires.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'none',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            mappings: [
              {
                type: 'value',
                options: {
                  '0': { color: 'red', index: 1, text: 'UNREADABLE' },
                  '1': { color: 'green', index: 0, text: 'READ' },
                },
              },
            ],
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
          wideLayout: true,
          showPercentChange: false,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', 'kartustok_token_loaded{%(sel)s}' % sels, '{{company}} @ {{instance}}'),
        ],
        gridPos: { h: 8, w: 6, x: 18, y: 56 },
        id: 27,
      },
    ],
  )
