// Alerting rules for kartustok_exporter.
//
// Every alert is per company: every expression matches and aggregates on
// (job, instance, company), so that one Prometheus can watch many companies,
// served by one exporter or by several, and every alert but
// KartuStokExporterDown (Prometheus' up, which has no company) carries the
// company label and names the company. Two companies of one exporter may
// share item and warehouse IDs, so stock alerts join on the company too. They
// join the names of warehouses (locators) and items from the *_info series
// and ignore inactive warehouses and items, so they stay silent until the
// catalogue has been refreshed once. Every series selector carries
// _config.kartustokSelector.
//
// Alerts that have an obvious cause elsewhere leave it to that alert:
// KartuStokAPIDown is silent while the token is refused (KartuStokTokenInvalid),
// cannot be read at all (KartuStokTokenUnreadable: no request is sent, so
// kartustok_up only keeps its last value) or lacks the meta.read scope that
// /health needs (KartuStokTokenScopeMissing), and KartuStokAPIErrors leaves
// out refused tokens, missing scopes and 429s, which have their own alerts.
// Alertmanager should inhibit the warning of KartuStokTokenExpiringSoon while
// its critical twin fires, KartuStokLowStock and KartuStokStockoutPredicted
// while KartuStokOutOfStock fires for the same item, the stock and
// token-expiry alerts while the token is refused, and, while the token cannot
// be read, the alerts that describe the last token read or data that can no
// longer be refreshed (the token, stock and KartuStokSyncStale alerts), each
// for the same company, as examples/alertmanager.yml does. Those are
// inhibited rather than hidden here, since the data they describe really is
// stale.
//
// A resource that has never been refreshed since the exporter started has no
// kartustok_sync_last_success_timestamp_seconds, so KartuStokSyncStale cannot
// see it; KartuStokAPIDown, KartuStokTokenUnreadable, KartuStokTokenInvalid
// and KartuStokTokenScopeMissing say why the first refresh fails.
//
// Descriptions are written over several lines here and read as one line, as
// a folded YAML scalar would (utils.oneLine); the durations and thresholds
// they name come from _config.
local utils = import '../lib/utils.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local f = utils.withNumbers(c),
    local words = utils.humanDuration,

    // The company's name from its info series, or its label when the series
    // is missing: the Prometheus template the descriptions name a company
    // with.
    local companyName = '{{ with printf "kartustok_company_info{job=%q,instance=%q,company=%q}" $labels.job $labels.instance $labels.company | query }}{{ . | first | label "company_name" }} ({{ $labels.company }}){{ else }}{{ $labels.company }}{{ end }}',

    // KartuStokTokenExpiringSoon, as a warning or a critical alert; advice
    // follows the time left.
    local tokenExpiring(severity, days, advice) = {
      alert: 'KartuStokTokenExpiringSoon',
      expr: |||
        kartustok_token_expiry_timestamp_seconds{%(kartustokSelector)s} - time() < %(days)s * 86400
      ||| % (f { days: utils.num(days) }),
      'for': c.tokenExpiringFor,
      labels: { severity: severity },
      annotations: {
        summary: 'The KartuStok API token of {{ $labels.company }} expires in less than %s days.' % utils.num(days),
        description: utils.oneLine(|||
          The API token used by the exporter {{ $labels.instance }} for
          %s
          expires in {{ $value | humanizeDuration }}
        ||| % companyName) + utils.oneLine(advice),
      },
    },

    groups+: [
      {
        name: 'kartustok-exporter',
        rules: [
          // Every other alert needs the exporter's series: without this one,
          // an exporter that stopped would silence them all.
          {
            alert: 'KartuStokExporterDown',
            expr: 'up{%(kartustokSelector)s} == 0' % f,
            'for': c.exporterDownFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Prometheus cannot scrape the KartuStok exporter.',
              description: utils.oneLine(|||
                Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for
                %s, so no KartuStok stock or token alert can fire for it. Check that
                kartustok_exporter is running and reachable.
              ||| % words(c.exporterDownFor)),
            },
          },

          // While the token cannot be read no health check is sent, so
          // kartustok_up is only the last answer (or absent); an exporter too
          // old to export kartustok_token_loaded is not held back by the
          // unless.
          {
            alert: 'KartuStokAPIDown',
            expr: |||
              kartustok_up{%(kartustokSelector)s} == 0
              unless on(job, instance, company) (kartustok_token_valid{%(kartustokSelector)s} == 0)
              unless on(job, instance, company) (kartustok_token_scope_granted{%(kartustokSelector)s, scope="meta.read"} == 0)
              unless on(job, instance, company) (kartustok_token_loaded{%(kartustokSelector)s} == 0)
            ||| % f,
            'for': c.apiDownFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The KartuStok API of {{ $labels.company }} is failing its health checks.',
              description: utils.oneLine(|||
                The exporter {{ $labels.instance }} has not had a successful health check of the
                KartuStok API of %s
                for %s, so stock figures are going stale. Check the API URL, the network path
                and KartuStok's status.
              ||| % [companyName, words(c.apiDownFor)]),
            },
          },

          {
            alert: 'KartuStokTokenUnreadable',
            expr: 'kartustok_token_loaded{%(kartustokSelector)s} == 0' % f,
            'for': c.tokenUnreadableFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'The exporter cannot read the KartuStok API token of {{ $labels.company }}.',
              description: utils.oneLine(|||
                For %s the exporter {{ $labels.instance }} has been unable to read its API
                token for %s:
                its token file (--kartustok.token-file, or token_file in --config.file) is missing,
                unreadable by the exporter's user or holds no usable token (or, without a token file,
                KARTUSTOK_TOKEN is empty). It sends no request to the KartuStok API, so no data is
                being refreshed and kartustok_up is out of date. Restore a readable token file; the
                exporter picks it up without a restart.
              ||| % [words(c.tokenUnreadableFor), companyName]),
            },
          },

          {
            alert: 'KartuStokTokenInvalid',
            expr: 'kartustok_token_valid{%(kartustokSelector)s} == 0' % f,
            'for': c.tokenInvalidFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: "The KartuStok API refuses the exporter's token for {{ $labels.company }}.",
              description: utils.oneLine(|||
                The KartuStok API of %s
                has answered 401 to the exporter {{ $labels.instance }} for %s: the token is
                expired, revoked, inactive or wrong, and no stock is being refreshed. Create a token in
                KartuStok (on its API Access page) and replace the company's token file.
              ||| % [companyName, words(c.tokenInvalidFor)]),
            },
          },

          tokenExpiring('warning', c.tokenExpiryWarningDays, |||
            . Create a new token with the same scopes in
            KartuStok (on its API Access page) and replace the token file before then.
          |||),

          tokenExpiring('critical', c.tokenExpiryCriticalDays, |||
            ; stock monitoring stops when it does. Create a
            new token with the same scopes in KartuStok (on its API Access page) and
            replace the token file now.
          |||),

          {
            alert: 'KartuStokTokenScopeMissing',
            expr: 'kartustok_token_scope_granted{%(kartustokSelector)s} == 0' % f,
            'for': c.tokenScopeMissingFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The KartuStok API token of {{ $labels.company }} lacks a scope the exporter needs.',
              description: utils.oneLine(|||
                The KartuStok API of {{ $labels.company }} refused the scope {{ $labels.scope }} to the
                exporter {{ $labels.instance }} (403), so the data behind it is not refreshed. Add the
                scope to the company's token, or check that the exporter's address is in the token's
                Allowed IPs.
              |||),
            },
          },

          {
            alert: 'KartuStokRateLimited',
            expr: |||
              sum by (job, instance, company) (
                increase(kartustok_api_errors_total{%(kartustokSelector)s, reason="rate_limited"}[%(rateLimitedWindow)s])
              ) > 0
            ||| % f,
            'for': c.rateLimitedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The KartuStok API is rate-limiting the exporter for {{ $labels.company }}.',
              description: utils.oneLine(|||
                The KartuStok API of {{ $labels.company }} answered 429 to about {{ $value | humanize }}
                of the exporter {{ $labels.instance }}'s requests in the last %s. The exporter
                stays within its own budget, so another client is probably using the same token from
                the same address: give each integration its own token, or lower the company's budget
                (--kartustok.budget, or budget in --config.file).
              ||| % words(c.rateLimitedWindow)),
            },
          },

          {
            alert: 'KartuStokAPIErrors',
            expr: |||
              (
                sum by (job, instance, company) (
                  rate(kartustok_api_errors_total{%(kartustokSelector)s, reason!~"unauthorized|forbidden|rate_limited|invalid_row"}[%(apiErrorsWindow)s])
                )
                /
                sum by (job, instance, company) (rate(kartustok_api_requests_total{%(kartustokSelector)s}[%(apiErrorsWindow)s]))
              ) > %(apiErrorsRatio)s
              unless on(job, instance, company) (kartustok_up{%(kartustokSelector)s} == 0)
            ||| % f,
            'for': c.apiErrorsFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Many KartuStok API requests for {{ $labels.company }} are failing.',
              description: utils.oneLine(|||
                {{ $value | humanizePercentage }} of the exporter {{ $labels.instance }}'s requests to
                the KartuStok API of {{ $labels.company }} failed over the last %s (server
                errors, timeouts, network errors or invalid answers); see kartustok_api_errors_total
                by endpoint and reason.
              ||| % words(c.apiErrorsWindow)),
            },
          },

          // A row the API sends that cannot be read (a quantity that is no
          // number, a missing ID) is skipped on its own and counted per row,
          // not per request, so KartuStokAPIErrors leaves it out. Its pair
          // keeps its last value until --sync.max-staleness and then
          // disappears, which no other alert sees for a single row.
          {
            alert: 'KartuStokInvalidRows',
            expr: |||
              sum by (job, instance, company, endpoint) (
                increase(kartustok_api_errors_total{%(kartustokSelector)s, reason="invalid_row"}[%(invalidRowsWindow)s])
              ) > 0
            ||| % f,
            'for': c.invalidRowsFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The KartuStok API of {{ $labels.company }} sends rows the exporter cannot read.',
              description: utils.oneLine(|||
                For %s the KartuStok API of {{ $labels.company }} has sent rows on
                {{ $labels.endpoint }} that the exporter {{ $labels.instance }} cannot read (about {{ printf "%%.0f" $value }} in the
                last %s): a quantity that is no number, or an ID or field missing. They are
                skipped: their stock keeps its last value until --sync.max-staleness and then
                disappears, never replaced by 0. The exporter's log names each row's ID and field;
                correct the record in KartuStok or report the answer to KartuStok.
              ||| % [words(c.invalidRowsFor), words(c.invalidRowsWindow)]),
            },
          },

          // The threshold is three refresh cycles as the exporter planned
          // them (kartustok_sync_cycle_seconds, stretched when the budget is
          // tight), but at least 15 minutes for health and stock, before
          // stock older than --sync.max-staleness (30m by default)
          // disappears, and an hour for the catalogue, which refreshes every
          // 15 minutes by default (_config.syncStale*).
          {
            alert: 'KartuStokSyncStale',
            expr: |||
              time() - kartustok_sync_last_success_timestamp_seconds{%(kartustokSelector)s}
              > on(job, instance, company, resource)
              (
                  clamp_min(%(syncStaleCycles)s * kartustok_sync_cycle_seconds{%(kartustokSelector)s, resource=~"health|stock"}, %(syncStaleMinimumSeconds)s)
                or
                  clamp_min(%(syncStaleCycles)s * kartustok_sync_cycle_seconds{%(kartustokSelector)s}, %(syncStaleSlowMinimumSeconds)s)
                or
                  0 * kartustok_sync_last_success_timestamp_seconds{%(kartustokSelector)s, resource=~"health|stock"} + %(syncStaleMinimumSeconds)s
                or
                  0 * kartustok_sync_last_success_timestamp_seconds{%(kartustokSelector)s} + %(syncStaleSlowMinimumSeconds)s
              )
            ||| % f,
            'for': c.syncStaleFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The exporter has not refreshed the KartuStok data of {{ $labels.company }} for too long.',
              description: utils.oneLine(|||
                The exporter {{ $labels.instance }} last refreshed {{ $labels.resource }} of
                {{ $labels.company }} from the KartuStok API {{ $value | humanizeDuration }} ago, more than %s refresh cycles.
                {{ if eq $labels.resource "stock" }}Stock older than --sync.max-staleness is no longer
                exported, and the stock alerts then go silent.{{ else if eq $labels.resource "health" }}The
                health check loop is stuck, so kartustok_up is out of date.{{ else if eq $labels.resource "flow" }}The
                30-day flow and the day's movement counts are out of date, and predicted stock-outs
                (KartuStokStockoutPredicted) go silent once they expire.{{ else }}New items,
                warehouses and minimums are missing.{{ end }} See the exporter's log and
                kartustok_sync_errors_total.
              ||| % utils.countWords(c.syncStaleCycles)),
            },
          },

          // A minimums file that fails to load leaves the previous one in
          // force: nothing breaks at once, but the minimums people edited are
          // not the ones the stock alerts use.
          {
            alert: 'KartuStokConfigReloadFailed',
            expr: 'kartustok_config_last_reload_successful{%(kartustokSelector)s} == 0' % f,
            'for': c.configReloadFailedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The exporter could not load the minimums file of {{ $labels.company }}.',
              description: utils.oneLine(|||
                The last reload of the minimums file of {{ $labels.company }} (--stock.minimums-file,
                or minimums_file in --config.file) on {{ $labels.instance }} failed %s ago or
                more, so the previous minimums stay in force and recent edits are ignored.
                The exporter's log says what is wrong, with the line and field where there is one;
                fix the file and send SIGHUP or POST /-/reload.
              ||| % words(c.configReloadFailedFor)),
            },
          },
          // The companies file of --config.file failed to load: the companies
          // stay as they were, so an added company is not exported and a
          // removed one still is. The exporter's own series: no company.
          {
            alert: 'KartuStokCompaniesFileReloadFailed',
            expr: 'kartustok_config_file_last_reload_successful{%(kartustokSelector)s} == 0' % f,
            'for': c.configReloadFailedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The exporter could not load its companies file.',
              description: utils.oneLine(|||
                The last reload of the companies file (--config.file) on {{ $labels.instance }}
                failed %s ago or more, so the companies stay as they were: companies added, changed
                or removed since are not applied. The exporter's log says what is wrong, with the
                line and field; fix the file and send SIGHUP or POST /-/reload.
              ||| % words(c.configReloadFailedFor)),
            },
          },
        ],
      },

      // The stock alerts. The totals over warehouses and the days of cover
      // they compare are the recording rules of ../rules/rules.libsonnet.
      {
        name: 'kartustok-stock',
        rules: [
          {
            alert: 'KartuStokLowStock',
            expr: |||
              (
                kartustok_stock_on_hand{%(kartustokSelector)s}
                < on(job, instance, company, locator_id, item_id) kartustok_stock_minimum_quantity{%(kartustokSelector)s}
              )
              * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
                kartustok_locator_info{%(kartustokSelector)s, active="true"}
              * on(job, instance, company, item_id) group_left(item_code, item_name, category_name, uom)
                kartustok_item_info{%(kartustokSelector)s, active="true"}
            ||| % f,
            'for': c.lowStockFor,
            labels: { severity: 'warning', minimum: 'warehouse' },
            annotations: {
              summary: 'An item of {{ $labels.company }} is below its minimum stock in a warehouse.',
              description: utils.oneLine(|||
                {{ $labels.locator_name }} ({{ $labels.locator_code }}) of {{ $labels.company }} holds
                {{ printf "%.10g" $value }} {{ $labels.uom }} of {{ $labels.item_name }} ({{ $labels.item_code }}), below the
                warehouse minimum of
                {{ with printf "kartustok_stock_minimum_quantity{job=%q,instance=%q,company=%q,locator_id=%q,item_id=%q}" $labels.job $labels.instance $labels.company $labels.locator_id $labels.item_id | query }}{{ . | first | value | printf "%.10g" }}{{ end }}
                {{ $labels.uom }}. Reorder it or move stock in.
              |||),
            },
          },

          {
            alert: 'KartuStokLowStock',
            expr: |||
              (
                item:kartustok_stock_on_hand:sum{%(kartustokSelector)s}
                < on(job, instance, company, item_id) kartustok_item_minimum_quantity{%(kartustokSelector)s}
              )
              * on(job, instance, company, item_id) group_left(item_code, item_name, category_name, uom)
                kartustok_item_info{%(kartustokSelector)s, active="true"}
            ||| % f,
            'for': c.lowStockFor,
            labels: { severity: 'warning', minimum: 'item' },
            annotations: {
              summary: 'An item of {{ $labels.company }} is below its minimum stock across all warehouses.',
              description: utils.oneLine(|||
                All active warehouses of {{ $labels.company }} together hold {{ printf "%.10g" $value }}
                {{ $labels.uom }} of {{ $labels.item_name }} ({{ $labels.item_code }}), below the item's minimum of
                {{ with printf "kartustok_item_minimum_quantity{job=%q,instance=%q,company=%q,item_id=%q}" $labels.job $labels.instance $labels.company $labels.item_id | query }}{{ . | first | value | printf "%.10g" }}{{ end }}
                {{ $labels.uom }}. Reorder it.
              |||),
            },
          },

          {
            alert: 'KartuStokOutOfStock',
            expr: |||
              (
                kartustok_stock_on_hand{%(kartustokSelector)s} <= 0
                and on(job, instance, company, locator_id, item_id) (kartustok_stock_minimum_quantity{%(kartustokSelector)s} > 0)
              )
              * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
                kartustok_locator_info{%(kartustokSelector)s, active="true"}
              * on(job, instance, company, item_id) group_left(item_code, item_name, category_name, uom)
                kartustok_item_info{%(kartustokSelector)s, active="true"}
            ||| % f,
            'for': c.outOfStockFor,
            labels: { severity: 'critical', minimum: 'warehouse' },
            annotations: {
              summary: 'An item of {{ $labels.company }} that should be stocked is out of stock in a warehouse.',
              description: utils.oneLine(|||
                {{ $labels.locator_name }} ({{ $labels.locator_code }}) of {{ $labels.company }} has
                {{ printf "%.10g" $value }} {{ $labels.uom }} of {{ $labels.item_name }} ({{ $labels.item_code }}) although it has
                a warehouse minimum. Restock it or move stock in.
              |||),
            },
          },

          {
            alert: 'KartuStokOutOfStock',
            expr: |||
              (
                item:kartustok_stock_on_hand:sum{%(kartustokSelector)s} <= 0
                and on(job, instance, company, item_id) (kartustok_item_minimum_quantity{%(kartustokSelector)s} > 0)
              )
              * on(job, instance, company, item_id) group_left(item_code, item_name, category_name, uom)
                kartustok_item_info{%(kartustokSelector)s, active="true"}
            ||| % f,
            'for': c.outOfStockFor,
            labels: { severity: 'critical', minimum: 'item' },
            annotations: {
              summary: 'An item of {{ $labels.company }} that should be stocked is out of stock in every warehouse.',
              description: utils.oneLine(|||
                All active warehouses of {{ $labels.company }} together have
                {{ printf "%.10g" $value }} {{ $labels.uom }} of {{ $labels.item_name }} ({{ $labels.item_code }}) although it has an item minimum.
                Restock it.
              |||),
            },
          },

          // The stock left in a warehouse runs out, at its 30-day pace,
          // before an order placed now would arrive
          // (kartustok_item_lead_time_seconds, from lead_time_days in the
          // minimums file, 7 days by default). An item that is out already is
          // KartuStokOutOfStock's, not a prediction.
          {
            alert: 'KartuStokStockoutPredicted',
            expr: |||
              (
                (
                  locator_item:kartustok_stock_days_of_cover{%(kartustokSelector)s}
                  < on(job, instance, company, item_id) group_left()
                    (kartustok_item_lead_time_seconds{%(kartustokSelector)s} / 86400)
                )
                and on(job, instance, company, locator_id, item_id) (kartustok_stock_on_hand{%(kartustokSelector)s} > 0)
              )
              * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
                kartustok_locator_info{%(kartustokSelector)s, active="true"}
              * on(job, instance, company, item_id) group_left(item_code, item_name, category_name, uom)
                kartustok_item_info{%(kartustokSelector)s, active="true"}
            ||| % f,
            'for': c.stockoutPredictedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'An item of {{ $labels.company }} will run out in a warehouse before it can be restocked.',
              description: utils.oneLine(|||
                {{ $labels.locator_name }} ({{ $labels.locator_code }}) of {{ $labels.company }} holds
                {{ printf "%.1f" $value }} days of {{ $labels.item_name }} ({{ $labels.item_code }}) at the
                {{ with printf `kartustok_stock_outflow_quantity{job=%q,instance=%q,company=%q,locator_id=%q,item_id=%q,period="30d"} / 30` $labels.job $labels.instance $labels.company $labels.locator_id $labels.item_id | query }}{{ . | first | value | printf "%.4g" }}{{ end }}
                {{ $labels.uom }} a day that went out over the last 30 days, less than its lead time of
                {{ with printf "kartustok_item_lead_time_seconds{job=%q,instance=%q,company=%q,item_id=%q} / 86400" $labels.job $labels.instance $labels.company $labels.item_id | query }}{{ . | first | value | printf "%.4g" }}{{ end }}
                days. Order it now, or move stock in.
              |||),
            },
          },
        ],
      },
    ],
  },
}
