// Helpers of the kartustok_exporter mixin.
{
  // A Prometheus duration of one unit in words: '5m' is '5 minutes', '1h'
  // '1 hour'. Anything else ('1h30m', '') comes back as it is.
  humanDuration(d)::
    local units = { ms: 'millisecond', s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', y: 'year' };
    local unit =
      if std.endsWith(d, 'ms') then 'ms'
      else if std.length(d) > 1 then d[std.length(d) - 1]
      else '';
    local digits = std.substr(d, 0, std.length(d) - std.length(unit));
    local isNumber = std.length(digits) > 0
                     && std.all([std.member('0123456789', c) for c in std.stringChars(digits)]);
    if std.objectHas(units, unit) && isNumber then
      local n = std.parseInt(digits);
      '%d %s%s' % [n, units[unit], if n == 1 then '' else 's']
    else d,

  // A number as PromQL or a text writes it: 0.1, where Jsonnet's own
  // conversion writes 0.10000000000000001, and 1800 for 1800.
  num(n):: std.format('%.15g', n),

  // The object o with its numbers as num writes them, to format a query
  // with: 'x > %(threshold)s' % utils.withNumbers(config).
  withNumbers(o):: o + { [k]: $.num(o[k]) for k in std.objectFields(o) if std.isNumber(o[k]) },

  // A count in words up to ten, in digits above.
  countWords(n)::
    local words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
    if std.isNumber(n) && n == std.floor(n) && n >= 0 && n <= 10 then words[n] else std.toString(n),

  // The text of a folded YAML scalar: the lines of s joined by spaces, so
  // that a description can be written over several lines here.
  oneLine(s):: std.join(' ', [l for l in std.split(std.rstripChars(s, '\n'), '\n')]),
}
