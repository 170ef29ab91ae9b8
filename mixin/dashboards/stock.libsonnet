local utils = import '../lib/utils.libsonnet';
local g = import 'lib.libsonnet';

function(cfg)
  local ds = g.datasource;
  local sels = g.selectors(cfg) { stockMaxStalenessSeconds: utils.num(cfg.stockMaxStalenessSeconds) };
  g.dashboard(
    cfg,
    uid='kartustok-stock',
    title='KartuStok / Stock',
    description='Stock on hand against minimum stock per warehouse and item, from kartustok_exporter.',
    from=cfg.stockDashboardFrom,
    tags=['inventory'],
    variables=g.commonVariables(cfg) + [
      g.queryVariable(
        'warehouse',
        'Warehouse',
        'label_values(kartustok_locator_info{%(sel)s}, locator_name)' % sels,
        description='Warehouses (KartuStok locators) by name.',
      ),
      g.queryVariable(
        'category',
        'Category',
        'label_values(kartustok_item_info{%(sel)s}, category_name)' % sels,
        description='Item categories by name.',
      ),
      g.queryVariable(
        'item',
        'Item',
        'label_values(kartustok_item_info{%(sel)s,category_name=~"$category"}, item_name)' % sels,
        description='Items to plot in the stock-over-time panels.',
        includeAll=false,
      ),
    ],
    panels=[
      {
        type: 'stat',
        title: 'Items below minimum',
        description: "Active items in active warehouses, among the chosen companies, warehouses and categories, whose on-hand quantity is below that warehouse's minimum (KartuStok Per Warehouse minimum stock). The KartuStokLowStock alert fires for each of them after %s." % utils.humanDuration(cfg.lowStockFor),
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }],
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
          g.instantTarget('A', |||-
            sum(
            (
              kartustok_stock_on_hand{%(sel)s}
            < bool
              kartustok_stock_minimum_quantity{%(sel)s}
            )
            * on(job, instance, company, item_id) group_left()
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            * on(job, instance, company, locator_id) group_left()
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
            )
          ||| % sels),
        ],
        gridPos: { h: 4, w: 6, x: 0, y: 0 },
        id: 1,
      },
      {
        type: 'stat',
        title: 'Out of stock',
        description: 'Active items with a warehouse minimum whose on-hand quantity in that active warehouse is zero or negative, among the chosen companies, warehouses and categories (the KartuStokOutOfStock condition).',
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
          g.instantTarget('A', |||-
            sum(
            (
              (kartustok_stock_on_hand{%(sel)s} <= bool 0)
            and on(job, instance, company, locator_id, item_id)
              (kartustok_stock_minimum_quantity{%(sel)s} > 0)
            )
            * on(job, instance, company, item_id) group_left()
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            * on(job, instance, company, locator_id) group_left()
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
            )
          ||| % sels),
        ],
        gridPos: { h: 4, w: 6, x: 6, y: 0 },
        id: 2,
      },
      {
        type: 'stat',
        title: 'Items below company-wide minimum',
        description: "Active items in the chosen companies and categories whose total on hand across all active warehouses is below the item master's Minimum Quantity (KartuStok Union minimum stock mode). Not filtered by warehouse.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }],
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
          g.instantTarget('A', |||-
            sum(
            (
              (
              sum by (job, instance, company, item_id) (
                kartustok_stock_on_hand{%(sel)s}
                * on(job, instance, company, locator_id) group_left() kartustok_locator_info{%(sel)s,active="true"}
              )
              or on(job, instance, company, item_id)
              (
                0 * kartustok_item_minimum_quantity{%(sel)s}
                and on(job, instance, company) (time() - kartustok_sync_last_success_timestamp_seconds{%(sel)s,resource="stock"} < %(stockMaxStalenessSeconds)s)
              )
            )
            < bool on(job, instance, company, item_id)
              kartustok_item_minimum_quantity{%(sel)s}
            )
            * on(job, instance, company, item_id) group_left()
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            )
          ||| % sels),
        ],
        gridPos: { h: 4, w: 6, x: 12, y: 0 },
        id: 3,
      },
      {
        type: 'stat',
        title: 'Stock data age',
        description: 'Time since the exporter last completed a full stock refresh. Every figure on this dashboard is at most this old; the exporter drops stock series older than --sync.max-staleness.',
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
        gridPos: { h: 4, w: 6, x: 18, y: 0 },
        id: 4,
      },
      {
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y: 4 },
        id: 5,
        panels: [],
        title: 'Low stock',
        type: 'row',
      },
      {
        type: 'table',
        title: 'Items below minimum',
        description: "Every active item in an active warehouse, among the chosen warehouses and categories, whose on-hand quantity is below the warehouse's minimum, largest shortfall first. Quantities are in the item's unit.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
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
          sortBy: [{ desc: true, displayName: 'Shortfall' }],
        },
        targets: [
          g.tableTarget('A', |||-
            (
              kartustok_stock_on_hand{%(sel)s}
            <
              kartustok_stock_minimum_quantity{%(sel)s}
            )
            * on(job, instance, company, item_id) group_left(item_code, item_name, category_name, uom)
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
          ||| % sels),
          g.tableTarget('B', |||-
            (
              kartustok_stock_minimum_quantity{%(sel)s}
            >
              kartustok_stock_on_hand{%(sel)s}
            )
            * on(job, instance, company, item_id) group_left(item_code, item_name, category_name, uom)
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
          ||| % sels),
          g.tableTarget('C', |||-
            (
              kartustok_stock_minimum_quantity{%(sel)s}
            -
              kartustok_stock_on_hand{%(sel)s}
            > 0
            )
            * on(job, instance, company, item_id) group_left(item_code, item_name, category_name, uom)
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
          ||| % sels),
        ],
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
                job: true,
                instance: true,
                locator_id: true,
                item_id: true,
                locator_code: true,
              },
              indexByName: {
                company: 0,
                locator_name: 1,
                item_code: 2,
                item_name: 3,
                category_name: 4,
                'Value #A': 5,
                'Value #B': 6,
                'Value #C': 7,
                uom: 8,
              },
              renameByName: {
                company: 'Company',
                locator_name: 'Warehouse',
                item_code: 'Item code',
                item_name: 'Item',
                category_name: 'Category',
                'Value #A': 'On hand',
                'Value #B': 'Minimum',
                'Value #C': 'Shortfall',
                uom: 'Unit',
              },
            },
          },
        ],
        gridPos: { h: 10, w: 24, x: 0, y: 5 },
        id: 6,
      },
      {
        type: 'bargauge',
        title: 'Out of stock per warehouse',
        description: 'Per chosen active warehouse, the active items with a minimum set whose on-hand quantity is zero or negative. Warehouses with none show 0.',
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            min: 0,
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
            },
            decimals: 0,
          },
          overrides: [],
        },
        options: {
          displayMode: 'basic',
          orientation: 'horizontal',
          showUnfilled: true,
          valueMode: 'color',
          namePlacement: 'left',
          sizing: 'auto',
          minVizHeight: 16,
          minVizWidth: 8,
          maxVizHeight: 300,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', |||-
            sum by (instance, company, locator_code, locator_name) (
            (
              (kartustok_stock_on_hand{%(sel)s} <= bool 0)
            and on(job, instance, company, locator_id, item_id)
              (kartustok_stock_minimum_quantity{%(sel)s} > 0)
            )
            * on(job, instance, company, item_id) group_left()
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
            )
            or
            sum by (instance, company, locator_code, locator_name) (0 * kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"})
          ||| % sels, '{{company}}: {{locator_name}} ({{locator_code}})'),
        ],
        gridPos: { h: 8, w: 12, x: 0, y: 15 },
        id: 7,
      },
      {
        type: 'bargauge',
        title: 'Below minimum per warehouse',
        description: "Per chosen active warehouse, the active items whose on-hand quantity is below that warehouse's minimum. Warehouses with none show 0.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            min: 0,
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }],
            },
            decimals: 0,
          },
          overrides: [],
        },
        options: {
          displayMode: 'basic',
          orientation: 'horizontal',
          showUnfilled: true,
          valueMode: 'color',
          namePlacement: 'left',
          sizing: 'auto',
          minVizHeight: 16,
          minVizWidth: 8,
          maxVizHeight: 300,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', |||-
            sum by (instance, company, locator_code, locator_name) (
            (
              kartustok_stock_on_hand{%(sel)s}
            < bool
              kartustok_stock_minimum_quantity{%(sel)s}
            )
            * on(job, instance, company, item_id) group_left()
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
            )
            or
            sum by (instance, company, locator_code, locator_name) (0 * kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"})
          ||| % sels, '{{company}}: {{locator_name}} ({{locator_code}})'),
        ],
        gridPos: { h: 8, w: 12, x: 12, y: 15 },
        id: 8,
      },
      {
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y: 23 },
        id: 9,
        panels: [],
        title: 'Over time',
        type: 'row',
      },
      {
        type: 'timeseries',
        title: 'Items below minimum over time',
        description: "Per chosen active warehouse, how many active items were below that warehouse's minimum; the dashed series counts, per company, active items whose total across all active warehouses was below the item's company-wide minimum.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
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
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'B' },
              properties: [
                { id: 'custom.lineStyle', value: { dash: [10, 10], fill: 'dash' } },
                { id: 'custom.fillOpacity', value: 0 },
              ],
            },
          ],
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
            sum by (instance, company, locator_code, locator_name) (
            (
              kartustok_stock_on_hand{%(sel)s}
            < bool
              kartustok_stock_minimum_quantity{%(sel)s}
            )
            * on(job, instance, company, item_id) group_left()
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
            )
          ||| % sels, '{{company}}: {{locator_name}} ({{locator_code}})'),
          g.rangeTarget('B', |||-
            sum by (instance, company) (
            (
              (
              sum by (job, instance, company, item_id) (
                kartustok_stock_on_hand{%(sel)s}
                * on(job, instance, company, locator_id) group_left() kartustok_locator_info{%(sel)s,active="true"}
              )
              or on(job, instance, company, item_id)
              (
                0 * kartustok_item_minimum_quantity{%(sel)s}
                and on(job, instance, company) (time() - kartustok_sync_last_success_timestamp_seconds{%(sel)s,resource="stock"} < %(stockMaxStalenessSeconds)s)
              )
            )
            < bool on(job, instance, company, item_id)
              kartustok_item_minimum_quantity{%(sel)s}
            )
            * on(job, instance, company, item_id) group_left()
              kartustok_item_info{%(sel)s,category_name=~"$category",active="true"}
            )
          ||| % sels, '{{company}}: all warehouses (company-wide minimum)'),
        ],
        gridPos: { h: 8, w: 24, x: 0, y: 24 },
        id: 10,
      },
      {
        type: 'timeseries',
        title: 'Stock on hand',
        description: "On-hand quantity of the chosen items in each chosen warehouse (solid), with the warehouse's minimum where one is set (dashed). Quantities are in the item's unit.",
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
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'B' },
              properties: [
                { id: 'custom.lineStyle', value: { dash: [10, 10], fill: 'dash' } },
                { id: 'custom.fillOpacity', value: 0 },
              ],
            },
          ],
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
            kartustok_stock_on_hand{%(sel)s}
            * on(job, instance, company, item_id) group_left(item_name)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item"}
            * on(job, instance, company, locator_id) group_left(locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse"}
          ||| % sels, '{{company}}: {{item_name}} @ {{locator_name}}'),
          g.rangeTarget('B', |||-
            kartustok_stock_minimum_quantity{%(sel)s}
            * on(job, instance, company, item_id) group_left(item_name)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item"}
            * on(job, instance, company, locator_id) group_left(locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse"}
          ||| % sels, '{{company}}: {{item_name}} @ {{locator_name}} minimum'),
        ],
        gridPos: { h: 10, w: 12, x: 0, y: 32 },
        id: 11,
      },
      {
        type: 'timeseries',
        title: 'Total on hand against company-wide minimum',
        description: "For the chosen items, the on-hand quantity summed over the active warehouses (solid) against the item master's Minimum Quantity (dashed), the comparison KartuStok's Union minimum stock mode makes. Not filtered by warehouse.",
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
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'B' },
              properties: [
                { id: 'custom.lineStyle', value: { dash: [10, 10], fill: 'dash' } },
                { id: 'custom.fillOpacity', value: 0 },
              ],
            },
          ],
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
            (
              sum by (job, instance, company, item_id) (
                kartustok_stock_on_hand{%(sel)s}
                * on(job, instance, company, locator_id) group_left() kartustok_locator_info{%(sel)s,active="true"}
              )
              or on(job, instance, company, item_id)
              (
                0 * kartustok_item_minimum_quantity{%(sel)s}
                and on(job, instance, company) (time() - kartustok_sync_last_success_timestamp_seconds{%(sel)s,resource="stock"} < %(stockMaxStalenessSeconds)s)
              )
            )
            * on(job, instance, company, item_id) group_left(item_name)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item"}
          ||| % sels, '{{company}}: {{item_name}} total'),
          g.rangeTarget('B', |||-
            kartustok_item_minimum_quantity{%(sel)s}
            * on(job, instance, company, item_id) group_left(item_name)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item"}
          ||| % sels, '{{company}}: {{item_name}} minimum'),
        ],
        gridPos: { h: 10, w: 12, x: 12, y: 32 },
        id: 12,
      },
      {
        collapsed: false,
        gridPos: { h: 1, w: 24, x: 0, y: 42 },
        id: 13,
        panels: [],
        title: 'Flow',
        type: 'row',
      },
      {
        type: 'table',
        title: 'Fewest days of cover',
        description: "The 25 active items in the chosen active warehouses whose stock lasts the fewest days at the pace it went out over the last 30 days (the company's today and the 29 days before): on hand ÷ (30-day outflow ÷ 30). Items that did not go out are left out. Lead time is the item's from the minimums file (lead_time_days), 7 days by default; KartuStokStockoutPredicted fires when days of cover fall below it. Quantities are in the item's unit.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: { align: 'auto', filterable: true, cellOptions: { type: 'auto' } },
            color: { mode: 'thresholds' },
            thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
            decimals: 1,
          },
          overrides: [],
        },
        options: {
          cellHeight: 'sm',
          footer: { show: false, reducer: ['sum'], countRows: false, fields: '' },
          showHeader: true,
          sortBy: [{ desc: false, displayName: 'Days of cover' }],
        },
        targets: [
          g.tableTarget('A', |||-
            bottomk(25,
            (
            30 * clamp_min(kartustok_stock_on_hand{%(sel)s}, 0)
            / on(job, instance, company, locator_id, item_id)
              (kartustok_stock_outflow_quantity{%(sel)s,period="30d"} > 0)
            )
            * on(job, instance, company, item_id) group_left(item_code, item_name, uom)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
            )
          ||| % sels),
          g.tableTarget('B', |||-
            (
              kartustok_stock_outflow_quantity{%(sel)s,period="30d"} / 30
            )
            and on(job, instance, company, locator_id, item_id)
            (
            bottomk(25,
            (
            30 * clamp_min(kartustok_stock_on_hand{%(sel)s}, 0)
            / on(job, instance, company, locator_id, item_id)
              (kartustok_stock_outflow_quantity{%(sel)s,period="30d"} > 0)
            )
            * on(job, instance, company, item_id) group_left(item_code, item_name, uom)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
            )
            )
          ||| % sels),
          g.tableTarget('C', |||-
            (
              kartustok_stock_on_hand{%(sel)s}
              * 0
              + on(job, instance, company, item_id) group_left()
                (kartustok_item_lead_time_seconds{%(sel)s} / 86400)
            )
            and on(job, instance, company, locator_id, item_id)
            (
            bottomk(25,
            (
            30 * clamp_min(kartustok_stock_on_hand{%(sel)s}, 0)
            / on(job, instance, company, locator_id, item_id)
              (kartustok_stock_outflow_quantity{%(sel)s,period="30d"} > 0)
            )
            * on(job, instance, company, item_id) group_left(item_code, item_name, uom)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
            )
            )
          ||| % sels),
        ],
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
                job: true,
                instance: true,
                locator_id: true,
                item_id: true,
                locator_code: true,
              },
              indexByName: {
                company: 0,
                locator_name: 1,
                item_code: 2,
                item_name: 3,
                'Value #A': 4,
                'Value #B': 5,
                uom: 6,
                'Value #C': 7,
              },
              renameByName: {
                company: 'Company',
                locator_name: 'Warehouse',
                item_code: 'Code',
                item_name: 'Item',
                uom: 'Unit',
                'Value #A': 'Days of cover',
                'Value #B': 'Out per day (30 days)',
                'Value #C': 'Lead time (days)',
              },
            },
          },
        ],
        gridPos: { h: 10, w: 24, x: 0, y: 43 },
        id: 14,
      },
      {
        type: 'timeseries',
        title: 'In and out today',
        description: "What came into (solid) and went out of (dashed) each chosen warehouse today, per chosen item, in the item's unit; never summed across items, whose units differ. The company's day: the figures start again after its midnight, once each warehouse is read again.",
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
              stacking: { group: 'A', mode: 'none' },
            },
            color: { mode: 'palette-classic' },
          },
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'B' },
              properties: [
                { id: 'custom.lineStyle', value: { dash: [10, 10], fill: 'dash' } },
                { id: 'custom.fillOpacity', value: 0 },
              ],
            },
          ],
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
            kartustok_stock_inflow_quantity{%(sel)s,period="today"}
            * on(job, instance, company, item_id) group_left(item_name)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
          ||| % sels, '{{company}}: {{item_name}} @ {{locator_name}} in'),
          g.rangeTarget('B', |||-
            kartustok_stock_outflow_quantity{%(sel)s,period="today"}
            * on(job, instance, company, item_id) group_left(item_name)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
          ||| % sels, '{{company}}: {{item_name}} @ {{locator_name}} out'),
        ],
        gridPos: { h: 10, w: 12, x: 0, y: 53 },
        id: 15,
      },
      {
        type: 'table',
        title: 'In and out over 30 days',
        description: "What came into and went out of each chosen active warehouse over the company's today and the 29 days before, per chosen active item, most out first; refreshed every --sync.flow-interval. Quantities are in the item's unit, never summed across items.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
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
          sortBy: [{ desc: true, displayName: 'Out' }],
        },
        targets: [
          g.tableTarget('A', |||-
            kartustok_stock_inflow_quantity{%(sel)s,period="30d"}
            * on(job, instance, company, item_id) group_left(item_code, item_name, uom)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
          ||| % sels),
          g.tableTarget('B', |||-
            kartustok_stock_outflow_quantity{%(sel)s,period="30d"}
            * on(job, instance, company, item_id) group_left(item_code, item_name, uom)
              kartustok_item_info{%(sel)s,category_name=~"$category",item_name=~"$item",active="true"}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
          ||| % sels),
        ],
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
                job: true,
                instance: true,
                locator_id: true,
                item_id: true,
                locator_code: true,
                period: true,
              },
              indexByName: {
                company: 0,
                locator_name: 1,
                item_code: 2,
                item_name: 3,
                'Value #A': 4,
                'Value #B': 5,
                uom: 6,
              },
              renameByName: {
                company: 'Company',
                locator_name: 'Warehouse',
                item_code: 'Code',
                item_name: 'Item',
                uom: 'Unit',
                'Value #A': 'In',
                'Value #B': 'Out',
              },
            },
          },
        ],
        gridPos: { h: 10, w: 12, x: 12, y: 53 },
        id: 16,
      },
      {
        type: 'bargauge',
        title: 'Movements today by type',
        description: "Stock card rows of each chosen active warehouse on the company's day so far, by transaction type (receipt, issue, move, adjustment), refreshed every --sync.flow-interval; none until the first count after the company's midnight.",
        datasource: ds,
        fieldConfig: {
          defaults: {
            unit: 'short',
            min: 0,
            color: { mode: 'thresholds' },
            thresholds: { mode: 'absolute', steps: [{ color: 'blue', value: null }] },
            decimals: 0,
          },
          overrides: [],
        },
        options: {
          displayMode: 'basic',
          orientation: 'horizontal',
          showUnfilled: true,
          valueMode: 'color',
          namePlacement: 'left',
          sizing: 'auto',
          minVizHeight: 16,
          minVizWidth: 8,
          maxVizHeight: 300,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
        targets: [
          g.instantTarget('A', |||-
            kartustok_stock_movements{%(sel)s}
            * on(job, instance, company, locator_id) group_left(locator_code, locator_name)
              kartustok_locator_info{%(sel)s,locator_name=~"$warehouse",active="true"}
          ||| % sels, '{{company}}: {{locator_name}} ({{locator_code}}) {{transaction_type}}'),
        ],
        gridPos: { h: 8, w: 24, x: 0, y: 63 },
        id: 17,
      },
    ],
  )
