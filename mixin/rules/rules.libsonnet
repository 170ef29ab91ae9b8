// Recording rules for kartustok_exporter: the stock totals and days of
// cover the stock alerts (../alerts/alerts.libsonnet) and the stock
// dashboard compare. Like the alerts, they match on (job, instance, company)
// and select with _config.kartustokSelector. They sum away only the labels
// they must, so a recorded series keeps the target labels of its source
// (a cluster, a namespace) and the selector finds it again.
local utils = import '../lib/utils.libsonnet';

{
  prometheusRules+:: {
    local f = utils.withNumbers($._config),

    groups+: [
      {
        name: 'kartustok-stock.rules',
        rules: [
          // Stock of each active item summed over the active warehouses, for
          // the item master's (union) minimum. A total is only right when
          // every warehouse's stock is there, so it exists only while the
          // last complete stock refresh
          // (kartustok_sync_last_success_timestamp_seconds{resource="stock"},
          // which advances only when every warehouse succeeded) is younger
          // than the exporter's --sync.max-staleness
          // (_config.stockMaxStalenessSeconds, 30 minutes by default): before
          // the first complete refresh, or while a warehouse keeps failing, a
          // missing warehouse is not counted as zero. Within that, an item
          // with no stock row anywhere really has none and counts as 0, so an
          // item that was never received still alerts.
          {
            record: 'item:kartustok_stock_on_hand:sum',
            expr: |||
              (
                sum without (locator_id) (
                  kartustok_stock_on_hand{%(kartustokSelector)s}
                  * on(job, instance, company, locator_id) group_left()
                    kartustok_locator_info{%(kartustokSelector)s, active="true"}
                )
                or on(job, instance, company, item_id)
                0 * kartustok_item_minimum_quantity{%(kartustokSelector)s}
              )
              and on(job, instance, company)
              (time() - kartustok_sync_last_success_timestamp_seconds{%(kartustokSelector)s, resource="stock"} < %(stockMaxStalenessSeconds)s)
            ||| % f,
          },

          // Days the stock of an item in a warehouse lasts at the pace it
          // went out over the last 30 days
          // (kartustok_stock_outflow_quantity{period="30d"}: the company's
          // today and the 29 days before): on hand / (outflow / 30). Only
          // where something went out: an item that does not move has no days
          // of cover rather than endless ones. Stock below zero counts as
          // none.
          {
            record: 'locator_item:kartustok_stock_days_of_cover',
            expr: |||
              clamp_min(kartustok_stock_on_hand{%(kartustokSelector)s}, 0)
              / on(job, instance, company, locator_id, item_id)
                (kartustok_stock_outflow_quantity{%(kartustokSelector)s, period="30d"} > 0)
              * 30
            ||| % f,
          },
        ],
      },
    ],
  },
}
