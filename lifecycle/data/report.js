/* The charts of `lifecycle report html`. Data comes from the JSON in #report-data; every
   string drawn goes through ECharts as SVG text, and every tooltip through esc(). */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var stages = data.stages;
  var byKey = {};
  stages.forEach(function (s) { byKey[s.key] = s; });
  var DIRECTIONS = [
    ['entry', 'entered', '#1565c0'], ['forward', 'forward', '#2e7d32'],
    ['backward', 'backward', '#c62828'], ['lateral', 'lateral', '#f9a825'],
    ['exit', 'to an exit', '#757575'], ['reentry', 'back from an exit', '#6a1b9a']];
  var directionColor = {};
  DIRECTIONS.forEach(function (d) { directionColor[d[0]] = d[2]; });
  var charts = [];

  function esc(text) {
    return String(text === null || text === undefined ? '' : text)
      .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  }
  function label(key) { return byKey[key] ? byKey[key].label : String(key); }
  function num(n) { return Number(n).toLocaleString('en-US'); }
  function pct(x) { return x === null || x === undefined ? '–' : (x * 100).toFixed(1) + '%'; }
  function dot(color) {
    return '<span style="display:inline-block;width:9px;height:9px;border-radius:50%;' +
      'margin-right:5px;background:' + esc(color) + '"></span>';
  }
  function emptyNote(text) {
    return { type: 'text', left: 'center', top: 'middle',
             style: { text: text, fill: '#9aa5b1', fontSize: 14 } };
  }
  function draw(id, option) {
    var el = document.getElementById(id);
    var chart = echarts.init(el, null, { renderer: 'svg' });
    option.animation = false;
    chart.setOption(option);
    charts.push(chart);
  }

  function timelineChart() {
    var periods = data.timeline.map(function (r) { return r.period; });
    var series = stages.map(function (s) {
      return {
        name: s.label, type: 'line', stack: 'stages', areaStyle: { opacity: 0.9 },
        symbol: 'none', lineStyle: { width: 0.6 }, color: s.color,
        emphasis: { focus: 'series' },
        data: data.timeline.map(function (r) { return r.counts[s.key] || 0; })
      };
    });
    draw('chart-timeline', {
      grid: { left: 56, right: 16, top: 80, bottom: 28 },
      legend: { type: 'plain', top: 0, left: 0, right: 0, itemWidth: 14, itemHeight: 9,
                itemGap: 12, textStyle: { fontSize: 11.5 } },
      tooltip: {
        trigger: 'axis', axisPointer: { type: 'line' },
        formatter: function (items) {
          var total = 0;
          var lines = items.slice().reverse().filter(function (p) { return p.value; })
            .map(function (p) {
              total += p.value;
              return dot(p.color) + esc(p.seriesName) + ': <b>' + num(p.value) + '</b>';
            });
          return '<b>' + esc(items.length ? items[0].axisValue : '') + '</b> (total ' +
            num(total) + ')<br>' + lines.join('<br>');
        }
      },
      xAxis: { type: 'category', boundaryGap: false, data: periods },
      yAxis: { type: 'value', name: data.meta.level + 's', nameGap: 16 },
      series: series,
      graphic: periods.length ? [] : [emptyNote('Nothing happened in this window')]
    });
  }

  function funnelChart() {
    var rows = data.funnel.rows;
    draw('chart-funnel', {
      grid: { left: 150, right: 150, top: 8, bottom: 24 },
      tooltip: {
        formatter: function (p) {
          var r = rows[p.dataIndex];
          return '<b>' + esc(label(r.stage)) + '</b><br>reached: ' + num(r.reached) +
            ' (' + pct(r.share_of_cohort) + ' of the cohort)<br>of the step before: ' +
            pct(r.share_of_previous) + '<br>by an inferred stamp: ' + num(r.inferred) +
            '<br>median days from entry: ' + (r.median_days === null ? '–' : r.median_days);
        }
      },
      xAxis: { type: 'value', show: false, max: Math.max(1, data.funnel.cohort) },
      yAxis: {
        type: 'category', inverse: true, axisTick: { show: false },
        data: rows.map(function (r) { return label(r.stage); }),
        axisLabel: { width: 140, overflow: 'truncate' }
      },
      series: [{
        type: 'bar', barMaxWidth: 26,
        data: rows.map(function (r) {
          return { value: r.reached, itemStyle: { color: byKey[r.stage].color, borderRadius: 3 } };
        }),
        label: {
          show: true, position: 'right', fontSize: 11.5, color: '#1f2933',
          formatter: function (p) {
            var r = rows[p.dataIndex];
            return num(r.reached) + ' · ' + pct(r.share_of_cohort) +
              (r.share_of_previous === null ? '' : ' (step ' + pct(r.share_of_previous) + ')');
          }
        }
      }],
      graphic: data.funnel.cohort ? [] : [emptyNote('Nobody entered the funnel in this window')]
    });
  }

  function slaChart() {
    var summary = data.sla.summary;
    var parts = [['in_sla', 'within SLA', '#66bb6a'], ['open', 'open, within', '#64b5f6'],
                 ['breaching_now', 'open, over', '#ffa726'], ['breached', 'over SLA', '#e53935']];
    var names = summary.map(function (s) {
      return s.sla + '\n' + label(s.stage) + ' · ' + s.within;
    });
    draw('chart-sla', {
      grid: { left: 16, right: 24, top: 36, bottom: 24, containLabel: true },
      legend: { top: 0, itemWidth: 14, itemHeight: 9, textStyle: { fontSize: 11.5 } },
      tooltip: {
        trigger: 'axis', axisPointer: { type: 'shadow' },
        formatter: function (items) {
          var s = summary[items[0].dataIndex];
          return '<b>' + esc(s.sla) + '</b> (' + esc(label(s.stage)) + ', within ' +
            esc(s.within) + ')<br>' + items.map(function (p) {
            return dot(p.color) + esc(p.seriesName) + ': <b>' + num(p.value) + '</b>';
          }).join('<br>') + '<br>breach rate: ' + pct(s.breach_rate);
        }
      },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: names, axisTick: { show: false },
               axisLabel: { width: 200, overflow: 'truncate', lineHeight: 16 } },
      series: parts.map(function (part) {
        return {
          name: part[1], type: 'bar', stack: 'sla', color: part[2], barMaxWidth: 40,
          label: { show: true, color: '#fff', fontSize: 11,
                   formatter: function (p) { return p.value ? num(p.value) : ''; } },
          data: summary.map(function (s) { return s[part[0]]; })
        };
      }),
      graphic: summary.length ? [] : [emptyNote('The definitions set no SLA')]
    });
  }

  function flowChart() {
    var flows = data.flow.filter(function (f) { return f.moves > 0; });
    var used = { from: {}, to: {} };
    flows.forEach(function (f) { used.from[f.from_stage || ''] = 1; used.to[f.to_stage] = 1; });
    var nodes = [];
    if (used.from['']) {
      nodes.push({ name: 'from:', depth: 0, itemStyle: { color: '#1565c0' },
                   label: { position: 'right' } });
    }
    stages.forEach(function (s) {
      if (used.from[s.key]) {
        nodes.push({ name: 'from:' + s.key, depth: 0, itemStyle: { color: s.color },
                     label: { position: 'right' } });
      }
    });
    stages.forEach(function (s) {
      if (used.to[s.key]) {
        nodes.push({ name: 'to:' + s.key, depth: 1, itemStyle: { color: s.color },
                     label: { position: 'left' } });
      }
    });
    var links = flows.map(function (f) {
      return { source: 'from:' + (f.from_stage || ''), target: 'to:' + f.to_stage,
               value: f.moves, direction: f.direction,
               lineStyle: { color: directionColor[f.direction] || '#999', opacity: 0.42 } };
    });
    function nodeLabel(name) {
      var key = name.slice(name.indexOf(':') + 1);
      return key ? label(key) : '(no stage yet)';
    }
    draw('chart-flow', {
      tooltip: {
        formatter: function (p) {
          if (p.dataType === 'edge') {
            return esc(nodeLabel(p.data.source)) + ' → ' + esc(nodeLabel(p.data.target)) +
              '<br>' + esc(p.data.direction) + ': <b>' + num(p.data.value) + '</b> moves';
          }
          return '<b>' + esc(nodeLabel(p.name)) + '</b>: ' + num(p.value) + ' moves';
        }
      },
      series: [{
        type: 'sankey', left: 8, right: 8, top: 8, bottom: 8, nodeGap: 9, nodeWidth: 14,
        layoutIterations: 0, draggable: false, emphasis: { focus: 'adjacency' },
        label: { fontSize: 12, color: '#1f2933',
                 formatter: function (p) { return nodeLabel(p.name) + '  ' + num(p.value); } },
        data: nodes, links: links
      }],
      graphic: links.length ? [] : [emptyNote('No stage changes in this window')]
    });
    var legend = document.getElementById('flow-legend');
    DIRECTIONS.forEach(function (d) {
      var span = document.createElement('span');
      span.style.setProperty('--c', d[2]);
      span.textContent = d[1];
      legend.appendChild(span);
    });
  }

  timelineChart();
  funnelChart();
  slaChart();
  flowChart();
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.resize(); });
  });
  document.body.setAttribute('data-charts-drawn', String(charts.length));
})();
