// The parts the kartustok_exporter dashboards share: plain Grafana JSON
// (schemaVersion 39), without a library.
{
  // The dashboard's own data source variable: one import works against any
  // Prometheus.
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // The series selectors of the queries, to format them with: a query
  // writes kartustok_up{%(sel)s} or kartustok_locator_info{%(sel)s,active="true"}.
  // Each carries _config.kartustokSelector, then the variables that narrow
  // the choice: base none, jobSel $job, instanceSel $job and $instance, sel
  // those and $company, for the metrics per company.
  selectors(cfg):: {
    base: cfg.kartustokSelector,
    jobSel: self.base + ',job=~"$job"',
    instanceSel: self.jobSel + ',instance=~"$instance"',
    sel: self.instanceSel + ',company=~"$company"',
  },

  // A query Grafana runs at the end of the range only: stat, bar gauge.
  instantTarget(refId, expr, legendFormat=null):: {
    datasource: $.datasource,
    editorMode: 'code',
    expr: expr,
    refId: refId,
    instant: true,
    range: false,
  } + (if legendFormat != null then { legendFormat: legendFormat } else {}),

  // A query over the dashboard's time range: time series, state timeline.
  rangeTarget(refId, expr, legendFormat=null):: $.instantTarget(refId, expr, legendFormat) {
    instant: false,
    range: true,
  },

  // An instant query whose series become the rows of a table.
  tableTarget(refId, expr):: $.instantTarget(refId, expr) { format: 'table' },

  // The data source variable, first of every dashboard.
  datasourceVariable:: {
    hide: 0,
    includeAll: false,
    label: 'Data source',
    multi: false,
    name: 'datasource',
    options: [],
    query: 'prometheus',
    refresh: 1,
    regex: '',
    skipUrlSync: false,
    type: 'datasource',
  },

  // A variable whose values are those of a label: query is
  // label_values(selector, label). Multi-value; with includeAll, "All"
  // stands for every value (.*).
  queryVariable(name, label, query, description=null, includeAll=true):: {
                                                                                                                                                  datasource: $.datasource,
                                                                           definition: query,
                                                                           hide: 0,
                                                                           includeAll: includeAll,
                                                                           label: label,
                                                                           multi: true,
                                                                           name: name,
                                                                           options: [],
                                                                           query: query,
                                                                           refresh: 2,
                                                                           regex: '',
                                                                           skipUrlSync: false,
                                                                           sort: 1,
                                                                           type: 'query',
                                                                         } + (if description != null then { description: description } else {})
                                                                         + (if includeAll then { allValue: '.*' } else {}),

  // The variables every dashboard starts with, each narrowed by the ones
  // before it: the data source, the job, the exporters (instance) and the
  // companies they serve.
  commonVariables(cfg)::
    local s = $.selectors(cfg);
    [
      $.datasourceVariable,
      $.queryVariable('job', 'Job', 'label_values(kartustok_up{%(base)s}, job)' % s),
      $.queryVariable('instance', 'Instance', 'label_values(kartustok_up{%(jobSel)s}, instance)' % s),
      $.queryVariable(
        'company',
        'Company',
        'label_values(kartustok_up{%(instanceSel)s}, company)' % s,
        description='KartuStok companies the chosen exporters serve, by their company label.',
      ),
    ],

  // A dashboard of the mixin: its uid, title and description, tags beyond
  // _config.dashboardTags, the start of its default time range, its
  // variables and its panels. Every dashboard links to the others by the
  // common tags.
  dashboard(cfg, uid, title, description, from, variables, panels, tags=[]):: {
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    description: description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [
      {
        asDropdown: false,
        icon: 'external link',
        includeVars: false,
        keepTime: true,
        tags: cfg.dashboardTags,
        targetBlank: false,
        title: 'KartuStok dashboards',
        tooltip: '',
        type: 'dashboards',
        url: '',
      },
    ],
    panels: panels,
    refresh: cfg.dashboardRefresh,
    schemaVersion: 39,
    tags: cfg.dashboardTags + tags,
    templating: { list: variables },
    time: { from: from, to: cfg.dashboardTo },
    timepicker: {},
    timezone: cfg.dashboardTimezone,
    title: title,
    uid: uid,
    version: 1,
    weekStart: '',
  },
}
